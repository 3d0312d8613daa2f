package gentree_test

import (
	"context"
	"fmt"
	"os"
	"testing"

	"github.com/hadron-linux/hadron/internal/graph"
	"github.com/hadron-linux/hadron/internal/project"
	"github.com/hadron-linux/hadron/internal/recipe"
	"github.com/hadron-linux/hadron/tests/gentree"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gopkg.in/yaml.v3"
)

func TestGenerateIsSeededDAG(t *testing.T) {
	a := gentree.Generate(300, 7)
	require.Equal(t, a, gentree.Generate(300, 7), "same seed, same tree")
	assert.NotEqual(t, a, gentree.Generate(300, 8), "another seed, another tree")
	index := map[string]int{}
	deps := 0
	for i, p := range a {
		index[p.Name] = i
		seen := map[string]bool{}
		for _, d := range append(append([]string{}, p.Build...), p.Runtime...) {
			require.Contains(t, index, d, "%s depends on %s, which must come earlier", p.Name, d)
			assert.False(t, seen[d], "%s lists %s twice", p.Name, d)
			seen[d] = true
			deps++
		}
	}
	assert.Greater(t, deps, 300, "a tree with dependencies, not a flat list")
}

// TestHadronTreeLoads: the Hadron tree passes the real loader and the
// graph resolves every package with the generated dependencies.
func TestHadronTreeLoads(t *testing.T) {
	pkgs := gentree.Generate(200, 1)
	tree, err := project.Load(gentree.Hadron(pkgs))
	require.NoError(t, err)
	require.Len(t, tree.Recipes, 200)
	require.Len(t, tree.Images[gentree.AllTarget].Packages, 200)
	for _, p := range pkgs {
		r := tree.Recipes[p.Name]
		require.NotNil(t, r, p.Name)
		assert.Equal(t, p.Build, r.Dependencies.Build)
		assert.Equal(t, p.Runtime, r.Dependencies.Runtime)
	}
	g, err := graph.Resolve(tree, recipe.ArchAMD64, nil)
	require.NoError(t, err)
	assert.Len(t, g.Order, 200)
}

// bldrPkg is the part of bldr's pkg.yaml the comparison depends on.
type bldrPkg struct {
	Name         string `yaml:"name"`
	Variant      string `yaml:"variant"`
	Dependencies []struct {
		Stage   string `yaml:"stage"`
		Runtime bool   `yaml:"runtime"`
	} `yaml:"dependencies"`
	Steps []struct {
		Sources []struct {
			URL, Destination, SHA256, SHA512 string
		} `yaml:"sources"`
		Prepare, Build, Install []string
	} `yaml:"steps"`
	Finalize []struct{ From, To string } `yaml:"finalize"`
}

// TestBldrTreeMatches: the bldr tree has the same packages, dependencies
// and sources as the Hadron tree, and a root Pkgfile.
func TestBldrTreeMatches(t *testing.T) {
	pkgs := gentree.Generate(100, 3)
	fsys := gentree.Bldr(pkgs)
	require.Contains(t, fsys, "Pkgfile")
	require.Len(t, fsys, 102) // Pkgfile, the packages, all
	for _, p := range pkgs {
		var got bldrPkg
		require.NoError(t, yaml.Unmarshal(fsys[p.Name+"/pkg.yaml"].Data, &got), p.Name)
		assert.Equal(t, p.Name, got.Name)
		assert.Equal(t, "scratch", got.Variant)
		var build, runtime []string
		for _, d := range got.Dependencies {
			if d.Runtime {
				runtime = append(runtime, d.Stage)
			} else {
				build = append(build, d.Stage)
			}
		}
		assert.Equal(t, p.Build, build, p.Name)
		assert.Equal(t, p.Runtime, runtime, p.Name)
		require.Len(t, got.Steps, 1)
		require.Len(t, got.Steps[0].Sources, 1)
		src := got.Steps[0].Sources[0]
		assert.Equal(t, p.URL(), src.URL)
		assert.Len(t, src.SHA256, 64)
		assert.Len(t, src.SHA512, 128)
		assert.NotEmpty(t, got.Steps[0].Build)
		assert.NotEmpty(t, got.Finalize)
	}
	var all bldrPkg
	require.NoError(t, yaml.Unmarshal(fsys[gentree.AllTarget+"/pkg.yaml"].Data, &all))
	assert.Len(t, all.Dependencies, 100)
	assert.NotEmpty(t, all.Finalize, "bldr converts a package without finalize to nothing")
}

func TestWriteAndPlanAll(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, gentree.Write(dir, gentree.Hadron(gentree.Generate(50, 1))))
	def, err := gentree.PlanAll(context.Background(), os.DirFS(dir))
	require.NoError(t, err)
	// Every package has at least a source, an unpack and its phases.
	assert.Greater(t, len(def.Def), 50*3)
}

var sizes = []int{500, 2000}

// onDisk writes the generated Hadron tree of n packages under a temporary
// folder and returns it as the CLI reads it.
func onDisk(b *testing.B, n int) string {
	b.Helper()
	dir := b.TempDir()
	if err := gentree.Write(dir, gentree.Hadron(gentree.Generate(n, 1))); err != nil {
		b.Fatal(err)
	}
	return dir
}

// BenchmarkLoad: read, decode and validate every file of a generated tree
// from disk, and cross-check recipes against lock files and images.
func BenchmarkLoad(b *testing.B) {
	for _, n := range sizes {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			fsys := os.DirFS(onDisk(b, n))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := project.Load(fsys); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkResolve: resolve the graph of every package (what `hadron
// graph` does after loading).
func BenchmarkResolve(b *testing.B) {
	for _, n := range sizes {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			tree, err := project.Load(gentree.Hadron(gentree.Generate(n, 1)))
			if err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			for b.Loop() {
				if _, err := graph.Resolve(tree, recipe.ArchAMD64, nil); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkPlanAll: load + resolve + convert + marshal the image holding
// every package (the LLB dry run).
func BenchmarkPlanAll(b *testing.B) {
	for _, n := range sizes {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			fsys := os.DirFS(onDisk(b, n))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := gentree.PlanAll(context.Background(), fsys); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
