package project_test

import (
	"strings"
	"testing"
	"testing/fstest"

	"github.com/hadron-linux/hadron/internal/project"
	"github.com/hadron-linux/hadron/internal/project/projecttest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func base() fstest.MapFS {
	fsys := projecttest.Tree(
		projecttest.Spec{Name: "musl"},
		projecttest.Spec{Name: "make", Runtime: []string{"musl"}},
		projecttest.Spec{Name: "zlib", Build: []string{"make"}, Runtime: []string{"musl"}},
	)
	projecttest.Image(fsys, "base", "zlib", "musl")
	return fsys
}

func TestLoadGood(t *testing.T) {
	tree, err := project.Load(base())
	require.NoError(t, err)
	assert.Equal(t, []string{"make", "musl", "zlib"}, tree.Names())
	assert.Len(t, tree.Locks, 3)
	assert.Contains(t, tree.Images, "base")
}

func TestLoadProblems(t *testing.T) {
	tests := []struct {
		name   string
		change func(fstest.MapFS)
		want   []string
	}{
		{"missing build dependency", func(f fstest.MapFS) {
			projecttest.Add(f, projecttest.Spec{Name: "xz", Build: []string{"mkae"}})
		}, []string{"recipes/xz/recipe.yaml:8: build dependency \"mkae\": no such recipe; did you mean `make`?"}},
		{"missing runtime dependency", func(f fstest.MapFS) {
			projecttest.Add(f, projecttest.Spec{Name: "xz", Runtime: []string{"libfoo"}})
		}, []string{`recipes/xz/recipe.yaml:8: runtime dependency "libfoo": no such recipe`}},
		{"unknown image package", func(f fstest.MapFS) {
			projecttest.Image(f, "base", "zlib", "zlibb")
		}, []string{"images/base.yaml:4: package \"zlibb\": no such recipe; did you mean `zlib`?"}},
		{"unknown image kernel", func(f fstest.MapFS) {
			projecttest.Image(f, "base", "zlib")
			f["images/base.yaml"].Data = append(f["images/base.yaml"].Data, "boot: trusted\nkernel: linuz\nefi: zlib\n"...)
		}, []string{"images/base.yaml:6: kernel \"linuz\": no such recipe"}},
		{"trusted image without the default efi recipe", func(f fstest.MapFS) {
			projecttest.Image(f, "base", "zlib")
			f["images/base.yaml"].Data = append(f["images/base.yaml"].Data, "boot: trusted\nkernel: zlib\n"...)
		}, []string{"images/base.yaml:5: efi (by default systemd:efi: systemd-boot and systemd-stub; efi: names another output) \"systemd\": no such recipe"}},
		{"efi output missing", func(f fstest.MapFS) {
			projecttest.Image(f, "base", "zlib")
			f["images/base.yaml"].Data = append(f["images/base.yaml"].Data, "boot: trusted\nkernel: zlib\nefi: zlib:efi\n"...)
		}, []string{"images/base.yaml:7: efi: recipe zlib has no output \"efi\" (outputs: "}},
		{"initrd not an initrd image", func(f fstest.MapFS) {
			projecttest.Image(f, "base", "zlib")
			projecttest.Image(f, "other", "zlib")
			f["images/base.yaml"].Data = append(f["images/base.yaml"].Data, "boot: trusted\nkernel: zlib\nefi: zlib\ninitrd: other\n"...)
		}, []string{"images/base.yaml:8: initrd: image other is not an initrd (images/other.yaml has no kind: initrd)"}},
		{"initrd missing", func(f fstest.MapFS) {
			projecttest.Image(f, "base", "zlib")
			f["images/base.yaml"].Data = append(f["images/base.yaml"].Data, "boot: trusted\nkernel: zlib\nefi: zlib\ninitrd: base-rd\n"...)
		}, []string{"images/base.yaml:8: initrd: no image images/base-rd.yaml; initrd images: "}},
		{"unpinned recipe", func(f fstest.MapFS) {
			delete(f, "vendor-hashes/zlib.lock")
		}, []string{"recipes/zlib/recipe.yaml:1: recipe zlib has no lock file vendor-hashes/zlib.lock"}},
		{"lock version mismatch", func(f fstest.MapFS) {
			f["vendor-hashes/zlib.lock"] = &fstest.MapFile{Data: projecttest.Spec{Name: "zlib", Version: "0.9"}.LockYAML()}
		}, []string{`vendor-hashes/zlib.lock:1: lock is for zlib 0.9 but recipes/zlib/recipe.yaml has version 1.0`}},
		{"orphan lock", func(f fstest.MapFS) {
			f["vendor-hashes/gone.lock"] = &fstest.MapFile{Data: projecttest.Spec{Name: "gone"}.LockYAML()}
		}, []string{`vendor-hashes/gone.lock:1: lock file for unknown recipe "gone"`}},
		{"duplicate recipe name", func(f fstest.MapFS) {
			f["toolchain/make/recipe.yaml"] = &fstest.MapFile{Data: projecttest.Spec{Name: "make"}.RecipeYAML()}
		}, []string{
			`recipes/make/recipe.yaml:1: duplicate recipe name "make": also defined at toolchain/make/recipe.yaml:1`,
			`toolchain/make/recipe.yaml:1: duplicate recipe name "make": also defined at recipes/make/recipe.yaml:1`,
		}},
		{"unknown output of a build dependency", func(f fstest.MapFS) {
			projecttest.Add(f, projecttest.Spec{Name: "xz", Build: []string{"zlib:devel"}})
		}, []string{"recipes/xz/recipe.yaml:8: build dependency \"zlib:devel\": recipe zlib has no output \"devel\"; did you mean `dev`?"}},
		{"unknown output of a runtime dependency", func(f fstest.MapFS) {
			projecttest.Add(f, projecttest.Spec{Name: "xz", Runtime: []string{"zlib:tools"}})
		}, []string{`recipes/xz/recipe.yaml:8: runtime dependency "zlib:tools": recipe zlib has no output "tools" (outputs: dev, doc, locale, or none for the main output)`}},
		{"output of a missing recipe", func(f fstest.MapFS) {
			projecttest.Add(f, projecttest.Spec{Name: "xz", Build: []string{"zlb:dev"}})
		}, []string{"recipes/xz/recipe.yaml:8: build dependency \"zlb\": no such recipe; did you mean `zlib`?"}},
		{"runtime dependency on a dev output", func(f fstest.MapFS) {
			projecttest.Add(f, projecttest.Spec{Name: "xz", Runtime: []string{"zlib:dev"}})
		}, []string{`recipes/xz/recipe.yaml:8: dependencies.runtime: "zlib:dev": the dev output is for build environments only and never goes into an image; list it under dependencies.build`}},
		{"image package naming an output", func(f fstest.MapFS) {
			projecttest.Image(f, "base", "zlib:dev")
		}, []string{`images/base.yaml:4: packages: "zlib:dev": an image lists recipes and holds their main outputs; name zlib`}},
		{"broken recipe and broken lock reported once", func(f fstest.MapFS) {
			f["recipes/zlib/recipe.yaml"].Data = append(f["recipes/zlib/recipe.yaml"].Data, "homepag: x\n"...)
			f["vendor-hashes/make.lock"].Data = []byte(strings.Replace(string(f["vendor-hashes/make.lock"].Data), "sha256: ", "sha256: 0", 1))
		}, []string{
			"recipes/zlib/recipe.yaml:12: unknown key `homepag`; did you mean `homepage`?",
			"vendor-hashes/make.lock:5: pin for https://example.org/src/make-1.0.tar.gz: malformed sha256",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fsys := base()
			tt.change(fsys)
			tree, err := project.Load(fsys)
			require.Error(t, err)
			require.NotNil(t, tree, "the tree is returned with the problems")
			lines := strings.Split(err.Error(), "\n")
			require.Len(t, lines, len(tt.want), "got:\n%v", err)
			for i, w := range tt.want {
				assert.Contains(t, lines[i], w)
			}
		})
	}
}

func TestLoadRandomTreeIsValid(t *testing.T) {
	tree, err := project.Load(projecttest.Random(60, 7))
	require.NoError(t, err)
	assert.Len(t, tree.Recipes, 60)
	assert.Len(t, tree.Locks, 60)
}

// hostRecipe marks the generated recipe name in fsys as a host recipe.
func hostRecipe(fsys fstest.MapFS, dir, name string) {
	f := fsys[dir+"/"+name+"/recipe.yaml"]
	f.Data = append(f.Data, "host: true\n"...)
}

// TestToolchainLinked: every recipe that is not a host recipe builds with
// every host recipe of the tree; host recipes build only with each other.
func TestToolchainLinked(t *testing.T) {
	fsys := base()
	fsys["toolchain/binutils/recipe.yaml"] = &fstest.MapFile{Data: projecttest.Spec{Name: "binutils"}.RecipeYAML()}
	fsys["vendor-hashes/binutils.lock"] = &fstest.MapFile{Data: projecttest.Spec{Name: "binutils"}.LockYAML()}
	fsys["toolchain/gcc/recipe.yaml"] = &fstest.MapFile{Data: projecttest.Spec{Name: "gcc", Build: []string{"binutils"}}.RecipeYAML()}
	fsys["vendor-hashes/gcc.lock"] = &fstest.MapFile{Data: projecttest.Spec{Name: "gcc"}.LockYAML()}
	hostRecipe(fsys, "toolchain", "binutils")
	hostRecipe(fsys, "toolchain", "gcc")
	tree, err := project.Load(fsys)
	require.NoError(t, err)
	assert.Equal(t, []string{"binutils", "gcc"}, tree.Toolchain())
	for _, n := range []string{"musl", "make", "zlib"} {
		assert.Equal(t, []string{"binutils", "gcc"}, tree.Recipes[n].Dependencies.Toolchain, n)
	}
	assert.Empty(t, tree.Recipes["gcc"].Dependencies.Toolchain, "host recipes name what they build with")
	assert.Equal(t, []string{"binutils"}, tree.Recipes["gcc"].Dependencies.Build)
}

// TestHostRecipeProblems: a host recipe building with a package, a host
// recipe with runtime dependencies and an image holding a host recipe are
// errors with file:line.
func TestHostRecipeProblems(t *testing.T) {
	fsys := base()
	fsys["toolchain/gcc/recipe.yaml"] = &fstest.MapFile{Data: projecttest.Spec{Name: "gcc", Build: []string{"musl"}, Runtime: []string{"musl"}}.RecipeYAML()}
	fsys["vendor-hashes/gcc.lock"] = &fstest.MapFile{Data: projecttest.Spec{Name: "gcc"}.LockYAML()}
	hostRecipe(fsys, "toolchain", "gcc")
	projecttest.Image(fsys, "base", "zlib", "gcc")
	_, err := project.Load(fsys)
	require.Error(t, err)
	msg := err.Error()
	assert.Contains(t, msg, "toolchain/gcc/recipe.yaml:8: host recipe gcc: build dependency musl is not a host recipe")
	assert.Contains(t, msg, "host recipe gcc: runtime dependencies make no sense")
	assert.Contains(t, msg, "images/base.yaml:4: package gcc is a host recipe")
}
