package e2e

import (
	"bytes"
	"context"
	"encoding/binary"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/diskfs/go-diskfs/partition/gpt"
	"github.com/hadron-linux/hadron/bootchain/ddi"
	"github.com/hadron-linux/hadron/bootchain/disk"
	"github.com/hadron-linux/hadron/bootchain/secureboot"
	"github.com/hadron-linux/hadron/buildkit-frontends/solve"
	"github.com/hadron-linux/hadron/internal/recipe"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// erofsMagic is the erofs superblock's magic, a little-endian uint32 at
// byte 1024 of the file system.
const erofsMagic = 0xE0F5E1E2

// TestSysextTinyTree builds a signed system extension through BuildKit in
// CI's tier: the tiny tree (no toolchain) gains an extension of its tiny
// image with one package of its own. The image is a usr-only DDI whose
// usr partition is erofs (the step asks for it: never squashfs because of
// what stage 0 happens to have), which Hadron's verifier accepts with the
// signing certificate (signature over the root hash, every block against
// the hash tree) and refuses once one byte of it changed. It holds the
// extension's package and its extension-release, and nothing of the base.
// The signing step is never cached, so a second build of the same target
// signs again: the bytes must be the same.
func TestSysextTinyTree(t *testing.T) {
	e := setup(t)
	dir := tinyTree(t)
	writeFile(t, dir, "recipes/tiny-ext/recipe.yaml", `name: tiny-ext
version: "1"
license: MIT
build:
  style: custom
  install: |
    mkdir -p /out/usr/bin
    printf '#!/bin/sh\necho hello from the extension\n' >/out/usr/bin/tiny-hello
    chmod 0755 /out/usr/bin/tiny-hello
`)
	writeFile(t, dir, "images/tinyext.yaml", "name: tinyext\nkind: sysext\nextends: tiny\npackages: [tiny-ext]\narches: [amd64]\n")
	keys := filepath.Join(t.TempDir(), "keys")
	out, err := exec.Command(filepath.Join(e.tools, "hadron"), "keys", "generate", keys).CombinedOutput()
	require.NoError(t, err, "hadron keys generate: %s", out)

	build := func() []byte {
		dest := t.TempDir()
		req := e.request(dir, "tinyext/sysext")
		req.Substitutes = nil // the tiny tree declares none
		req.Outputs = []string{"type=local,dest=" + dest}
		req.Secrets = []string{
			"id=verity.key,src=" + secureboot.KeyFile(keys, secureboot.DBName),
			"id=verity.crt,src=" + secureboot.CertFile(keys, secureboot.DBName),
		}
		_, err := solve.Build(context.Background(), e.client, req)
		require.NoError(t, err, "tinyext/sysext")
		raw, err := os.ReadFile(filepath.Join(dest, "tinyext.raw"))
		require.NoError(t, err, "the build's one output is the extension image")
		return raw
	}
	raw := build()
	t.Logf("tinyext.raw: %d bytes", len(raw))

	cert, err := secureboot.LoadCert(secureboot.CertFile(keys, secureboot.DBName))
	require.NoError(t, err)
	rootHash, err := ddi.Verify(writeTemp(t, raw), recipe.ArchAMD64, cert)
	require.NoError(t, err, "the signed extension verifies with its certificate")
	t.Logf("root hash %x", rootHash)

	off, size := usrPartition(t, raw, recipe.ArchAMD64)
	usr := raw[off : off+size]
	require.Greater(t, len(usr), 1028)
	assert.Equal(t, uint32(erofsMagic), binary.LittleEndian.Uint32(usr[1024:]), "the usr partition is erofs")

	// What the extension holds: its package and its release file, none of
	// the base's files.
	tree := filepath.Join(t.TempDir(), "usr")
	fsck, err := exec.Command("fsck.erofs", "--extract="+tree, writeTemp(t, usr)).CombinedOutput()
	require.NoError(t, err, "fsck.erofs --extract: %s", fsck)
	hello, err := os.ReadFile(filepath.Join(tree, "bin", "tiny-hello"))
	require.NoError(t, err, "the extension's program")
	assert.Equal(t, "#!/bin/sh\necho hello from the extension\n", string(hello))
	release, err := os.ReadFile(filepath.Join(tree, "lib", "extension-release.d", "extension-release.tinyext"))
	require.NoError(t, err, "the extension-release file")
	assert.Contains(t, string(release), "ID=hadron\n")
	assert.Contains(t, string(release), "ARCHITECTURE=x86-64\n")
	assert.NoDirExists(t, filepath.Join(tree, "share", "tiny"), "none of the base image's files")

	// One flipped byte in the file system: the signature over the root
	// hash still checks out, the hash tree does not.
	_, err = ddi.Verify(writeTemp(t, tamperUsr(t, raw)), recipe.ArchAMD64, cert)
	require.Error(t, err, "a tampered extension is refused")
	t.Logf("tampered: %v", err)

	again := build()
	assert.True(t, bytes.Equal(raw, again), "signing the same tree again with the same key gives the same image")
}

// usrPartition returns where the usr partition of the system extension
// image raw for arch starts and how long it is, in bytes.
func usrPartition(t *testing.T, raw []byte, arch recipe.Arch) (off, size int64) {
	t.Helper()
	fd, err := os.Open(writeTemp(t, raw))
	require.NoError(t, err)
	defer fd.Close()
	table, err := gpt.Read(fd, disk.SectorSize, disk.SectorSize)
	require.NoError(t, err, "the extension's partition table")
	for _, p := range table.Partitions {
		if strings.EqualFold(string(p.Type), string(ddi.Types[arch].Usr)) {
			return int64(p.Start) * disk.SectorSize, int64(p.End-p.Start+1) * disk.SectorSize
		}
	}
	t.Fatal("no usr partition in the extension")
	return 0, 0
}
