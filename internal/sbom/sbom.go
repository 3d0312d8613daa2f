// Package sbom describes what a Hadron build is made of, as a software
// bill of materials, from the recipe graph alone: no BuildKit, no scan of
// the built files. For each recipe of the resolved graph it records the
// name, version, SPDX license expression and homepage, every source with
// its pinned digests (and, where a declared substitute stood in, the
// substitute, its files and origin), the patches with their digests, and
// the runtime, build and toolchain edges. New walks the graph once into a
// Document; Document.SPDX and Document.CycloneDX encode it.
//
// Output is deterministic: everything is sorted, the creation time is the
// build's SOURCE_DATE_EPOCH and the document's identity (SPDX namespace,
// CycloneDX serial number) is derived from its content, so two runs over
// the same tree and options give the same bytes.
package sbom

import (
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"sort"
	"time"

	"github.com/hadron-linux/hadron/internal/graph"
	"github.com/hadron-linux/hadron/internal/project"
	"github.com/hadron-linux/hadron/internal/recipe"
	"github.com/hadron-linux/hadron/internal/substitute"
)

// Tool is how documents name their creator.
const Tool = "hadron"

// Artifact is what a document describes: an image's root filesystem, its
// boot artifacts or one package.
type Artifact struct {
	// Name is the target as a user writes it ("mini", "mini/boot", "xz",
	// "linux@qemu-amd64").
	Name string
	// Kind says what the artifact is: KindImage and KindBoot hold
	// Contains; KindPackage is the single recipe Package.
	Kind Kind
	// Package is the recipe of a KindPackage artifact.
	Package string
	// Contains are the recipes whose package layers the artifact holds,
	// in any order (an image's runtime closure).
	Contains []string
	// Comment is said about the artifact (e.g. the kernel board).
	Comment string
}

// Kind is what an artifact is.
type Kind string

// The kinds of artifact.
const (
	// KindImage is an image's root filesystem (an OCI image).
	KindImage Kind = "image"
	// KindBoot is an image's boot artifacts.
	KindBoot Kind = "boot"
	// KindPackage is one recipe's package.
	KindPackage Kind = "package"
)

// VCS is the recipe tree's version control state, when it has one.
type VCS struct {
	// Source is the repository (a remote URL or a path).
	Source string
	// Revision is the commit; "-dirty" is appended when the working tree
	// had changes.
	Revision string
}

// Input is everything New needs.
type Input struct {
	// Tree is the loaded project tree; its FS serves the recipes' patches.
	Tree *project.Tree
	// Graph is the resolved graph of the artifact's recipes for Arch.
	Graph *graph.Graph
	// Artifact is what the document describes.
	Artifact Artifact
	// Platform is the OCI platform the build is for ("linux/amd64").
	Platform string
	// Substitutes are the substitutes the build selected, by the upstream
	// URL they stand for (substitute.Select).
	Substitutes map[string]*substitute.Substitute
	// Epoch is the build's SOURCE_DATE_EPOCH: the document's creation time.
	Epoch int64
	// VCS is the tree's version control state (empty when unknown).
	VCS VCS
}

// Document is the bill of materials of one artifact, sorted.
type Document struct {
	// Artifact is what the document describes.
	Artifact Artifact
	// Platform is the OCI platform of the build.
	Platform string
	// Created is the document's creation time (SOURCE_DATE_EPOCH).
	Created time.Time
	// VCS is the recipe tree's version control state, if known.
	VCS VCS
	// Packages are every recipe of the graph, sorted by name.
	Packages []*Package
	// Substitutes are the substitutes the packages' sources came from,
	// sorted by name.
	Substitutes []*Substitute
}

// Package is one recipe as built.
type Package struct {
	Name, Version, License, Homepage, Description string
	// Host marks a recipe of the cross toolchain: a build tool for every
	// recipe that is not one itself, never installed.
	Host bool
	// Installed reports whether the artifact holds the package.
	Installed bool
	// Sources are the recipe's sources in recipe order.
	Sources []Source
	// Patches are the recipe's own patches in the order applied.
	Patches []Patch
	// Runtime, Build and Toolchain are its direct dependencies by kind,
	// sorted: runtime, build (as the recipe names them) and the host
	// recipes it is built with.
	Runtime, Build, Toolchain []string
}

// Source is one upstream source of a recipe, as pinned in its lock.
type Source struct {
	// URL is the expanded upstream URL (a git remote for git sources).
	URL string
	// Commit pins a git source; empty for archives.
	Commit string
	// SHA256, SHA512 and Size pin an archive.
	SHA256, SHA512 string
	Size           int64
	// Substitute, when set, is the declared substitute the build fetched
	// instead of URL.
	Substitute *Substitute
}

// Substitute is a declared substitute a build used.
type Substitute struct {
	// Name, Upstream, Origin and Differs are the declaration's.
	Name, Upstream, Origin, Differs string
	// Declared is the declaration's file in the tree.
	Declared string
	// TreeFile is the base name of the file holding the source tree.
	TreeFile string
	// Files are its pinned downloads, in declaration order.
	Files []File
	// Patches are the patches it applies, in order.
	Patches []Patch
}

// File is one pinned download of a substitute.
type File struct {
	URL, SHA256, SHA512 string
	Size                int64
}

// Patch is one patch and its digests.
type Patch struct {
	// Name is the patch's path in the tree ("recipes/xz/patches/a.patch"),
	// or "<carrier>/<path>" for one taken out of a substitute's file.
	Name string
	// SHA256 is always known; SHA1 only for patches kept in the tree.
	SHA256, SHA1 string
	// Why says what a substitute's patch is for (recipes say it in the
	// patch itself).
	Why string
}

// New walks in.Graph and describes in.Artifact. It reads the recipes'
// patches from in.Tree.FS for their digests.
func New(in Input) (*Document, error) {
	if in.Tree == nil || in.Graph == nil {
		return nil, fmt.Errorf("sbom: no tree or graph")
	}
	d := &Document{
		Artifact: in.Artifact,
		Platform: in.Platform,
		Created:  time.Unix(in.Epoch, 0).UTC(),
		VCS:      in.VCS,
	}
	d.Artifact.Contains = slices.Clone(in.Artifact.Contains)
	sort.Strings(d.Artifact.Contains)
	installed := map[string]bool{}
	if in.Artifact.Kind == KindPackage {
		if in.Graph.Recipe(in.Artifact.Package) == nil {
			return nil, fmt.Errorf("sbom: package %s is not in the graph", in.Artifact.Package)
		}
		for _, n := range in.Graph.RuntimeClosure(in.Artifact.Package) {
			installed[n] = true
		}
	}
	for _, n := range d.Artifact.Contains {
		if in.Graph.Recipe(n) == nil {
			return nil, fmt.Errorf("sbom: %s holds %s, which is not in the graph", in.Artifact.Name, n)
		}
		installed[n] = true
	}
	subs := map[string]*Substitute{}
	for _, r := range in.Graph.Order {
		p, err := newPackage(in, r, subs)
		if err != nil {
			return nil, err
		}
		p.Installed = installed[r.Name]
		d.Packages = append(d.Packages, p)
	}
	sort.Slice(d.Packages, func(i, j int) bool { return d.Packages[i].Name < d.Packages[j].Name })
	for _, s := range subs {
		d.Substitutes = append(d.Substitutes, s)
	}
	sort.Slice(d.Substitutes, func(i, j int) bool { return d.Substitutes[i].Name < d.Substitutes[j].Name })
	return d, nil
}

// newPackage describes recipe r; subs collects the substitutes used, by
// name, so that one used by several recipes is described once.
func newPackage(in Input, r *recipe.Recipe, subs map[string]*Substitute) (*Package, error) {
	p := &Package{
		Name:        r.Name,
		Version:     r.Version,
		License:     r.License,
		Homepage:    r.Homepage,
		Description: r.Description,
		Host:        r.Host,
		Runtime:     sorted(r.Dependencies.Runtime),
		Build:       sorted(r.Dependencies.Build),
		Toolchain:   sorted(r.Dependencies.Toolchain),
	}
	lock := in.Tree.Locks[r.Name]
	for i, s := range r.Sources {
		url := r.SourceURL(i)
		src := Source{URL: url, Commit: s.Commit}
		if pin, ok := lock.Find(url); ok && s.Git == "" {
			src.SHA256, src.SHA512, src.Size = pin.SHA256, pin.SHA512, pin.Size
		}
		if sub, ok := in.Substitutes[url]; ok && s.Git == "" && sub.StandsFor(r.Name) {
			if subs[sub.Name] == nil {
				subs[sub.Name] = newSubstitute(sub)
			}
			src.Substitute = subs[sub.Name]
		}
		p.Sources = append(p.Sources, src)
	}
	for _, name := range r.Patches {
		file := path.Join(r.Dir, name)
		data, err := fs.ReadFile(in.Tree.FS, file)
		if err != nil {
			return nil, fmt.Errorf("sbom: recipe %s: patch %s: %w", r.Name, file, err)
		}
		s256 := sha256.Sum256(data)
		// SPDX 2.3 wants a SHA1 of every file (as an identifier, not for
		// security); SHA256 is the digest that counts.
		s1 := sha1.Sum(data)
		p.Patches = append(p.Patches, Patch{Name: file, SHA256: hex.EncodeToString(s256[:]), SHA1: hex.EncodeToString(s1[:])})
	}
	return p, nil
}

// newSubstitute describes a declared substitute. Its patches kept in the
// tree were checked against their digests when the tree was loaded.
func newSubstitute(s *substitute.Substitute) *Substitute {
	out := &Substitute{
		Name:     s.Name,
		Upstream: s.Upstream,
		Origin:   s.Origin,
		Differs:  s.Differs,
		Declared: s.File,
		TreeFile: s.TreeFile(),
	}
	for _, f := range s.Files {
		out.Files = append(out.Files, File{URL: f.URL, SHA256: f.SHA256, SHA512: f.SHA512, Size: f.Size})
	}
	for _, p := range s.Patches {
		name := p.File
		if name == "" {
			name = p.From + "/" + p.Path
		}
		out.Patches = append(out.Patches, Patch{Name: name, SHA256: p.SHA256, Why: p.Why})
	}
	return out
}

func sorted(xs []string) []string {
	if len(xs) == 0 {
		return nil
	}
	out := slices.Clone(xs)
	sort.Strings(out)
	return slices.Compact(out)
}

// Package returns the package called name, or nil.
func (d *Document) Package(name string) *Package {
	i, ok := slices.BinarySearchFunc(d.Packages, name, func(p *Package, n string) int {
		switch {
		case p.Name < n:
			return -1
		case p.Name > n:
			return 1
		}
		return 0
	})
	if !ok {
		return nil
	}
	return d.Packages[i]
}

// PURL is the package URL of a recipe's package: pkg:generic, as Hadron
// is no package ecosystem of its own that purl knows.
func (p *Package) PURL() string {
	return "pkg:generic/" + purlEscape(p.Name) + "@" + purlEscape(p.Version)
}

// purlEscape percent-encodes what purl does not allow in a name or
// version segment.
func purlEscape(s string) string {
	var b []byte
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '.', c == '-', c == '_', c == '~':
			b = append(b, c)
		default:
			b = append(b, fmt.Sprintf("%%%02X", c)...)
		}
	}
	return string(b)
}
