package textcheck_test

import (
	"regexp"
	"strings"
	"testing"

	"github.com/hadron-linux/hadron/internal/textcheck"
	"github.com/stretchr/testify/assert"
)

// The checks replace these regular expressions; every case must agree.
var inputs = []string{
	"", "a", "A", "0", "_", "-", "musl", "Musl", "gcc-14", "c++", "lib.so", "x_y", "1.2.3", "1.2.3~rc1",
	"v1+git", "-a", ".a", "a b", "a/b", "owner/name", "a//b", "/a", "a/", "ä", "LicenseRef-x", "MIT",
	"GPL-2.0+", "LicenseRef-", "LicenseRef-a.b", "PATH", "_X1", "1X", "a$", "a\x00",
	strings.Repeat("a", 40), strings.Repeat("f", 64), strings.Repeat("0", 128), strings.Repeat("A", 64),
	strings.Repeat("g", 40), strings.Repeat("a", 39), strings.Repeat("a", 65),
}

func agree(t *testing.T, re string, check func(string) bool) {
	t.Helper()
	r := regexp.MustCompile(re)
	for _, s := range inputs {
		assert.Equal(t, r.MatchString(s), check(s), "%s on %q", re, s)
	}
}

func TestChecksMatchTheirRegexps(t *testing.T) {
	agree(t, `^[0-9a-f]{40}$`, func(s string) bool { return textcheck.LowerHex(s, 40) })
	agree(t, `^[0-9a-f]{64}$`, func(s string) bool { return textcheck.LowerHex(s, 64) })
	agree(t, `^[0-9a-f]{128}$`, func(s string) bool { return textcheck.LowerHex(s, 128) })
	agree(t, `^[a-z0-9][a-z0-9+._-]*$`, func(s string) bool { return textcheck.Word(s, true, "+._-") })
	agree(t, `^[A-Za-z0-9][A-Za-z0-9._+~-]*$`, func(s string) bool { return textcheck.Word(s, false, "._+~-") })
	agree(t, `^[A-Za-z0-9][A-Za-z0-9.+-]*$`, func(s string) bool { return textcheck.Word(s, false, ".+-") })
	agree(t, `^[A-Za-z_][A-Za-z0-9_]*$`, textcheck.Identifier)
	agree(t, `^[A-Za-z0-9_.-]+$`, func(s string) bool { return textcheck.Charset(s, "_.-") })
}

func BenchmarkLowerHex(b *testing.B) {
	s := strings.Repeat("0123456789abcdef", 8)
	for b.Loop() {
		textcheck.LowerHex(s, 128)
	}
}
