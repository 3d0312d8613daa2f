package graph

import (
	"container/heap"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/hadron-linux/hadron/internal/project"
	"github.com/hadron-linux/hadron/internal/recipe"
)

// order sorts names (sorted, closed under dependencies) with dependencies
// first. It finds strongly connected components (Tarjan); a component with a
// build edge inside is a build cycle. Components are then emitted in
// topological order, breaking ties by name so the result is deterministic.
func order(t *project.Tree, names []string) ([]string, error) {
	idx := make(map[string]int, len(names))
	for i, n := range names {
		idx[n] = i
	}
	adj := make([][]edge, len(names))
	for i, n := range names {
		adj[i] = deps(t.Recipes[n])
		sort.Slice(adj[i], func(a, b int) bool { return adj[i][a].to < adj[i][b].to })
	}
	comp := tarjan(names, idx, adj)

	// Build cycles: a build edge inside one component.
	var cycles []string
	reported := map[int]bool{}
	for i, n := range names {
		for _, e := range adj[i] {
			j := idx[e.to]
			if e.build && comp[i] == comp[j] && !reported[comp[i]] {
				reported[comp[i]] = true
				r := t.Recipes[n]
				line := r.LineOf(fmt.Sprintf("dependencies.build[%d]", slices.IndexFunc(r.Dependencies.Build, func(d string) bool { return recipe.RefName(d) == e.to })))
				cycles = append(cycles, fmt.Sprintf("%s:%d: build dependency cycle: %s", r.File, line, cyclePath(idx, adj, comp, n, e.to)))
			}
		}
	}
	if len(cycles) > 0 {
		return nil, &ResolveError{Msg: strings.Join(cycles, "\n")}
	}

	// Condensation: component -> components it depends on.
	nc := 0
	for _, c := range comp {
		nc = max(nc, c+1)
	}
	members := make([][]string, nc)
	for i, n := range names {
		members[comp[i]] = append(members[comp[i]], n) // names are sorted
	}
	pending := make([]int, nc)      // unresolved dependency components
	dependents := make([][]int, nc) // component -> components waiting on it
	// Component edges are counted once. Between two single recipes an
	// edge is unique already (deps drops repeats); only components of
	// several recipes (runtime cycles) can repeat one, so only those go
	// through a set.
	type pair struct{ from, to int }
	counted := map[pair]bool{}
	for i := range names {
		for _, e := range adj[i] {
			a, b := comp[i], comp[idx[e.to]]
			if a == b {
				continue
			}
			if len(members[a]) > 1 || len(members[b]) > 1 {
				if counted[pair{a, b}] {
					continue
				}
				counted[pair{a, b}] = true
			}
			dependents[b] = append(dependents[b], a)
			pending[a]++
		}
	}
	h := &compHeap{first: members}
	for c := 0; c < nc; c++ {
		if pending[c] == 0 {
			heap.Push(h, c)
		}
	}
	out := make([]string, 0, len(names))
	for h.Len() > 0 {
		c := heap.Pop(h).(int)
		out = append(out, members[c]...)
		for _, d := range dependents[c] {
			if pending[d]--; pending[d] == 0 {
				heap.Push(h, d)
			}
		}
	}
	if len(out) != len(names) {
		return nil, fmt.Errorf("internal error: ordered %d of %d recipes", len(out), len(names))
	}
	return out, nil
}

// compHeap pops the component whose first member sorts first.
type compHeap struct {
	items []int
	first [][]string
}

func (h *compHeap) Len() int           { return len(h.items) }
func (h *compHeap) Less(a, b int) bool { return h.first[h.items[a]][0] < h.first[h.items[b]][0] }
func (h *compHeap) Swap(a, b int)      { h.items[a], h.items[b] = h.items[b], h.items[a] }
func (h *compHeap) Push(x any)         { h.items = append(h.items, x.(int)) }
func (h *compHeap) Pop() any {
	x := h.items[len(h.items)-1]
	h.items = h.items[:len(h.items)-1]
	return x
}

// tarjan returns the strongly connected component of every node. It is
// iterative so deep dependency chains cannot overflow the stack.
func tarjan(names []string, idx map[string]int, adj [][]edge) []int {
	n := len(names)
	index := make([]int, n)
	low := make([]int, n)
	onStack := make([]bool, n)
	comp := make([]int, n)
	for i := range index {
		index[i] = -1
	}
	var stack []int
	next, nc := 0, 0
	type frame struct{ v, e int }
	for s := 0; s < n; s++ {
		if index[s] >= 0 {
			continue
		}
		call := []frame{{v: s}}
		index[s], low[s] = next, next
		next++
		stack = append(stack, s)
		onStack[s] = true
		for len(call) > 0 {
			f := &call[len(call)-1]
			if f.e < len(adj[f.v]) {
				w := idx[adj[f.v][f.e].to]
				f.e++
				if index[w] < 0 {
					index[w], low[w] = next, next
					next++
					stack = append(stack, w)
					onStack[w] = true
					call = append(call, frame{v: w})
				} else if onStack[w] {
					low[f.v] = min(low[f.v], index[w])
				}
				continue
			}
			v := f.v
			call = call[:len(call)-1]
			if len(call) > 0 {
				p := call[len(call)-1].v
				low[p] = min(low[p], low[v])
			}
			if low[v] == index[v] {
				for {
					w := stack[len(stack)-1]
					stack = stack[:len(stack)-1]
					onStack[w] = false
					comp[w] = nc
					if w == v {
						break
					}
				}
				nc++
			}
		}
	}
	return comp
}

// cyclePath shows a shortest cycle through the build edge from -> to,
// staying inside their component: "from -> to -> ... -> from". Runtime edges
// are written "-(runtime)->" so the reader sees why the cycle matters.
func cyclePath(idx map[string]int, adj [][]edge, comp []int, from, to string) string {
	c := comp[idx[from]]
	type step struct {
		prev  string
		build bool
	}
	prev := map[string]step{to: {}}
	queue := []string{to}
	for len(queue) > 0 && queue[0] != from {
		n := queue[0]
		queue = queue[1:]
		for _, e := range adj[idx[n]] {
			if comp[idx[e.to]] != c {
				continue
			}
			if _, ok := prev[e.to]; !ok {
				prev[e.to] = step{prev: n, build: e.build}
				queue = append(queue, e.to)
			}
		}
	}
	// Walk back from `from` to `to`, collecting "arrow node" pieces.
	var rev []string
	for n := from; n != to; n = prev[n].prev {
		arrow := " -> "
		if !prev[n].build {
			arrow = " -(runtime)-> "
		}
		rev = append(rev, arrow+n)
	}
	var b strings.Builder
	b.WriteString(from + " -> " + to)
	for i := len(rev) - 1; i >= 0; i-- {
		b.WriteString(rev[i])
	}
	return b.String()
}
