package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/hadron-linux/hadron/tests/gittest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// spdxHead is the part of an SPDX document the command tests read.
type spdxHead struct {
	Version      string `json:"spdxVersion"`
	Name         string `json:"name"`
	CreationInfo struct {
		Created string `json:"created"`
		Comment string `json:"comment"`
	} `json:"creationInfo"`
	Packages []struct {
		Name string `json:"name"`
	} `json:"packages"`
}

func sbomOf(t *testing.T, args ...string) (string, spdxHead) {
	t.Helper()
	stdout, stderr, code := runHadronCLI(t, args...)
	require.Equal(t, 0, code, stderr)
	var h spdxHead
	require.NoError(t, json.Unmarshal([]byte(stdout), &h), stdout)
	return stdout, h
}

func TestSBOMCommand(t *testing.T) {
	dir := writeTree(t, smallTree())
	out, h := sbomOf(t, "-C", dir, "sbom", "base", "--source-date-epoch", "1700000000")
	assert.Equal(t, "SPDX-2.3", h.Version)
	assert.Equal(t, "base (linux/amd64)", h.Name)
	assert.Equal(t, "2023-11-14T22:13:20Z", h.CreationInfo.Created)
	var names []string
	for _, p := range h.Packages {
		names = append(names, p.Name)
	}
	for _, want := range []string{"base", "make", "musl", "zlib"} {
		assert.Contains(t, names, want)
	}
	again, _ := sbomOf(t, "-C", dir, "sbom", "base", "--source-date-epoch", "1700000000")
	assert.Equal(t, out, again, "deterministic")
	assert.NotContains(t, h.CreationInfo.Comment, "Recipe tree:", "not a git work tree")

	file := filepath.Join(t.TempDir(), "base.cdx.json")
	stdout, stderr, code := runHadronCLI(t, "-C", dir, "sbom", "base", "--format", "cyclonedx", "-o", file)
	require.Equal(t, 0, code, stderr)
	assert.Empty(t, stdout)
	data, err := os.ReadFile(file)
	require.NoError(t, err)
	var bom struct {
		Format  string `json:"bomFormat"`
		Version string `json:"specVersion"`
	}
	require.NoError(t, json.Unmarshal(data, &bom))
	assert.Equal(t, "CycloneDX", bom.Format)
	assert.Equal(t, "1.6", bom.Version)

	arm, h := sbomOf(t, "-C", dir, "sbom", "zlib", "--platform", "linux/arm64")
	assert.Equal(t, "zlib (linux/arm64)", h.Name)
	assert.Contains(t, arm, `"SPDXRef-DOCUMENT"`)
}

func TestSBOMErrors(t *testing.T) {
	dir := writeTree(t, smallTree())
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"sbom", "base", "--format", "yaml"}, `--format "yaml": want spdx or cyclonedx`},
		{[]string{"sbom", "base", "--platform", "linux/amd64,linux/arm64"}, "one document describes one platform"},
		{[]string{"sbom", "nosuch"}, `no recipe named "nosuch"`},
		{[]string{"sbom", "base", "--substitutes", "nope"}, `unknown substitute "nope"`},
		{[]string{"build", "base", "--attest", "type=vex", "--addr", "tcp://127.0.0.1:1"}, `--attest "type=vex": want type=sbom or type=provenance`},
	} {
		stdout, stderr, code := runHadronCLI(t, append([]string{"-C", dir}, tt.args...)...)
		assert.Equal(t, 1, code, "%v", tt.args)
		assert.Empty(t, stdout)
		assert.Contains(t, stderr, tt.want)
	}
}

// gitRepo makes dir a git work tree with one commit and an origin remote
// whose URL carries a token; it returns the commit.
func gitRepo(t *testing.T, dir string) string {
	t.Helper()
	return gittest.Commit(t, dir, "https://user:s3cret@git.example.org/tree.git")
}

// TestSBOMRecordsGitCommit: in a git work tree the SBOM names the commit
// and the origin remote (without its credentials); a change to the tree's
// folders marks it dirty, a change elsewhere does not.
func TestSBOMRecordsGitCommit(t *testing.T) {
	dir := writeTree(t, smallTree())
	rev := gitRepo(t, dir)
	_, h := sbomOf(t, "-C", dir, "sbom", "base")
	assert.Contains(t, h.CreationInfo.Comment, "Recipe tree: https://git.example.org/tree.git at "+rev+".")
	assert.NotContains(t, h.CreationInfo.Comment, "s3cret")

	require.NoError(t, os.WriteFile(filepath.Join(dir, "NOTES"), []byte("not read by builds\n"), 0o644))
	_, h = sbomOf(t, "-C", dir, "sbom", "base")
	assert.Contains(t, h.CreationInfo.Comment, " at "+rev+".", "a file outside the tree's folders")

	p := filepath.Join(dir, "recipes/zlib/recipe.yaml")
	data, err := os.ReadFile(p)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(p, append(data, "# edited\n"...), 0o644))
	_, h = sbomOf(t, "-C", dir, "sbom", "base")
	assert.Contains(t, h.CreationInfo.Comment, " at "+rev+"-dirty.")
}
