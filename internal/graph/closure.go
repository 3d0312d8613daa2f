package graph

import (
	"sort"

	"github.com/hadron-linux/hadron/internal/project"
	"github.com/hadron-linux/hadron/internal/recipe"
)

// sortByOrder sorts names by their position in g.Order (dependencies first).
func (g *Graph) sortByOrder(set map[string]bool) []string {
	pos := g.index()
	out := make([]string, 0, len(set))
	for n := range set {
		out = append(out, n)
	}
	sort.Slice(out, func(i, j int) bool { return pos[out[i]] < pos[out[j]] })
	return out
}

// runtimeClosure adds names and their runtime dependencies, transitively, to
// set. Names not in the graph are skipped.
func (g *Graph) runtimeClosure(set map[string]bool, names ...string) {
	stack := append([]string(nil), names...)
	for len(stack) > 0 {
		n := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		r := g.Recipe(n)
		if r == nil || set[n] {
			continue
		}
		set[n] = true
		for _, d := range r.Dependencies.Runtime {
			stack = append(stack, recipe.RefName(d))
		}
	}
}

// BuildEnv returns what must be installed to build name: its build
// dependencies (its toolchain included) and their runtime closure,
// dependencies first. It is empty for a recipe with no build dependencies
// or not in the graph.
func (g *Graph) BuildEnv(name string) []string {
	r := g.Recipe(name)
	if r == nil {
		return nil
	}
	set := map[string]bool{}
	for _, d := range buildDeps(r) {
		g.runtimeClosure(set, recipe.RefName(d))
	}
	return g.sortByOrder(set)
}

// RuntimeClosure returns names and everything they need at run time,
// transitively, dependencies first. Names not in the graph are ignored.
func (g *Graph) RuntimeClosure(names ...string) []string {
	set := map[string]bool{}
	g.runtimeClosure(set, names...)
	return g.sortByOrder(set)
}

// ReverseDeps returns what must be rebuilt when the changed recipes change:
// the changed recipes themselves and every recipe whose build environment
// contains one of them (directly or through runtime dependencies of a build
// dependency), transitively; and the images whose packages' runtime closure
// contains any of those recipes. Both lists are sorted by name. It works on
// the whole tree, for every architecture.
func ReverseDeps(t *project.Tree, changed []string) (recipes []string, images []string) {
	// Reverse edges.
	buildRev := map[string][]string{}   // b -> recipes with a build edge to b
	runtimeRev := map[string][]string{} // b -> recipes with a runtime edge to b
	for _, n := range t.Names() {
		r := t.Recipes[n]
		for _, d := range buildDeps(r) {
			d = recipe.RefName(d)
			buildRev[d] = append(buildRev[d], n)
		}
		for _, d := range r.Dependencies.Runtime {
			d = recipe.RefName(d)
			runtimeRev[d] = append(runtimeRev[d], n)
		}
	}
	// users(x): recipes whose runtime closure contains x (x included).
	users := func(x string) []string {
		seen := map[string]bool{x: true}
		stack := []string{x}
		var out []string
		for len(stack) > 0 {
			n := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			out = append(out, n)
			for _, p := range runtimeRev[n] {
				if !seen[p] {
					seen[p] = true
					stack = append(stack, p)
				}
			}
		}
		return out
	}
	rebuild := map[string]bool{}
	var stack []string
	for _, c := range changed {
		if _, ok := t.Recipes[c]; ok && !rebuild[c] {
			rebuild[c] = true
			stack = append(stack, c)
		}
	}
	for len(stack) > 0 {
		x := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		// Anything that has x in its runtime closure and is a build
		// dependency of y puts x into y's build environment.
		for _, u := range users(x) {
			for _, y := range buildRev[u] {
				if !rebuild[y] {
					rebuild[y] = true
					stack = append(stack, y)
				}
			}
		}
	}
	// Images: any package whose runtime closure holds a rebuilt recipe.
	affected := map[string]bool{}
	for x := range rebuild {
		for _, u := range users(x) {
			affected[u] = true
		}
	}
	for name, img := range t.Images {
		for _, p := range img.Packages {
			if affected[p] {
				images = append(images, name)
				break
			}
		}
	}
	for n := range rebuild {
		recipes = append(recipes, n)
	}
	sort.Strings(recipes)
	sort.Strings(images)
	return recipes, images
}
