package project_test

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/hadron-linux/hadron/internal/project"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const substFile = "vendor-hashes/substitutes/zlib-1.0-debian.yaml"

// substYAML declares a substitute for zlib's source in base().
func substYAML() string {
	return `name: zlib-1.0-debian
recipes: [zlib]
upstream: https://example.org/src/zlib-1.0.tar.gz
origin: Debian source package zlib 1:1.0-1
differs: nothing
files:
  - url: http://deb.debian.org/debian/pool/main/z/zlib/zlib_1.0.orig.tar.gz
    sha256: ` + strings.Repeat("ab", 32) + `
    sha512: ` + strings.Repeat("cd", 64) + `
    size: 1234
`
}

func TestLoadSubstitutes(t *testing.T) {
	tests := []struct {
		name string
		edit func(string) string // nil: substYAML as is
		want []string            // nil: no problems
	}{
		{"stands for a source of its recipe", nil, nil},
		{"a source that is in no recipe", func(s string) string {
			return strings.Replace(s, "zlib-1.0.tar.gz", "zlib-0.9.tar.gz", 1)
		}, []string{
			substFile + ":3: substitute zlib-1.0-debian stands for https://example.org/src/zlib-0.9.tar.gz, which is not a source of recipe zlib 1.0 " +
				"(its sources: https://example.org/src/zlib-1.0.tar.gz); update the substitute with the recipe, or delete it",
		}},
		{"a recipe that is not in the tree", func(s string) string {
			return strings.Replace(s, "recipes: [zlib]", "recipes: [zlb]", 1)
		}, []string{
			substFile + `:2: substitute zlib-1.0-debian stands for a source of recipe "zlb", but there is no such recipe; did you mean ` + "`zlib`?",
		}},
		{"a broken declaration is reported once", func(s string) string {
			return strings.Replace(s, "upstream: https://", "upstream: htps://", 1)
		}, []string{
			substFile + `:3: upstream: the upstream URL this stands for: URL "htps://example.org/src/zlib-1.0.tar.gz": only http:// and https:// are allowed`,
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fsys := base()
			src := substYAML()
			if tt.edit != nil {
				src = tt.edit(src)
			}
			fsys[substFile] = &fstest.MapFile{Data: []byte(src)}
			tree, err := project.Load(fsys)
			require.NotNil(t, tree)
			if tt.want == nil {
				require.NoError(t, err)
				require.Contains(t, tree.Substitutes, "zlib-1.0-debian")
				assert.Equal(t, substFile, tree.Substitutes["zlib-1.0-debian"].File)
				return
			}
			require.Error(t, err)
			assert.Equal(t, tt.want, strings.Split(err.Error(), "\n"))
			assert.Contains(t, tree.Substitutes, "zlib-1.0-debian", "the tree keeps what could be read")
		})
	}
}

func TestLoadWithoutSubstitutes(t *testing.T) {
	tree, err := project.Load(base())
	require.NoError(t, err)
	assert.NotNil(t, tree.Substitutes)
	assert.Empty(t, tree.Substitutes)
}

// TestLoadSubstituteTreePatch: the tree a substitute is loaded from holds
// its patches kept in the tree; a missing one is reported with file:line.
func TestLoadSubstituteTreePatch(t *testing.T) {
	const patchFile = "vendor-hashes/substitutes/patches/zlib-fix.patch"
	data := "--- a/x\n+++ b/x\n@@ -1 +1 @@\n-a\n+b\n"
	sum := sha256.Sum256([]byte(data))
	decl := substYAML() + "patches:\n  - file: " + patchFile + "\n    sha256: " + hex.EncodeToString(sum[:]) + "\n    why: test\n"

	fsys := base()
	fsys[substFile] = &fstest.MapFile{Data: []byte(decl)}
	fsys[patchFile] = &fstest.MapFile{Data: []byte(data)}
	tree, err := project.Load(fsys)
	require.NoError(t, err)
	assert.Equal(t, []string{patchFile}, tree.Substitutes["zlib-1.0-debian"].TreeFiles())

	delete(fsys, patchFile)
	_, err = project.Load(fsys)
	require.EqualError(t, err, substFile+":12: patch "+patchFile+": no such file in the tree")
}
