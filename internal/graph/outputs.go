package graph

import (
	"cmp"
	"slices"
	"strings"

	"github.com/hadron-linux/hadron/internal/recipe"
)

// RuntimeOutputs returns the outputs that an image holding refs (recipe
// references, see recipe.Ref) holds: each reference's output and,
// transitively, the outputs that the runtime dependencies of their
// recipes name. A recipe stands for its main output only, so an image
// holds no headers, manuals or other build-only files. Dependencies come
// first (see sortRefs); references to recipes not in the graph are
// skipped.
func (g *Graph) RuntimeOutputs(refs ...string) []recipe.Ref {
	return g.outputClosure(refs, func(out []recipe.Ref, _ *recipe.Recipe, ref recipe.Ref) []recipe.Ref {
		return append(out, ref)
	})
}

// BuildEnvOutputs returns the outputs in the build environment of recipe
// name: those its build dependencies name and those the runtime
// dependencies of their recipes name, transitively. There a recipe, or
// its dev output, stands for its main and dev outputs (headers, static
// libraries and pkg-config files are what a build needs); another
// output reference for that output. A host recipe (the toolchain) is
// one main output: it is mounted whole. Dependencies come first.
func (g *Graph) BuildEnvOutputs(name string) []recipe.Ref {
	r := g.Recipe(name)
	if r == nil {
		return nil
	}
	return g.outputClosure(buildDeps(r), func(out []recipe.Ref, dep *recipe.Recipe, ref recipe.Ref) []recipe.Ref {
		switch {
		case dep.Host:
			return append(out, recipe.Ref{Recipe: ref.Recipe})
		case ref.Main() || ref.Output == recipe.OutputDev:
			return append(out, recipe.Ref{Recipe: ref.Recipe}, recipe.Ref{Recipe: ref.Recipe, Output: recipe.OutputDev})
		}
		return append(out, ref)
	})
}

// ExtensionOutputs returns the outputs a system extension holding
// packages adds to a base image holding basePackages: the runtime outputs
// of packages (see RuntimeOutputs) that the base does not hold, in the
// same order. An extension never carries a file of its base:
// systemd-sysext would lay it over the base's own.
func (g *Graph) ExtensionOutputs(packages, basePackages []string) []recipe.Ref {
	inBase := map[recipe.Ref]bool{}
	for _, r := range g.RuntimeOutputs(basePackages...) {
		inBase[r] = true
	}
	var out []recipe.Ref
	for _, r := range g.RuntimeOutputs(packages...) {
		if !inBase[r] {
			out = append(out, r)
		}
	}
	return out
}

// outputClosure collects, with expand (which appends to its first
// argument), the outputs of refs and, transitively, of the runtime
// dependencies of every recipe they reach; each output once, sorted (see
// sortRefs). It runs once per recipe while planning, so it keeps to
// slices: a map per call was a tenth of the conversion's allocations.
func (g *Graph) outputClosure(refs []string, expand func([]recipe.Ref, *recipe.Recipe, recipe.Ref) []recipe.Ref) []recipe.Ref {
	pos := g.index()
	followed := make([]bool, len(g.Order))
	var out []recipe.Ref
	stack := append([]string(nil), refs...)
	for len(stack) > 0 {
		ref := recipe.ParseRef(stack[len(stack)-1])
		stack = stack[:len(stack)-1]
		i, ok := pos[ref.Recipe]
		if !ok {
			continue
		}
		r := g.Order[i]
		out = expand(out, r, ref)
		if !followed[i] {
			followed[i] = true
			stack = append(stack, r.Dependencies.Runtime...)
		}
	}
	g.sortRefs(out)
	return slices.Compact(out)
}

// sortRefs sorts refs by their recipe's position in Order (dependencies
// first), then a recipe's main output before its others, those by name.
func (g *Graph) sortRefs(refs []recipe.Ref) {
	pos := g.index()
	type keyed struct {
		pos int
		ref recipe.Ref
	}
	ks := make([]keyed, len(refs))
	for i, r := range refs {
		ks[i] = keyed{pos[r.Recipe], r}
	}
	slices.SortFunc(ks, func(a, b keyed) int {
		if c := cmp.Compare(a.pos, b.pos); c != 0 {
			return c
		}
		return strings.Compare(a.ref.Output, b.ref.Output) // "" (main) first
	})
	for i, k := range ks {
		refs[i] = k.ref
	}
}

// Recipes returns the recipes of refs, each once, in the order of refs.
func Recipes(refs []recipe.Ref) []string {
	var out []string
	seen := map[string]bool{}
	for _, r := range refs {
		if !seen[r.Recipe] {
			seen[r.Recipe] = true
			out = append(out, r.Recipe)
		}
	}
	return out
}
