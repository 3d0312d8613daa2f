package ddi

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/pem"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/diskfs/go-diskfs/backend/file"
	"github.com/diskfs/go-diskfs/filesystem/squashfs"
	"github.com/diskfs/go-diskfs/partition/gpt"
	"github.com/stretchr/testify/require"

	"github.com/hadron-linux/hadron/bootchain/secureboot"
	"github.com/hadron-linux/hadron/bootchain/verity"
	"github.com/hadron-linux/hadron/internal/recipe"
)

const epoch = 1700000000

var (
	keyOnce sync.Once
	keyPair *secureboot.KeyPair
)

// testKey is a db key pair made once per test run.
func testKey(t *testing.T) *secureboot.KeyPair {
	t.Helper()
	keyOnce.Do(func() {
		dir := filepath.Join(os.TempDir(), "hadron-ddi-test-keys-"+strings.ReplaceAll(t.Name(), "/", "_"))
		_ = os.RemoveAll(dir)
		if err := secureboot.Generate(dir, secureboot.GenerateOptions{CommonName: "Hadron sysext test"}); err != nil {
			panic(err)
		}
		kp, err := secureboot.LoadKeyPair(secureboot.KeyFile(dir, "db"), secureboot.CertFile(dir, "db"))
		if err != nil {
			panic(err)
		}
		keyPair = kp
		_ = os.RemoveAll(dir)
	})
	return keyPair
}

// testTree writes a small extension tree: a binary, a library with a
// symbolic link, a nested directory and the release file.
func testTree(t *testing.T, name string) string {
	t.Helper()
	dir := t.TempDir()
	write := func(rel, content string, mode os.FileMode) {
		p := filepath.Join(dir, rel)
		require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
		require.NoError(t, os.WriteFile(p, []byte(content), mode))
		require.NoError(t, os.Chmod(p, mode))
	}
	write("usr/bin/capsh", "#!/bin/sh\necho capsh\n", 0o755)
	write("usr/lib/libcap.so.2.70", strings.Repeat("libcap ", 3000), 0o755)
	require.NoError(t, os.Symlink("libcap.so.2.70", filepath.Join(dir, "usr/lib/libcap.so.2")))
	write("usr/share/doc/x/README", "hello\n", 0o644)
	write(ReleaseFile(name), "ID=hadron\nVERSION_ID=0.1\nARCHITECTURE=x86-64\n", 0o644)
	return dir
}

func build(t *testing.T, fs FS, dir, name string) (string, *Result) {
	t.Helper()
	out := filepath.Join(t.TempDir(), name+".raw")
	res, err := Build(context.Background(), out, Options{Name: name, Arch: recipe.ArchAMD64, Dir: dir, FS: fs, Epoch: epoch, Signer: testKey(t)})
	require.NoError(t, err)
	return out, res
}

func partition(t *testing.T, img string, p Partition) []byte {
	t.Helper()
	f, err := os.Open(img)
	require.NoError(t, err)
	defer f.Close()
	b := make([]byte, p.Size)
	_, err = f.ReadAt(b, p.Offset)
	require.NoError(t, err)
	return b
}

func TestLayoutReadBack(t *testing.T) {
	img, res := build(t, Squashfs, testTree(t, "debug-tools"), "debug-tools")
	require.Equal(t, Squashfs, res.FS)
	st, err := os.Stat(img)
	require.NoError(t, err)
	require.Equal(t, res.Size, st.Size())
	require.Zero(t, res.Size%4096)

	f, err := os.Open(img)
	require.NoError(t, err)
	defer f.Close()
	table, err := gpt.Read(f, 512, 512)
	require.NoError(t, err)
	require.True(t, table.ProtectiveMBR)
	require.Equal(t, strings.ToUpper(res.DiskUUID), strings.ToUpper(table.GUID))
	require.Len(t, table.Partitions, 3)

	root := hex.EncodeToString(res.RootHash)
	want := []struct {
		name string
		typ  gpt.Type
		uuid string
	}{
		{"usr-x86-64", "8484680C-9521-48C6-9C11-B0720656F69E", root[:8] + "-" + root[8:12] + "-" + root[12:16] + "-" + root[16:20] + "-" + root[20:32]},
		{"usr-x86-64-verity", "77FF5F63-E7B6-4633-ACF4-1565B864C0E6", root[32:40] + "-" + root[40:44] + "-" + root[44:48] + "-" + root[48:52] + "-" + root[52:64]},
		{"usr-x86-64-verity-sig", "E7BB33FB-06CF-4E81-8273-E543B413E2E2", res.Partitions[2].UUID},
	}
	for i, w := range want {
		p := table.Partitions[i]
		require.Equal(t, w.name, p.Name)
		require.Equal(t, strings.ToUpper(string(w.typ)), strings.ToUpper(string(p.Type)))
		require.Equal(t, strings.ToUpper(w.uuid), strings.ToUpper(p.GUID), w.name)
		require.Equal(t, uint64(res.Partitions[i].Offset/512), p.Start, w.name)
		require.Equal(t, uint64(res.Partitions[i].Size), p.Size, w.name)
		require.Zero(t, p.Start%8, "%s: not 4 KiB aligned", w.name)
		require.Equal(t, uint64(1)<<60, p.Attributes, w.name)
	}
	require.EqualValues(t, 2048, table.Partitions[0].Start)

	// The hash partition: a superblock for the usr partition, and the
	// tree recomputed from the usr partition with its salt gives the root.
	usr := partition(t, img, res.Partitions[0])
	hashes := partition(t, img, res.Partitions[1])
	var sb verity.Superblock
	require.NoError(t, sb.UnmarshalBinary(hashes))
	require.EqualValues(t, len(usr)/4096, sb.DataBlocks)
	require.Equal(t, "sha256", sb.Algorithm)
	tree, err := verity.Compute(bytes.NewReader(usr), int64(len(usr)), sb.Salt)
	require.NoError(t, err)
	require.Equal(t, res.RootHash, tree.RootHash)
	require.EqualValues(t, tree.HashSize(), len(hashes))

	// The signature partition: JSON padded to 4 KiB, verified by the cert.
	sigPart := partition(t, img, res.Partitions[2])
	require.Zero(t, len(sigPart)%4096)
	sig, err := ParseSignature(sigPart)
	require.NoError(t, err)
	require.Equal(t, root, sig.RootHash)
	require.NoError(t, sig.Verify(testKey(t).Cert))

	// The file system: the tree's usr/ at its root, owned by root, dated
	// by the epoch.
	fsys, err := squashfs.Read(file.New(bytesFile(t, usr), true), int64(len(usr)), 0, 0)
	require.NoError(t, err)
	fh, err := fsys.OpenFile("bin/capsh", os.O_RDONLY)
	require.NoError(t, err)
	content, err := io.ReadAll(fh)
	require.NoError(t, err)
	require.Equal(t, "#!/bin/sh\necho capsh\n", string(content))
	infos, err := fsys.ReadDir("lib")
	require.NoError(t, err)
	var names []string
	for _, fi := range infos {
		names = append(names, fi.Name())
		info, err := fi.Info()
		require.NoError(t, err)
		require.Equal(t, int64(epoch), info.ModTime().Unix(), fi.Name())
	}
	require.Contains(t, names, "extension-release.d")
	require.Contains(t, names, "libcap.so.2")
	require.Equal(t, uint32(epoch), uint32(usr[8])|uint32(usr[9])<<8|uint32(usr[10])<<16|uint32(usr[11])<<24, "squashfs creation time")

	if _, err := exec.LookPath("unsquashfs"); err == nil {
		raw := filepath.Join(t.TempDir(), "usr.sqfs")
		require.NoError(t, os.WriteFile(raw, usr, 0o644))
		out, err := exec.Command("unsquashfs", "-lln", raw).CombinedOutput()
		require.NoError(t, err, "%s", out)
		require.Contains(t, string(out), "squashfs-root/lib/libcap.so.2 -> libcap.so.2.70")
		require.Contains(t, string(out), "-rwxr-xr-x 0/0")
		require.NotContains(t, string(out), "1000/")
	}
}

// bytesFile is b in a temporary file, for go-diskfs readers.
func bytesFile(t *testing.T, b []byte) *os.File {
	t.Helper()
	p := filepath.Join(t.TempDir(), "fs")
	require.NoError(t, os.WriteFile(p, b, 0o644))
	f, err := os.Open(p)
	require.NoError(t, err)
	t.Cleanup(func() { f.Close() })
	return f
}

func TestVeritysetupAcceptsImage(t *testing.T) {
	if _, err := exec.LookPath("veritysetup"); err != nil {
		t.Skip("veritysetup not installed (apt-get install cryptsetup-bin)")
	}
	img, res := build(t, Squashfs, testTree(t, "debug-tools"), "debug-tools")
	dir := t.TempDir()
	data, hashes := filepath.Join(dir, "usr"), filepath.Join(dir, "verity")
	usr := partition(t, img, res.Partitions[0])
	require.NoError(t, os.WriteFile(data, usr, 0o644))
	require.NoError(t, os.WriteFile(hashes, partition(t, img, res.Partitions[1]), 0o644))
	out, err := exec.Command("veritysetup", "verify", data, hashes, res.RootHashHex()).CombinedOutput()
	require.NoError(t, err, "%s", out)

	usr[len(usr)/2] ^= 0x80
	require.NoError(t, os.WriteFile(data, usr, 0o644))
	_, err = exec.Command("veritysetup", "verify", data, hashes, res.RootHashHex()).CombinedOutput()
	require.Error(t, err, "tampered usr partition verified")
}

func TestDeterministic(t *testing.T) {
	for _, fs := range []FS{Squashfs, EROFS} {
		t.Run(string(fs), func(t *testing.T) {
			if fs == EROFS {
				if _, err := exec.LookPath("mkfs.erofs"); err != nil {
					t.Skip("mkfs.erofs not installed")
				}
			}
			a, ra := build(t, fs, testTree(t, "x"), "x")
			b, rb := build(t, fs, testTree(t, "x"), "x")
			require.Equal(t, ra, rb)
			require.Equal(t, fileSum(t, a), fileSum(t, b))

			// Another content is another root hash, and other UUIDs.
			dir := testTree(t, "x")
			require.NoError(t, os.WriteFile(filepath.Join(dir, "usr/bin/capsh"), []byte("other"), 0o755))
			_, rc := build(t, fs, dir, "x")
			require.NotEqual(t, ra.RootHash, rc.RootHash)
			require.NotEqual(t, ra.Partitions[0].UUID, rc.Partitions[0].UUID)
		})
	}
}

func fileSum(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	require.NoError(t, err)
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

func TestSignatureDeterministicAndVerified(t *testing.T) {
	root := sha256.Sum256([]byte("root"))
	a, err := SignRootHash(root[:], testKey(t))
	require.NoError(t, err)
	b, err := SignRootHash(root[:], testKey(t))
	require.NoError(t, err)
	require.Equal(t, a, b)
	require.NoError(t, a.Verify(testKey(t).Cert))

	part, err := a.Partition()
	require.NoError(t, err)
	require.Len(t, part, 4096)
	require.True(t, bytes.HasPrefix(part, []byte(`{"rootHash":"`+hex.EncodeToString(root[:])+`","certificateFingerprint":"`)))

	// Another root hash under the same signature is refused.
	other := *a
	other.RootHash = strings.Repeat("0", 64)
	require.ErrorContains(t, other.Verify(testKey(t).Cert), "verity signature")
	// So is another certificate.
	fp := other
	fp.CertificateFingerprint = strings.Repeat("0", 64)
	require.ErrorContains(t, fp.Verify(testKey(t).Cert), "fingerprint")

	if _, err := exec.LookPath("openssl"); err == nil {
		dir := t.TempDir()
		der, err := base64.StdEncoding.DecodeString(a.Signature)
		require.NoError(t, err)
		write := func(n string, b []byte) string {
			p := filepath.Join(dir, n)
			require.NoError(t, os.WriteFile(p, b, 0o644))
			return p
		}
		cert := write("cert.pem", pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: testKey(t).Cert.Raw}))
		verify := func(content string) error {
			out, err := exec.Command("openssl", "smime", "-verify", "-binary", "-inform", "DER", "-in", write("sig.p7", der),
				"-content", write("roothash", []byte(content)), "-certfile", cert, "-nointern", "-noverify",
				"-out", os.DevNull).CombinedOutput()
			if err != nil {
				return fmt.Errorf("%w: %s", err, out)
			}
			return nil
		}
		require.NoError(t, verify(a.RootHash), "openssl refuses the signature")
		require.Error(t, verify(other.RootHash), "openssl accepts another root hash")
	}
}

func TestCheckTree(t *testing.T) {
	dir := testTree(t, "x")
	require.NoError(t, CheckTree(dir, "x"))
	require.ErrorContains(t, CheckTree(dir, "y"), "no usr/lib/extension-release.d/extension-release.y")

	require.NoError(t, os.WriteFile(filepath.Join(dir, ReleaseFile("x")), []byte("VERSION_ID=1\n"), 0o644))
	require.ErrorContains(t, CheckTree(dir, "x"), "no ID= line")

	dir = testTree(t, "x")
	require.NoError(t, os.Mkdir(filepath.Join(dir, "etc"), 0o755))
	require.ErrorContains(t, CheckTree(dir, "x"), "/etc outside /usr")

	_, err := Build(context.Background(), filepath.Join(t.TempDir(), "x.raw"), Options{Name: "x", Arch: "riscv64", Dir: dir, Signer: testKey(t)})
	require.ErrorContains(t, err, `no partition types for arch "riscv64"`)
	_, err = Build(context.Background(), filepath.Join(t.TempDir(), "x.raw"), Options{Name: "x", Arch: recipe.ArchAMD64, Dir: dir})
	require.ErrorContains(t, err, "no signing key")
}

func BenchmarkBuildSquashfs(b *testing.B) {
	t := &testing.T{}
	dir := b.TempDir()
	require.NoError(b, os.MkdirAll(filepath.Join(dir, "usr/lib/extension-release.d"), 0o755))
	require.NoError(b, os.WriteFile(filepath.Join(dir, ReleaseFile("x")), []byte("ID=hadron\n"), 0o644))
	big := bytes.Repeat([]byte("0123456789abcdef"), 1<<20) // 16 MiB
	require.NoError(b, os.WriteFile(filepath.Join(dir, "usr/lib/big"), big, 0o644))
	kp := testKey(t)
	out := filepath.Join(b.TempDir(), "x.raw")
	for b.Loop() {
		if _, err := Build(context.Background(), out, Options{Name: "x", Arch: recipe.ArchAMD64, Dir: dir, FS: Squashfs, Epoch: epoch, Signer: kp}); err != nil {
			b.Fatal(err)
		}
	}
}

func TestVerifyRefusesTampering(t *testing.T) {
	img, res := build(t, Squashfs, testTree(t, "x"), "x")
	root, err := Verify(img, recipe.ArchAMD64, testKey(t).Cert)
	require.NoError(t, err)
	require.Equal(t, res.RootHash, root)
	_, err = Verify(img, recipe.ArchARM64, testKey(t).Cert)
	require.ErrorContains(t, err, "no partition of type B0E01050")

	flip := func(off int64) string {
		b, err := os.ReadFile(img)
		require.NoError(t, err)
		b[off] ^= 1
		p := filepath.Join(t.TempDir(), "x.raw")
		require.NoError(t, os.WriteFile(p, b, 0o644))
		return p
	}
	_, err = Verify(flip(res.Partitions[0].Offset+100), recipe.ArchAMD64, testKey(t).Cert)
	require.ErrorContains(t, err, "the image was modified")
	_, err = Verify(flip(res.Partitions[1].Offset+4096+5), recipe.ArchAMD64, testKey(t).Cert)
	require.ErrorContains(t, err, "does not hold the data partition's hash tree")
	_, err = Verify(flip(res.Partitions[2].Offset+20), recipe.ArchAMD64, testKey(t).Cert)
	require.ErrorContains(t, err, "verity signature")

	other, err := x509.ParseCertificate(testKey(t).Cert.Raw)
	require.NoError(t, err)
	other.Raw = append([]byte(nil), other.Raw...)
	other.Raw[len(other.Raw)-1] ^= 1
	_, err = Verify(img, recipe.ArchAMD64, other)
	require.ErrorContains(t, err, "fingerprint")
}
