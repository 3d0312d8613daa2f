// Package graph resolves the recipe dependency graph of a project tree for
// one target architecture: the closure of some roots, a build order with
// dependencies first, build environments and rebuild sets.
//
// Two kinds of edges exist. A build edge a -> b means b (with its runtime
// closure) must be installed in a's build environment, so b must be built
// before a. A runtime edge a -> b means b is installed next to a in an
// image. Cycles made only of runtime edges are allowed (packages that need
// each other at run time); any cycle containing a build edge is an error,
// because some package would need itself to be built first.
package graph

import (
	"fmt"
	"sort"
	"strings"
	"sync"

	"github.com/hadron-linux/hadron/internal/project"
	"github.com/hadron-linux/hadron/internal/recipe"
)

// Graph is the resolved closure of some roots for one architecture.
type Graph struct {
	// Arch is the architecture the closure was resolved for.
	Arch recipe.Arch
	// Order holds every recipe of the closure, dependencies before
	// dependents (for runtime-only cycles, members are ordered by name).
	Order []*recipe.Recipe

	once sync.Once
	pos  map[string]int // name -> index in Order, built once
}

// index returns the position of every recipe in Order. It is safe for
// concurrent use; Order must not change after the first call.
func (g *Graph) index() map[string]int {
	g.once.Do(func() {
		g.pos = make(map[string]int, len(g.Order))
		for i, r := range g.Order {
			g.pos[r.Name] = i
		}
	})
	return g.pos
}

// Recipe returns the recipe called name in the graph, or nil.
func (g *Graph) Recipe(name string) *recipe.Recipe {
	if i, ok := g.index()[name]; ok {
		return g.Order[i]
	}
	return nil
}

// Names returns the names of Order.
func (g *Graph) Names() []string {
	out := make([]string, len(g.Order))
	for i, r := range g.Order {
		out[i] = r.Name
	}
	return out
}

// edge is one dependency edge.
type edge struct {
	to    string
	build bool
}

// ResolveError is a problem found while resolving; Path, when set, is the
// offending dependency chain.
type ResolveError struct {
	Msg  string
	Path []string
}

// Error returns the message.
func (e *ResolveError) Error() string { return e.Msg }

// Resolve computes the closure of roots (recipe names) over build and runtime
// dependencies for arch. With no roots it takes every recipe that supports
// arch. It fails on an unknown recipe, on a recipe that does not support arch
// (naming who needs it), and on a cycle through a build dependency (showing
// the path, e.g. "a -> b -> a").
func Resolve(t *project.Tree, arch recipe.Arch, roots []string) (*Graph, error) {
	if len(roots) == 0 {
		for _, n := range t.Names() {
			if t.Recipes[n].SupportsArch(arch) {
				roots = append(roots, n)
			}
		}
	}
	// Breadth-first closure, remembering who pulled each recipe in.
	via := map[string]string{}
	var names []string
	queue := append([]string(nil), roots...)
	for _, n := range roots {
		via[n] = ""
	}
	seen := map[string]bool{}
	var problems []string
	for len(queue) > 0 {
		n := queue[0]
		queue = queue[1:]
		if seen[n] {
			continue
		}
		seen[n] = true
		r, ok := t.Recipes[n]
		if !ok {
			problems = append(problems, fmt.Sprintf("unknown recipe %q%s", n, neededBy(via, n)))
			continue
		}
		if !r.SupportsArch(arch) {
			problems = append(problems, fmt.Sprintf("%s:%d: recipe %s does not support %s (arches: %s)%s",
				r.File, r.LineOf("arches"), n, arch, archList(r.Arches), neededBy(via, n)))
			continue
		}
		names = append(names, n)
		for _, d := range deps(r) {
			if _, known := via[d.to]; !known {
				kind := "runtime"
				if d.build {
					kind = "build"
				}
				via[d.to] = n + " (" + kind + " dependency)"
			}
			queue = append(queue, d.to)
		}
	}
	if len(problems) > 0 {
		sort.Strings(problems)
		return nil, &ResolveError{Msg: strings.Join(problems, "\n")}
	}
	sort.Strings(names)
	order, err := order(t, names)
	if err != nil {
		return nil, err
	}
	g := &Graph{Arch: arch, Order: make([]*recipe.Recipe, len(order))}
	for i, n := range order {
		g.Order[i] = t.Recipes[n]
	}
	return g, nil
}

// neededBy describes the chain that pulled n into the closure.
func neededBy(via map[string]string, n string) string {
	var chain []string
	for cur := n; via[cur] != "" && len(chain) < 50; {
		chain = append(chain, via[cur])
		cur = strings.SplitN(via[cur], " ", 2)[0]
	}
	if len(chain) == 0 {
		return " (requested directly)"
	}
	return ", needed by " + strings.Join(chain, ", needed by ")
}

func archList(a []recipe.Arch) string {
	return strings.Join(recipe.Strings(a), ", ")
}

// buildDeps returns r's build dependencies: its toolchain, then the ones
// its recipe names.
func buildDeps(r *recipe.Recipe) []string {
	if len(r.Dependencies.Toolchain) == 0 {
		return r.Dependencies.Build
	}
	return append(append(make([]string, 0, len(r.Dependencies.Toolchain)+len(r.Dependencies.Build)),
		r.Dependencies.Toolchain...), r.Dependencies.Build...)
}

// deps lists r's edges, build edges first, each target recipe once (a
// build edge wins over a runtime edge to the same recipe). Edges go to
// recipes: "zlib:dev" is an edge to zlib.
func deps(r *recipe.Recipe) []edge {
	out := make([]edge, 0, len(r.Dependencies.Toolchain)+len(r.Dependencies.Build)+len(r.Dependencies.Runtime))
	seen := map[string]bool{}
	for _, d := range buildDeps(r) {
		if d = recipe.RefName(d); !seen[d] {
			seen[d] = true
			out = append(out, edge{to: d, build: true})
		}
	}
	for _, d := range r.Dependencies.Runtime {
		if d = recipe.RefName(d); !seen[d] {
			seen[d] = true
			out = append(out, edge{to: d})
		}
	}
	return out
}
