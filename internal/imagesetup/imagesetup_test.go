package imagesetup

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func write(t *testing.T, root, p, content string, mode os.FileMode) {
	t.Helper()
	full := filepath.Join(root, p)
	require.NoError(t, os.MkdirAll(filepath.Dir(full), 0o755))
	require.NoError(t, os.WriteFile(full, []byte(content), mode))
}

// TestConfigFiles: systemd's order and precedence: by name, /etc over
// /usr/lib for the same name, a /dev/null link masks, only *.conf.
func TestConfigFiles(t *testing.T) {
	root := t.TempDir()
	write(t, root, "usr/lib/sysusers.d/systemd.conf", "g systemd-journal -\n", 0o644)
	write(t, root, "usr/lib/sysusers.d/dbus.conf", "u messagebus - -\n", 0o644)
	write(t, root, "usr/lib/sysusers.d/masked.conf", "u masked - -\n", 0o644)
	write(t, root, "usr/lib/sysusers.d/README", "not a config file\n", 0o644)
	write(t, root, "etc/sysusers.d/dbus.conf", "u messagebus 81 -\n", 0o644)
	require.NoError(t, os.Symlink("/dev/null", filepath.Join(root, "etc/sysusers.d/masked.conf")))
	write(t, root, "usr/local/lib/sysusers.d/zz-local.conf", "g local -\n", 0o644)

	got, err := ConfigFiles(root, SysusersDirs)
	require.NoError(t, err)
	assert.Equal(t, []string{
		"/etc/sysusers.d/dbus.conf",
		"/usr/lib/sysusers.d/systemd.conf",
		"/usr/local/lib/sysusers.d/zz-local.conf",
	}, got)

	none, err := ConfigFiles(t.TempDir(), SysusersDirs)
	require.NoError(t, err)
	assert.Empty(t, none, "an image without sysusers.d")
}

// fakeTool is a stand-in for a systemd tool: it appends its name, its
// arguments and SYSTEMD_OFFLINE to root/calls, and fails printing fail
// when fail is set.
func fakeTool(t *testing.T, root, tool, fail string) {
	t.Helper()
	script := "#!/bin/sh\necho \"$(basename \"$0\") $* offline=$SYSTEMD_OFFLINE\" >> " + filepath.Join(root, "calls") + "\n"
	if fail != "" {
		script += "echo '" + fail + "' >&2\nexit 1\n"
	}
	write(t, root, tool, script, 0o755)
}

// TestRunOrderAndArguments: sysusers with every sysusers.d file named,
// then tmpfiles outside the excluded trees, then the presets, the
// hardware database and the message catalog, each offline and pointed at
// the image root; then /etc and /var are stamped updated at
// SOURCE_DATE_EPOCH.
func TestRunOrderAndArguments(t *testing.T) {
	root := t.TempDir()
	write(t, root, "usr/lib/sysusers.d/b.conf", "g b -\n", 0o644)
	write(t, root, "usr/lib/sysusers.d/a.conf", "g a -\n", 0o644)
	write(t, root, "usr/lib/udev/hwdb.d/60-keyboard.hwdb", "evdev:input:*\n KEYBOARD_KEY_1=a\n", 0o644)
	write(t, root, "usr/lib/systemd/catalog/systemd.catalog", "-- 0123\nSubject: x\n", 0o644)
	for _, tool := range []string{sysusers, tmpfiles, systemctl, hwdb, journalctl} {
		fakeTool(t, root, tool, "")
	}
	t.Setenv("SOURCE_DATE_EPOCH", "1700000000")
	var out bytes.Buffer
	require.NoError(t, Run(context.Background(), root, &out))
	calls, err := os.ReadFile(filepath.Join(root, "calls"))
	require.NoError(t, err)
	assert.Equal(t, []string{
		"systemd-sysusers --root=" + root + " /usr/lib/sysusers.d/a.conf /usr/lib/sysusers.d/b.conf offline=1",
		"systemd-tmpfiles --root=" + root + " --create --exclude-prefix=/dev --exclude-prefix=/proc --exclude-prefix=/sys --exclude-prefix=/run --exclude-prefix=/tmp offline=1",
		"systemctl --root=" + root + " preset-all offline=1",
		"systemd-hwdb --root=" + root + " update --usr --strict offline=1",
		"journalctl --root=" + root + " --update-catalog offline=1",
	}, strings.Split(strings.TrimSpace(string(calls)), "\n"))
	assert.Contains(t, out.String(), "image setup: unit presets (systemctl preset-all)")
	for _, dir := range UpdatedDirs {
		p := filepath.Join(root, dir, ".updated")
		b, err := os.ReadFile(p)
		require.NoError(t, err, "%s/.updated", dir)
		assert.Equal(t, "TIMESTAMP_NSEC=1700000000000000000\n", string(b))
		fi, err := os.Stat(p)
		require.NoError(t, err)
		assert.Equal(t, int64(1700000000), fi.ModTime().Unix(), "%s/.updated at the epoch, as /usr is", dir)
	}
}

// TestRunWithoutEpoch: without SOURCE_DATE_EPOCH nothing is stamped (the
// first boot runs the update units) and the output says so; a bad
// SOURCE_DATE_EPOCH is an error.
func TestRunWithoutEpoch(t *testing.T) {
	root := t.TempDir()
	for _, tool := range []string{tmpfiles, systemctl} {
		fakeTool(t, root, tool, "")
	}
	t.Setenv("SOURCE_DATE_EPOCH", "")
	var out bytes.Buffer
	require.NoError(t, Run(context.Background(), root, &out))
	assert.Contains(t, out.String(), "SOURCE_DATE_EPOCH is not set")
	assert.NoFileExists(t, filepath.Join(root, "etc/.updated"))

	t.Setenv("SOURCE_DATE_EPOCH", "yesterday")
	err := Run(context.Background(), root, &bytes.Buffer{})
	require.Error(t, err)
	assert.Contains(t, err.Error(), `SOURCE_DATE_EPOCH "yesterday"`)
}

// TestRunRejectedHwdb: a hwdb.d source systemd-hwdb --strict rejects
// fails the setup with the tool's message.
func TestRunRejectedHwdb(t *testing.T) {
	root := t.TempDir()
	write(t, root, "etc/udev/hwdb.d/90-local.hwdb", " KEY=without match\n", 0o644)
	for _, tool := range []string{tmpfiles, systemctl} {
		fakeTool(t, root, tool, "")
	}
	fakeTool(t, root, hwdb, "/etc/udev/hwdb.d/90-local.hwdb:1: Property expected, ignoring record with no properties.")
	err := Run(context.Background(), root, &bytes.Buffer{})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "hardware database (hwdb.d): systemd-hwdb failed")
	assert.Contains(t, err.Error(), "90-local.hwdb:1")
}

// TestRunRejectedLine: a sysusers.d line the tool rejects fails the setup
// with the tool's message (file and line) and nothing after it runs.
func TestRunRejectedLine(t *testing.T) {
	root := t.TempDir()
	write(t, root, "usr/lib/sysusers.d/bad.conf", "g ok -\nX bad - -\n", 0o644)
	fakeTool(t, root, sysusers, "/usr/lib/sysusers.d/bad.conf:2: Unknown command type X.")
	fakeTool(t, root, tmpfiles, "")
	fakeTool(t, root, systemctl, "")
	err := Run(context.Background(), root, &bytes.Buffer{})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "system users and groups (sysusers.d): systemd-sysusers failed")
	assert.Contains(t, err.Error(), "/usr/lib/sysusers.d/bad.conf:2: Unknown command type X.")
	calls, _ := os.ReadFile(filepath.Join(root, "calls"))
	assert.NotContains(t, string(calls), "systemd-tmpfiles", "the setup stops at the first failure")
}

// TestRunWithoutSysusers: an image without sysusers.d files still gets
// tmpfiles and presets; a missing tool is an error naming the step.
func TestRunWithoutSysusers(t *testing.T) {
	root := t.TempDir()
	fakeTool(t, root, tmpfiles, "")
	err := Run(context.Background(), root, &bytes.Buffer{})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "unit presets (systemctl preset-all): systemctl failed")
	calls, err := os.ReadFile(filepath.Join(root, "calls"))
	require.NoError(t, err)
	assert.NotContains(t, string(calls), "systemd-sysusers")
	assert.Contains(t, string(calls), "systemd-tmpfiles")
	assert.NotContains(t, string(calls), "systemd-hwdb", "no hwdb.d sources, no hardware database")
	assert.NotContains(t, string(calls), "journalctl", "no catalog sources, no catalog")
}
