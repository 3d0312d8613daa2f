package toolcmd_test

import (
	"testing"

	"github.com/hadron-linux/hadron/bootchain/toolcmd"
	"github.com/stretchr/testify/assert"
)

func TestShell(t *testing.T) {
	for _, tc := range []struct {
		name string
		tool toolcmd.Tool
		want string
	}{
		{"initrd gzip", toolcmd.InitrdPack{Dir: "/rootfs", Out: "/out/i.cpio.gz", Gzip: true},
			"/t/hadron initrd pack --gzip /rootfs /out/i.cpio.gz"},
		{"initrd plain", toolcmd.InitrdPack{Dir: "/rootfs", Out: "/out/i.cpio"},
			"/t/hadron initrd pack /rootfs /out/i.cpio"},
		{"uki, empty flags left out, quoting", toolcmd.UKIBuild{Output: "/o.efi", Kernel: "/k", Initrds: []string{"/a", "/b"}, Cmdline: "quiet it's"},
			`/t/hadron uki build --output /o.efi --kernel /k --initrd /a --initrd /b --cmdline 'quiet it'\''s'`},
		{"sign", toolcmd.Sign{Key: "/run/secrets/db.key", Cert: "/c", In: "/in", Out: "/out x"},
			"/t/hadron sign --key /run/secrets/db.key --cert /c /in '/out x'"},
		{"elf-check", toolcmd.ELFCheck{Arch: "arm64", Package: "xz", Dir: "/closure"},
			"/t/hadron elf-check --arch arm64 --package xz /closure"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, tc.tool.Invocation().Shell("/t/hadron"))
		})
	}
}

func TestQuote(t *testing.T) {
	for in, want := range map[string]string{
		"":           "''",
		"plain-1.0":  "plain-1.0",
		"a b":        "'a b'",
		"$HOME":      "'$HOME'",
		"it's":       `'it'\''s'`,
		"k=v,x:y@z%": "k=v,x:y@z%",
	} {
		assert.Equal(t, want, toolcmd.Quote(in), in)
	}
}
