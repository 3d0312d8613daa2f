package main

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/hadron-linux/hadron/bootchain/ddi"
)

// TestSysextBuildVerifyCLI: keys generate, sysext build twice (the same
// bytes), sysext verify; a tampered image and another certificate are
// refused, and key errors name the file, not its content.
func TestSysextBuildVerifyCLI(t *testing.T) {
	dir := t.TempDir()
	keys := filepath.Join(dir, "keys")
	_, err := runTrustedCmd(t, "keys", "generate", keys)
	require.NoError(t, err)
	tree := filepath.Join(dir, "tree")
	require.NoError(t, os.MkdirAll(filepath.Join(tree, ddi.ReleaseDir), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(tree, ddi.ReleaseFile("dbg")), []byte("ID=hadron\n"), 0o644))
	require.NoError(t, os.MkdirAll(filepath.Join(tree, "usr/bin"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(tree, "usr/bin/tool"), []byte("#!/bin/sh\n"), 0o755))

	t.Setenv("SOURCE_DATE_EPOCH", "1700000000")
	build := func(out string) string {
		t.Helper()
		got, err := runTrustedCmd(t, "sysext", "build", "--name", "dbg", "--arch", "amd64", "--fs", "squashfs",
			"--key", filepath.Join(keys, "db.key"), "--cert", filepath.Join(keys, "db.crt"), tree, out)
		require.NoError(t, err)
		require.Contains(t, got, "squashfs")
		require.Contains(t, got, `signed by "Hadron Secure Boot db"`)
		b, err := os.ReadFile(out)
		require.NoError(t, err)
		return string(b)
	}
	a, b := filepath.Join(dir, "a.raw"), filepath.Join(dir, "b.raw")
	require.Equal(t, build(a), build(b))

	got, err := runTrustedCmd(t, "sysext", "verify", "--arch", "amd64", "--cert", filepath.Join(keys, "db.crt"), a)
	require.NoError(t, err)
	require.Contains(t, got, "root hash ")

	_, err = runTrustedCmd(t, "sysext", "verify", "--arch", "amd64", "--cert", filepath.Join(keys, "KEK.crt"), a)
	require.ErrorContains(t, err, "fingerprint")

	img, err := os.ReadFile(a)
	require.NoError(t, err)
	img[1<<20+200] ^= 1 // inside the usr partition
	require.NoError(t, os.WriteFile(b, img, 0o644))
	_, err = runTrustedCmd(t, "sysext", "verify", "--arch", "amd64", "--cert", filepath.Join(keys, "db.crt"), b)
	require.ErrorContains(t, err, "the image was modified")

	_, err = runTrustedCmd(t, "sysext", "build", "--name", "dbg", "--arch", "amd64",
		"--key", filepath.Join(keys, "db.crt"), "--cert", filepath.Join(keys, "db.crt"), tree, a)
	require.ErrorContains(t, err, "db.crt")
	require.NotContains(t, err.Error(), "BEGIN")

	t.Setenv("SOURCE_DATE_EPOCH", "")
	_, err = runTrustedCmd(t, "sysext", "build", "--name", "dbg", "--arch", "amd64",
		"--key", filepath.Join(keys, "db.key"), "--cert", filepath.Join(keys, "db.crt"), tree, a)
	require.ErrorContains(t, err, "SOURCE_DATE_EPOCH")
}
