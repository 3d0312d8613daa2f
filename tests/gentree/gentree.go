// Package gentree generates synthetic package trees for planning
// benchmarks: N packages whose dependencies form a seeded random DAG,
// written both in Hadron's format (recipes/, vendor-hashes/, images/) and
// in bldr's format (a Pkgfile at the root, one pkg.yaml per package), with
// the same dependencies and comparable content (one pinned archive source,
// configure, build and install steps per package), so that the two tools
// can be timed side by side on the same shape.
package gentree

import (
	"crypto/sha256"
	"crypto/sha512"
	"encoding/hex"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing/fstest"

	"github.com/hadron-linux/hadron/internal/project/projecttest"
)

// AllTarget is the name of the target that needs every package: an image
// listing every package in Hadron's tree, a package depending on every
// package in bldr's.
const AllTarget = "all"

// Package is one generated package.
type Package struct {
	Name    string
	Version string
	// Build dependencies are needed to build the package; Runtime ones
	// are installed next to it.
	Build, Runtime []string
}

// URL is the package's (expanded) source URL.
func (p Package) URL() string {
	return fmt.Sprintf("https://example.org/src/%s-%s.tar.gz", p.Name, p.Version)
}

// Generate returns n packages whose dependencies form a random DAG: each
// package depends only on lower-numbered ones, with up to 4 build and 3
// runtime dependencies, never the same one twice. The same n and seed
// always give the same packages, in order.
func Generate(n int, seed uint64) []Package {
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	name := func(i int) string { return fmt.Sprintf("pkg%05d", i) }
	pkgs := make([]Package, 0, n)
	for i := range n {
		p := Package{Name: name(i), Version: fmt.Sprintf("%d.%d.%d", 1+rng.IntN(9), rng.IntN(20), rng.IntN(10))}
		if i > 0 {
			used := map[int]bool{}
			for k := rng.IntN(5); k > 0; k-- {
				if d := rng.IntN(i); !used[d] {
					used[d] = true
					p.Build = append(p.Build, name(d))
				}
			}
			for k := rng.IntN(4); k > 0; k-- {
				if d := rng.IntN(i); !used[d] {
					used[d] = true
					p.Runtime = append(p.Runtime, name(d))
				}
			}
		}
		pkgs = append(pkgs, p)
	}
	return pkgs
}

func (p Package) spec() projecttest.Spec {
	return projecttest.Spec{Name: p.Name, Version: p.Version, Build: p.Build, Runtime: p.Runtime}
}

// Hadron returns pkgs as a Hadron tree: recipes/<name>/recipe.yaml and
// vendor-hashes/<name>.lock for each, and images/all.yaml listing every
// package. Paths are slash separated and relative to the tree root.
func Hadron(pkgs []Package) fstest.MapFS {
	fsys := fstest.MapFS{}
	names := make([]string, 0, len(pkgs))
	for _, p := range pkgs {
		projecttest.Add(fsys, p.spec())
		names = append(names, p.Name)
	}
	projecttest.Image(fsys, AllTarget, names...)
	return fsys
}

// Pkgfile is the root file of a bldr tree.
const Pkgfile = "format: v1alpha2\n\nvars:\n  PREFIX: /usr\n  JOBS: \"4\"\n\nlabels:\n  org.opencontainers.image.source: https://example.org/gentree\n"

// Bldr returns pkgs as a bldr tree: a Pkgfile at the root and
// <name>/pkg.yaml for each package (the same source with its pinned
// digests; prepare (unpack + configure), build and install steps; build
// dependencies as stages, runtime ones as runtime stages), plus
// all/pkg.yaml depending on every package and finalizing their merge.
func Bldr(pkgs []Package) fstest.MapFS {
	fsys := fstest.MapFS{"Pkgfile": &fstest.MapFile{Data: []byte(Pkgfile)}}
	for _, p := range pkgs {
		fsys[p.Name+"/pkg.yaml"] = &fstest.MapFile{Data: p.bldrYAML()}
	}
	var b strings.Builder
	fmt.Fprintf(&b, "name: %s\nvariant: scratch\ndependencies:\n", AllTarget)
	for _, p := range pkgs {
		fmt.Fprintf(&b, "  - stage: %s\n", p.Name)
	}
	// bldr's output of a package is its finalize step: without one the
	// target would be empty and convert to no LLB at all.
	b.WriteString("finalize:\n  - from: /\n    to: /\n")
	fsys[AllTarget+"/pkg.yaml"] = &fstest.MapFile{Data: []byte(b.String())}
	return fsys
}

// bldrYAML renders p's pkg.yaml. The digests are those of Hadron's lock
// file for the same source (derived from the URL, not of a real file).
func (p Package) bldrYAML() []byte {
	u := p.URL()
	h1 := sha256.Sum256([]byte(u))
	h2 := sha512.Sum512([]byte(u))
	var b strings.Builder
	fmt.Fprintf(&b, "name: %s\nvariant: scratch\nshell: /bin/sh\n", p.Name)
	if len(p.Build)+len(p.Runtime) > 0 {
		b.WriteString("dependencies:\n")
		for _, d := range p.Build {
			fmt.Fprintf(&b, "  - stage: %s\n", d)
		}
		for _, d := range p.Runtime {
			fmt.Fprintf(&b, "  - stage: %s\n    runtime: true\n", d)
		}
	}
	fmt.Fprintf(&b, "steps:\n  - sources:\n      - url: %s\n        destination: %s.tar.gz\n        sha256: %s\n        sha512: %s\n",
		u, p.Name, hex.EncodeToString(h1[:]), hex.EncodeToString(h2[:]))
	fmt.Fprintf(&b, "    prepare:\n      - |\n        tar -xzf %s.tar.gz --strip-components=1\n        ./configure --prefix={{ .PREFIX }}\n", p.Name)
	b.WriteString("    build:\n      - |\n        make -j{{ .JOBS }}\n")
	b.WriteString("    install:\n      - |\n        make install DESTDIR=/rootfs\n")
	b.WriteString("finalize:\n  - from: /rootfs\n    to: /\n")
	return []byte(b.String())
}

// Write stores fsys under dir (an OS path), creating folders as needed.
func Write(dir string, fsys fstest.MapFS) error {
	for name, f := range fsys {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return fmt.Errorf("write tree: %w", err)
		}
		if err := os.WriteFile(p, f.Data, 0o644); err != nil {
			return fmt.Errorf("write tree: %w", err)
		}
	}
	return nil
}
