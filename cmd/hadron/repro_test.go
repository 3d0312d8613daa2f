package main

import (
	"archive/tar"
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/hadron-linux/hadron/bootchain/pe"
	"github.com/hadron-linux/hadron/bootchain/secureboot"
	"github.com/hadron-linux/hadron/tests/ocitest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// stampImage is a two-package image whose second package holds stamp.
func stampImage(stamp string) []ocitest.Layer {
	return []ocitest.Layer{
		{CreatedBy: "package tiny-a 1", Files: []ocitest.File{{Path: "usr/share/tiny/a", Content: "a\n"}}},
		{CreatedBy: "package tiny-date 1", Files: []ocitest.File{{Path: "usr/share/tiny/date", Content: stamp}}},
	}
}

// tarDir packs dir into an archive, as `-o type=oci,dest=x.tar` writes it.
func tarDir(t *testing.T, dir string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "image.tar")
	f, err := os.Create(p)
	require.NoError(t, err)
	tw := tar.NewWriter(f)
	require.NoError(t, tw.AddFS(os.DirFS(dir)))
	require.NoError(t, tw.Close())
	require.NoError(t, f.Close())
	return p
}

// TestReproDiff: repro-diff compares two OCI layouts, two OCI archives,
// two trees and two files; identical outputs exit 0, differing ones exit
// 3 with a report naming the package and the file.
func TestReproDiff(t *testing.T) {
	t.Setenv("PATH", t.TempDir()) // no diffoscope: the file-level report
	same1, same2, other := t.TempDir(), t.TempDir(), t.TempDir()
	ocitest.WriteLayout(t, same1, stampImage("Tue Nov 14 22:13:20 UTC 2023\n")...)
	ocitest.WriteLayout(t, same2, stampImage("Tue Nov 14 22:13:20 UTC 2023\n")...)
	ocitest.WriteLayout(t, other, stampImage("Wed Nov 15 09:01:02 UTC 2023\n")...)
	treeA, treeB := t.TempDir(), t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(treeA, "f"), []byte("1"), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(treeB, "f"), []byte("2"), 0o644))
	fileA, fileB := filepath.Join(treeA, "f"), filepath.Join(treeB, "f")

	for _, tc := range []struct {
		name string
		a, b string
		code int
		want []string
	}{
		{"same layouts", same1, same2, 0, []string{"reproducible: all 5 compared artifacts are identical"}},
		{"layouts", same1, other, exitNotReproducible, []string{
			"DIFFERS    layer linux/amd64 2/2 (package tiny-date 1)", "usr/share/tiny/date: content", "a: 29 bytes sha256:", "NOT REPRODUCIBLE"}},
		{"archives", tarDir(t, same1), tarDir(t, other), exitNotReproducible, []string{"(package tiny-date 1)", "usr/share/tiny/date: content"}},
		{"same archives", tarDir(t, same1), tarDir(t, same2), 0, []string{"reproducible"}},
		{"trees", treeA, treeB, exitNotReproducible, []string{"DIFFERS    file f", "f: content"}},
		{"files", fileA, fileB, exitNotReproducible, []string{"DIFFERS    file f", "sizes: 1 / 1 bytes"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			stdout, stderr, code := runHadronCLI(t, "repro-diff", tc.a, tc.b)
			assert.Equal(t, tc.code, code, "stderr: %s", stderr)
			for _, w := range tc.want {
				assert.Contains(t, stdout, w)
			}
			assert.NotContains(t, stderr, "fsverity", "containerd's store warnings are quiet")
		})
	}

	_, stderr, code := runHadronCLI(t, "repro-diff", same1, fileA)
	assert.Equal(t, 1, code)
	assert.Contains(t, stderr, "not both directories or both files")
	_, stderr, code = runHadronCLI(t, "repro-diff", same1, treeA)
	assert.Equal(t, 1, code)
	assert.Contains(t, stderr, "only one of")
}

// TestExplainPE: for two signed EFI binaries, the report says whether
// only the signature differs (same image, another key) or the signed
// content, and which sections.
func TestExplainPE(t *testing.T) {
	img, err := os.ReadFile("/usr/lib/systemd/boot/efi/systemd-bootx64.efi")
	if os.IsNotExist(err) {
		t.Skip("systemd-boot-efi not installed")
	}
	require.NoError(t, err)
	sign := func(image []byte) []byte {
		keys := filepath.Join(t.TempDir(), "keys")
		require.NoError(t, secureboot.Generate(keys, secureboot.GenerateOptions{}))
		kp, err := secureboot.LoadKeyPair(secureboot.KeyFile(keys, secureboot.DBName), secureboot.CertFile(keys, secureboot.DBName))
		require.NoError(t, err)
		out, err := secureboot.SignPE(image, kp)
		require.NoError(t, err)
		return out
	}
	dir := t.TempDir()
	write := func(name string, data []byte) string {
		p := filepath.Join(dir, name)
		require.NoError(t, os.WriteFile(p, data, 0o644))
		return p
	}
	one := write("one.efi", sign(img))
	otherKey := write("other-key.efi", sign(img))
	changed := bytes.Clone(img)
	f, err := pe.Parse(changed)
	require.NoError(t, err)
	data, ok := f.Section(".data")
	require.True(t, ok)
	changed[data.PointerToRawData+8] ^= 0xff
	otherImage := write("other-image.efi", sign(changed))

	lines := explainPE("x.efi", one, otherKey)
	require.Len(t, lines, 1)
	assert.Contains(t, lines[0], "only the signature (certificate table) differs")

	lines = explainPE("x.efi", one, otherImage)
	require.Len(t, lines, 2)
	assert.Contains(t, lines[0], "the unsigned image differs")
	assert.Equal(t, "PE sections that differ: [.data]", lines[1])

	assert.Nil(t, explainPE("f", write("a.txt", []byte("a")), write("b.txt", []byte("b"))), "not PE images")
}

// TestReproCheckFailsFast: a bad scope, target or work directory fails
// before any engine is started or contacted.
func TestReproCheckFailsFast(t *testing.T) {
	full := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(full, "x"), nil, 0o644))
	base := []string{"-C", repoDir(t), "repro-check", "--addr", "tcp://127.0.0.1:1", "--tools-dir", fakeTools(t)}
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"bad scope", []string{"mini", "--scope", "some"}, `--scope "some": want full or packages`},
		{"unknown target", []string{"nosuch"}, `no recipe named "nosuch"`},
		{"work dir not empty", []string{"mini", "--work-dir", full}, "is not empty"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, stderr, code := runHadronCLI(t, append(base, tc.args...)...)
			assert.Equal(t, 1, code)
			assert.Contains(t, stderr, tc.want)
			assert.NotContains(t, stderr, "cannot reach BuildKit")
		})
	}
}

// TestCopyTreeRoots: the second build's tree is a copy of the folders a
// build reads, modes and symlinks kept, nothing else.
func TestCopyTreeRoots(t *testing.T) {
	src, dst := t.TempDir(), t.TempDir()
	for p, mode := range map[string]os.FileMode{"recipes/x/recipe.yaml": 0o644, "recipes/x/files/run.sh": 0o755, "notes.txt": 0o644} {
		full := filepath.Join(src, p)
		require.NoError(t, os.MkdirAll(filepath.Dir(full), 0o755))
		require.NoError(t, os.WriteFile(full, []byte(p), mode))
	}
	require.NoError(t, os.Symlink("run.sh", filepath.Join(src, "recipes/x/files/link")))
	require.NoError(t, copyTreeRoots(src, dst))
	fi, err := os.Stat(filepath.Join(dst, "recipes/x/files/run.sh"))
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o755), fi.Mode().Perm())
	link, err := os.Readlink(filepath.Join(dst, "recipes/x/files/link"))
	require.NoError(t, err)
	assert.Equal(t, "run.sh", link)
	data, err := os.ReadFile(filepath.Join(dst, "recipes/x/recipe.yaml"))
	require.NoError(t, err)
	assert.Equal(t, "recipes/x/recipe.yaml", string(data))
	assert.NoFileExists(t, filepath.Join(dst, "notes.txt"))
}
