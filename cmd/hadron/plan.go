package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"path/filepath"
	"slices"
	"text/tabwriter"

	"github.com/containerd/platforms"
	"github.com/hadron-linux/hadron/buildkit-frontends/frontend"
	"github.com/hadron-linux/hadron/buildkit-frontends/target"
	"github.com/hadron-linux/hadron/internal/atomicfile"
	"github.com/hadron-linux/hadron/internal/dirfs"
	"github.com/hadron-linux/hadron/internal/project"
	"github.com/hadron-linux/hadron/internal/recipe"
	"github.com/hadron-linux/hadron/toolchain"
	"github.com/spf13/cobra"
	"github.com/spf13/viper"
)

// Output formats of `hadron plan`.
const (
	planText = "text"
	planJSON = "json"
	planLLB  = "llb"
)

func newPlanCmd(v *viper.Viper) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "plan TARGET...",
		Short: "Convert targets to LLB without BuildKit: print each definition's digest and vertex count",
		Long: `Plan loads the tree, resolves and converts each TARGET (as "hadron build"
would) and marshals its LLB, for every --platform, without contacting
BuildKit. It prints one line per target and platform: the target, the
platform, the sha256 digest of the marshalled definition (equal LLB gives
an equal digest, on every run and machine) and its number of vertices.
"hadron build --dry-run TARGET" does the same.

  hadron plan mini busybox               several targets, planned together
  hadron plan --all                      every recipe and image of the tree
  hadron plan mini --format json         the same as JSON
  hadron plan mini --format llb -o mini.llb
  hadron plan mini --format llb | buildctl debug dump-llb

--format llb writes the definition itself (protobuf, what buildctl's
"debug dump-llb" and "build" read on stdin); it takes one target and one
platform.`,
		RunE: func(cmd *cobra.Command, args []string) error {
			opts, err := buildOptions(v, "")
			if err != nil {
				return err
			}
			return runPlan(cmd.Context(), cmd.OutOrStdout(), v.GetString("dir"), opts, args,
				v.GetBool("all"), v.GetString("format"), v.GetString("output"))
		},
	}
	f := cmd.Flags()
	addBuildOptionFlags(f)
	f.Bool("all", false, "plan every recipe and every image of the tree (the images built for the platforms given)")
	f.String("format", planText, "output: text, json, or llb (the marshalled definition)")
	f.StringP("output", "o", "", "write the output to this file instead of stdout")
	return cmd
}

// planEntry is one planned target on one platform, the JSON output of
// `hadron plan --format json`.
type planEntry struct {
	Target   string `json:"target"`
	Kind     string `json:"kind"`
	Platform string `json:"platform"`
	Digest   string `json:"digest"`
	Vertices int    `json:"vertices"`
}

// runPlan plans names (or every target of the tree with all) and writes
// the result to stdout, or to the file out.
func runPlan(ctx context.Context, stdout io.Writer, dir string, opts frontend.Options, names []string, all bool, format, out string) error {
	switch format {
	case planText, planJSON, planLLB:
	default:
		return fmt.Errorf("plan: --format %q: want %s, %s or %s", format, planText, planJSON, planLLB)
	}
	if all == (len(names) > 0) {
		return fmt.Errorf("plan: give targets or --all, not both and not neither")
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return err
	}
	tree, err := project.Load(dirfs.New(abs))
	if err != nil {
		return err
	}
	targets := target.All(tree)
	if !all {
		targets = targets[:0]
		for _, n := range names {
			t, err := target.Lookup(tree, n)
			if err != nil {
				return err
			}
			targets = append(targets, t)
		}
	}
	opts = opts.WithDefaults()
	if all {
		// Every target built for every platform asked for: an image
		// whose arches: leave one out is not part of "all" there.
		targets, err = builtForAll(tree, opts, targets)
		if err != nil {
			return err
		}
	}
	if format == planLLB && len(targets)*len(opts.Platforms) != 1 {
		return fmt.Errorf("plan: --format llb writes one definition: give one target and one platform (have %d targets, %d platforms)",
			len(targets), len(opts.Platforms))
	}
	plan, err := frontend.NewPlan(tree, opts, targets...)
	if err != nil {
		return err
	}
	if format == planLLB {
		def, err := plan.Definition(ctx, 0, 0)
		if err != nil {
			return err
		}
		b, err := frontend.MarshalDefinition(def)
		if err != nil {
			return err
		}
		return writeOutput(stdout, out, b)
	}
	entries := make([]planEntry, 0, len(targets)*len(plan.Platforms))
	for ti, t := range plan.Targets {
		for pi, pp := range plan.Platforms {
			def, err := plan.Definition(ctx, pi, ti)
			if err != nil {
				return err
			}
			d, err := frontend.DefinitionDigest(def)
			if err != nil {
				return err
			}
			entries = append(entries, planEntry{
				Target: t.String(), Kind: string(t.Kind), Platform: platforms.Format(pp.Platform),
				Digest: d.String(), Vertices: frontend.VertexCount(def),
			})
		}
	}
	if format == planJSON {
		b, err := json.MarshalIndent(entries, "", "  ")
		if err != nil {
			return err
		}
		return writeOutput(stdout, out, append(b, '\n'))
	}
	var buf bytes.Buffer
	tw := tabwriter.NewWriter(&buf, 0, 0, 2, ' ', 0)
	for _, e := range entries {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d vertices\n", e.Target, e.Platform, e.Digest, e.Vertices)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	return writeOutput(stdout, out, buf.Bytes())
}

// writeOutput writes b to the file out (atomically), or to stdout when out
// is empty or "-".
func writeOutput(stdout io.Writer, out string, b []byte) error {
	if out == "" || out == "-" {
		_, err := stdout.Write(b)
		return err
	}
	if err := atomicfile.WriteFile(out, b, 0o644); err != nil {
		return fmt.Errorf("-o %s: %w", out, err)
	}
	return nil
}

// builtForAll keeps the targets built for every platform of opts (see
// target.Target.BuiltFor).
func builtForAll(tree *project.Tree, opts frontend.Options, targets []target.Target) ([]target.Target, error) {
	var arches []recipe.Arch
	for _, pl := range opts.Platforms {
		a, err := toolchain.ArchForPlatform(pl)
		if err != nil {
			return nil, fmt.Errorf("platform %s: %w", platforms.Format(pl), err)
		}
		arches = append(arches, a)
	}
	kept := targets[:0:0]
	for _, t := range targets {
		if !slices.ContainsFunc(arches, func(a recipe.Arch) bool { return !t.BuiltFor(tree.Images, a) }) {
			kept = append(kept, t)
		}
	}
	return kept, nil
}
