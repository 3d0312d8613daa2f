// Package golden compares test output with files under testdata/ and
// rewrites them when the test binary runs with -update. Review the diff of
// a rewritten file like any other change.
package golden

import (
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
)

var update = flag.Bool("update", false, "rewrite golden files under testdata/")

// Updating reports whether the test binary was started with -update.
func Updating() bool { return *update }

// Assert compares got with testdata/name, or first rewrites that file with
// got when -update is set. A missing file fails with the command that
// creates it.
func Assert(t testing.TB, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatalf("golden: %v", err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatalf("golden: %v", err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("golden: %v (run the test with -update to create it)", err)
	}
	assert.Equal(t, string(want), string(got), "golden %s differs; rerun with -update and review the diff", path)
}
