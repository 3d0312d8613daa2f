// Package projecttest builds small and large project trees in memory
// (fstest.MapFS) for tests and benchmarks of the loader, the graph and the
// LLB conversion.
package projecttest

import (
	"crypto/sha256"
	"crypto/sha512"
	"encoding/hex"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing/fstest"

	"github.com/hadron-linux/hadron/internal/recipe"
)

// Spec describes one generated recipe.
type Spec struct {
	Name    string
	Version string // "1.0" when empty
	Build   []string
	Runtime []string
	Arches  []recipe.Arch
	Style   recipe.Style // make when empty
}

// URL is the source URL a generated recipe uses (after expansion).
func (s Spec) URL() string {
	return fmt.Sprintf("https://example.org/src/%s-%s.tar.gz", s.Name, s.version())
}

func (s Spec) version() string {
	if s.Version == "" {
		return "1.0"
	}
	return s.Version
}

func list(xs []string) string {
	return "[" + strings.Join(xs, ", ") + "]"
}

// RecipeYAML renders the recipe file of s.
func (s Spec) RecipeYAML() []byte {
	style := s.Style
	if style == "" {
		style = recipe.StyleMake
	}
	var b strings.Builder
	fmt.Fprintf(&b, "name: %s\nversion: %q\ndescription: generated recipe %s\nlicense: MIT\n", s.Name, s.version(), s.Name)
	b.WriteString("sources:\n  - url: https://example.org/src/${name}-${version}.tar.gz\n")
	if len(s.Build)+len(s.Runtime) > 0 {
		b.WriteString("dependencies:\n")
		if len(s.Build) > 0 {
			fmt.Fprintf(&b, "  build: %s\n", list(s.Build))
		}
		if len(s.Runtime) > 0 {
			fmt.Fprintf(&b, "  runtime: %s\n", list(s.Runtime))
		}
	}
	fmt.Fprintf(&b, "build:\n  style: %s\n", style)
	if style == recipe.StyleCustom {
		b.WriteString("  install: mkdir -p /out/usr\n")
	}
	if len(s.Arches) > 0 {
		fmt.Fprintf(&b, "arches: %s\n", list(recipe.Strings(s.Arches)))
	}
	return []byte(b.String())
}

// LockYAML renders a lock file pinning s's source with digests derived from
// its URL (stable, well-formed, not the digest of any real file).
func (s Spec) LockYAML() []byte {
	u := s.URL()
	h1 := sha256.Sum256([]byte(u))
	h2 := sha512.Sum512([]byte(u))
	return fmt.Appendf(nil, "recipe: %s\nversion: %q\nsources:\n  - url: %s\n    sha256: %s\n    sha512: %s\n    size: %d\n",
		s.Name, s.version(), u, hex.EncodeToString(h1[:]), hex.EncodeToString(h2[:]), 1000+len(u))
}

// Add puts s's recipe (under recipes/) and its lock into fsys.
func Add(fsys fstest.MapFS, s Spec) {
	fsys["recipes/"+s.Name+"/recipe.yaml"] = &fstest.MapFile{Data: s.RecipeYAML()}
	fsys["vendor-hashes/"+s.Name+".lock"] = &fstest.MapFile{Data: s.LockYAML()}
}

// Image puts images/<name>.yaml into fsys.
func Image(fsys fstest.MapFS, name string, packages ...string) {
	fsys["images/"+name+".yaml"] = &fstest.MapFile{Data: fmt.Appendf(nil,
		"# syntax=ghcr.io/hadron-linux/frontend:v1\nname: %s\ndescription: test image\npackages: %s\n", name, list(packages))}
}

// Tree builds a tree from specs.
func Tree(specs ...Spec) fstest.MapFS {
	fsys := fstest.MapFS{}
	for _, s := range specs {
		Add(fsys, s)
	}
	return fsys
}

// Random builds a valid tree of n recipes whose dependencies form a random
// DAG (each recipe depends only on lower-numbered ones, up to 4 build and 3
// runtime dependencies), plus one image holding the last ten recipes. The
// same seed gives the same tree.
func Random(n int, seed uint64) fstest.MapFS {
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	fsys := fstest.MapFS{}
	name := func(i int) string { return fmt.Sprintf("pkg%04d", i) }
	var last []string
	for i := 0; i < n; i++ {
		s := Spec{Name: name(i), Version: fmt.Sprintf("%d.%d.%d", 1+rng.IntN(9), rng.IntN(20), rng.IntN(10))}
		if i > 0 {
			used := map[int]bool{}
			for k := rng.IntN(5); k > 0; k-- {
				if d := rng.IntN(i); !used[d] {
					used[d] = true
					s.Build = append(s.Build, name(d))
				}
			}
			for k := rng.IntN(4); k > 0; k-- {
				if d := rng.IntN(i); !used[d] {
					used[d] = true
					s.Runtime = append(s.Runtime, name(d))
				}
			}
		}
		Add(fsys, s)
		if i >= n-10 {
			last = append(last, s.Name)
		}
	}
	Image(fsys, "random", last...)
	return fsys
}
