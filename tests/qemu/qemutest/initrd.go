package qemutest

import (
	"bytes"
	"io/fs"
	"os"
	"testing"

	"github.com/hadron-linux/hadron/bootchain/initrd"
)

// Busybox is Debian's busybox-static binary.
const Busybox = "/bin/busybox"

// BusyboxInitrd returns a gzip-compressed initramfs holding a static
// busybox (with sh, mount, cat, insmod, poweroff... as symlinks),
// /dev/console and /init = initScript (a busybox sh script), plus extra
// entries (kernel modules, data files). The script should end in
// `poweroff -f` so QEMU exits.
func BusyboxInitrd(t testing.TB, initScript string, extra ...initrd.Entry) []byte {
	t.Helper()
	bb, err := os.ReadFile(Busybox)
	if err != nil {
		t.Fatalf("busybox-static: %v (apt-get install busybox-static)", err)
	}
	entries := []initrd.Entry{
		{Path: "bin/busybox", Mode: 0o755, Data: bb},
		{Path: "dev/console", Mode: fs.ModeDevice | fs.ModeCharDevice | 0o600, DevMajor: 5, DevMinor: 1},
		{Path: "dev/null", Mode: fs.ModeDevice | fs.ModeCharDevice | 0o666, DevMajor: 1, DevMinor: 3},
		{Path: "proc", Mode: fs.ModeDir | 0o755},
		{Path: "sys", Mode: fs.ModeDir | 0o755},
		{Path: "tmp", Mode: fs.ModeDir | 0o1777},
		{Path: "init", Mode: 0o755, Data: []byte(initScript)},
	}
	for _, applet := range []string{"sh", "mount", "cat", "echo", "insmod", "poweroff", "ls", "sleep", "sha256sum", "hexdump", "dmesg"} {
		entries = append(entries, initrd.Entry{Path: "bin/" + applet, Mode: fs.ModeSymlink | 0o777, LinkTarget: "busybox"})
	}
	entries = append(entries, extra...)
	var buf bytes.Buffer
	if err := initrd.WriteGzip(&buf, entries, 0); err != nil {
		t.Fatalf("build initrd: %v", err)
	}
	return buf.Bytes()
}

// MarkerScript returns an /init script that mounts /proc, /sys and /dev,
// runs body, prints marker and powers off.
func MarkerScript(body, marker string) string {
	return "#!/bin/sh\n" +
		"mount -t proc proc /proc\nmount -t sysfs sysfs /sys\nmount -t devtmpfs dev /dev 2>/dev/null\n" +
		body + "\necho " + marker + "\npoweroff -f\n"
}
