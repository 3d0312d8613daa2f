package graph

import (
	"sort"

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
	return g.outputClosure(refs, func(_ *recipe.Recipe, ref recipe.Ref) []recipe.Ref {
		return []recipe.Ref{ref}
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
	return g.outputClosure(buildDeps(r), func(dep *recipe.Recipe, ref recipe.Ref) []recipe.Ref {
		switch {
		case dep.Host:
			return []recipe.Ref{{Recipe: ref.Recipe}}
		case ref.Main() || ref.Output == recipe.OutputDev:
			return []recipe.Ref{{Recipe: ref.Recipe}, {Recipe: ref.Recipe, Output: recipe.OutputDev}}
		}
		return []recipe.Ref{ref}
	})
}

// outputClosure collects expand(ref) for refs and, transitively, for the
// runtime dependencies of every recipe they reach.
func (g *Graph) outputClosure(refs []string, expand func(*recipe.Recipe, recipe.Ref) []recipe.Ref) []recipe.Ref {
	set := map[recipe.Ref]bool{}
	followed := map[string]bool{}
	stack := append([]string(nil), refs...)
	for len(stack) > 0 {
		ref := recipe.ParseRef(stack[len(stack)-1])
		stack = stack[:len(stack)-1]
		r := g.Recipe(ref.Recipe)
		if r == nil {
			continue
		}
		for _, x := range expand(r, ref) {
			set[x] = true
		}
		if !followed[ref.Recipe] {
			followed[ref.Recipe] = true
			stack = append(stack, r.Dependencies.Runtime...)
		}
	}
	out := make([]recipe.Ref, 0, len(set))
	for x := range set {
		out = append(out, x)
	}
	g.sortRefs(out)
	return out
}

// sortRefs sorts refs by their recipe's position in Order (dependencies
// first), then a recipe's main output before its others, those by name.
func (g *Graph) sortRefs(refs []recipe.Ref) {
	pos := g.index()
	sort.Slice(refs, func(i, j int) bool {
		a, b := refs[i], refs[j]
		if a.Recipe != b.Recipe {
			return pos[a.Recipe] < pos[b.Recipe]
		}
		return a.Output < b.Output // "" (main) first
	})
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
