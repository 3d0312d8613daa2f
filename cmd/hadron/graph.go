package main

import (
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"

	targetpkg "github.com/hadron-linux/hadron/buildkit-frontends/target"
	"github.com/hadron-linux/hadron/internal/dirfs"
	"github.com/hadron-linux/hadron/internal/graph"
	"github.com/hadron-linux/hadron/internal/imagedef"
	"github.com/hadron-linux/hadron/internal/project"
	"github.com/hadron-linux/hadron/internal/recipe"
	"github.com/spf13/cobra"
	"github.com/spf13/viper"
)

func newGraphCmd(v *viper.Viper) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "graph",
		Short: "Print the resolved dependency graph (Graphviz dot or JSON)",
		Long: `Graph resolves the dependencies of a target (an image or a recipe; every recipe
of the architecture when left out) and prints them in build order. In dot
output build dependencies are solid edges and runtime dependencies dashed:

  hadron graph --target base --arch arm64 | dot -Tsvg > base.svg`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runGraph(cmd.OutOrStdout(), v.GetString("dir"), v.GetString("target"),
				recipe.Arch(v.GetString("arch")), v.GetString("format"))
		},
	}
	f := cmd.Flags()
	f.String("target", "", "image or recipe to resolve (default: every recipe)")
	f.String("arch", string(recipe.ArchAMD64), "target architecture")
	f.String("format", "dot", "output format: dot or json")
	return cmd
}

// graphJSON is the JSON output of `hadron graph`.
type graphJSON struct {
	Arch    string           `json:"arch"`
	Target  string           `json:"target,omitempty"`
	Image   *graphJSONImage  `json:"image,omitempty"`
	Order   []string         `json:"order"`
	Recipes []graphJSONEntry `json:"recipes"`
}

type graphJSONImage struct {
	Name     string   `json:"name"`
	Packages []string `json:"packages"`
	// Closure is the runtime closure of the packages: the recipes whose
	// outputs go into the image.
	Closure []string `json:"closure"`
	// Outputs are the outputs the image holds ("musl", "xz:tools").
	Outputs []string `json:"outputs"`
}

type graphJSONEntry struct {
	Name    string   `json:"name"`
	Version string   `json:"version"`
	File    string   `json:"file"`
	Build   []string `json:"build"`
	// Toolchain are the host recipes the recipe is built with (omitted
	// for host recipes and in trees without a toolchain).
	Toolchain []string `json:"toolchain,omitempty"`
	Runtime   []string `json:"runtime"`
	BuildEnv  []string `json:"build_env"`
	// Outputs are the recipe's outputs besides its main one ("dev").
	Outputs []string `json:"outputs"`
}

func runGraph(w io.Writer, dir, target string, arch recipe.Arch, format string) error {
	if !slices.Contains(recipe.Arches, arch) {
		return fmt.Errorf("graph: unknown arch %q", arch)
	}
	if format != "dot" && format != "json" {
		return fmt.Errorf("graph: --format %q: want dot or json", format)
	}
	tree, err := project.Load(dirfs.New(dir))
	if err != nil {
		return fmt.Errorf("graph: the tree has problems (run `hadron validate`):\n%w", err)
	}
	var roots []string
	var img *imagedef.Image
	if target != "" {
		t, err := targetpkg.Lookup(tree, target)
		if err != nil {
			return fmt.Errorf("graph: %w", err)
		}
		switch t.Kind {
		case targetpkg.Kernel, targetpkg.KernelConfig:
			// A kernel build for a board is its recipe's node.
			target = t.Name
		case targetpkg.Image, targetpkg.Boot:
			img = tree.Images[t.Name]
			if !img.SupportsArch(arch) {
				return fmt.Errorf("graph: image %s is not built for %s", t.Name, arch)
			}
		}
		roots = t.Roots(tree.Images)
	}
	g, err := graph.Resolve(tree, arch, roots)
	if err != nil {
		return fmt.Errorf("graph: %w", err)
	}
	if format == "json" {
		return writeGraphJSON(w, g, target, img)
	}
	return writeGraphDot(w, g, target, img)
}

func writeGraphJSON(w io.Writer, g *graph.Graph, target string, img *imagedef.Image) error {
	out := graphJSON{Arch: string(g.Arch), Target: target, Order: g.Names(), Recipes: []graphJSONEntry{}}
	if img != nil {
		var outputs []string
		for _, ref := range g.RuntimeOutputs(img.Packages...) {
			outputs = append(outputs, ref.String())
		}
		out.Image = &graphJSONImage{Name: img.Name, Packages: img.Packages, Closure: g.RuntimeClosure(img.Packages...), Outputs: nonNil(outputs)}
	}
	for _, r := range g.Order {
		out.Recipes = append(out.Recipes, graphJSONEntry{
			Name: r.Name, Version: r.Version, File: r.File,
			Build:     nonNil(r.Dependencies.Build),
			Toolchain: r.Dependencies.Toolchain,
			Runtime:   nonNil(r.Dependencies.Runtime),
			BuildEnv:  nonNil(g.BuildEnv(r.Name)),
			Outputs:   nonNil(r.OutputNames()),
		})
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(out); err != nil {
		return fmt.Errorf("graph: write json: %w", err)
	}
	return nil
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// dotID quotes s as a Graphviz ID: backslashes and double quotes are
// escaped. It runs for every node and edge, so it builds the result in one
// pass instead of a strings.Replacer per call.
func dotID(s string) string {
	if !strings.ContainsAny(s, `\"`) {
		return `"` + s + `"`
	}
	b := make([]byte, 0, len(s)+8)
	b = append(b, '"')
	for i := 0; i < len(s); i++ {
		if c := s[i]; c == '\\' || c == '"' {
			b = append(b, '\\')
		}
		b = append(b, s[i])
	}
	return string(append(b, '"'))
}

// edgeLabel is the attribute list of a dependency edge: attrs, and the
// output the dependency names as the label.
func edgeLabel(ref recipe.Ref, attrs string) string {
	if !ref.Main() {
		if attrs != "" {
			attrs += ", "
		}
		attrs += "label=" + dotID(ref.Output)
	}
	if attrs == "" {
		return ""
	}
	return " [" + attrs + "]"
}

func writeGraphDot(w io.Writer, g *graph.Graph, target string, img *imagedef.Image) error {
	var b strings.Builder
	name := "hadron-" + string(g.Arch)
	if target != "" {
		name += "-" + target
	}
	fmt.Fprintf(&b, "digraph %s {\n", dotID(name))
	b.WriteString("  rankdir=LR;\n  node [shape=box, fontname=\"sans-serif\"];\n")
	if img != nil {
		fmt.Fprintf(&b, "  %s [shape=folder, label=%s];\n", dotID("image:"+img.Name), dotID("image "+img.Name))
		for _, p := range img.Packages {
			fmt.Fprintf(&b, "  %s -> %s [style=dashed];\n", dotID("image:"+img.Name), dotID(p))
		}
	}
	for _, r := range g.Order {
		// Graphviz reads \n inside a quoted label as a line break.
		label := strings.TrimSuffix(dotID(r.Name), `"`) + `\n` + strings.TrimPrefix(dotID(r.Version), `"`)
		fmt.Fprintf(&b, "  %s [label=%s];\n", dotID(r.Name), label)
	}
	for _, r := range g.Order {
		for _, d := range r.Dependencies.Toolchain {
			fmt.Fprintf(&b, "  %s -> %s [color=gray];\n", dotID(r.Name), dotID(d))
		}
		// Edges go to recipes; one naming an output is labelled with it.
		built := map[string]bool{}
		for _, d := range r.Dependencies.Build {
			ref := recipe.ParseRef(d)
			built[ref.Recipe] = true
			fmt.Fprintf(&b, "  %s -> %s%s;\n", dotID(r.Name), dotID(ref.Recipe), edgeLabel(ref, ""))
		}
		for _, d := range r.Dependencies.Runtime {
			if ref := recipe.ParseRef(d); !built[ref.Recipe] {
				fmt.Fprintf(&b, "  %s -> %s%s;\n", dotID(r.Name), dotID(ref.Recipe), edgeLabel(ref, "style=dashed"))
			}
		}
	}
	b.WriteString("}\n")
	if _, err := io.WriteString(w, b.String()); err != nil {
		return fmt.Errorf("graph: write dot: %w", err)
	}
	return nil
}
