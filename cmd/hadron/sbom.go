package main

import (
	"context"
	"fmt"
	"io"
	"path/filepath"

	"github.com/containerd/platforms"
	"github.com/hadron-linux/hadron/buildkit-frontends/frontend"
	"github.com/hadron-linux/hadron/buildkit-frontends/target"
	"github.com/hadron-linux/hadron/internal/dirfs"
	"github.com/hadron-linux/hadron/internal/project"
	"github.com/spf13/cobra"
	"github.com/spf13/viper"
)

// Output formats of `hadron sbom`.
const (
	sbomSPDX      = "spdx"
	sbomCycloneDX = "cyclonedx"
)

func newSBOMCmd(v *viper.Viper) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "sbom TARGET",
		Short: "Print the SBOM of a target (SPDX 2.3 or CycloneDX 1.6 JSON) from the recipe graph, without BuildKit",
		Long: `Sbom resolves TARGET (an image, IMAGE/boot, a recipe or KERNEL@BOARD) as
"hadron build" would and prints its software bill of materials: every
recipe of its graph with version, license and homepage, every source with
its pinned digests (a declared substitute the build uses, with its files
and origin, in place of the upstream it stands for), the patches with their
digests, and the runtime, build and toolchain relationships. It is a walk
of the recipe graph: no BuildKit, milliseconds.

The document is the one "hadron build --attest type=sbom" attaches to its
output, byte for byte, given the same --platform, --substitutes and
--source-date-epoch (its creation time) and the same git commit of the tree.

  hadron sbom mini                         SPDX 2.3 JSON on stdout
  hadron sbom mini --format cyclonedx -o mini.cdx.json`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts, err := buildOptions(v, args[0])
			if err != nil {
				return err
			}
			return runSBOM(cmd.Context(), cmd.OutOrStdout(), v.GetString("dir"), opts, v.GetString("format"), v.GetString("output"))
		},
	}
	f := cmd.Flags()
	addBuildOptionFlags(f)
	f.String("format", sbomSPDX, "output: spdx (SPDX 2.3 JSON) or cyclonedx (CycloneDX 1.6 JSON)")
	f.StringP("output", "o", "", "write the SBOM to this file instead of stdout")
	return cmd
}

// runSBOM writes the SBOM of opts.Target, for its one platform, to stdout
// or to the file out.
func runSBOM(ctx context.Context, stdout io.Writer, dir string, opts frontend.Options, format, out string) error {
	if format != sbomSPDX && format != sbomCycloneDX {
		return fmt.Errorf("sbom: --format %q: want %s or %s", format, sbomSPDX, sbomCycloneDX)
	}
	if len(opts.Platforms) != 1 {
		return fmt.Errorf("sbom: one document describes one platform: give one --platform (have %s)", frontend.FormatPlatforms(opts.Platforms))
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return err
	}
	tree, err := project.Load(dirfs.New(abs))
	if err != nil {
		return err
	}
	t, err := target.Lookup(tree, opts.Target)
	if err != nil {
		return err
	}
	opts.VCS = treeVCS(ctx, abs)
	doc, err := frontend.SBOM(tree, opts, t, opts.Platforms[0])
	if err != nil {
		return err
	}
	var b []byte
	if format == sbomCycloneDX {
		b, err = doc.CycloneDX()
	} else {
		b, err = doc.SPDX()
	}
	if err != nil {
		return fmt.Errorf("sbom of %s (%s): %w", t, platforms.Format(opts.Platforms[0]), err)
	}
	return writeOutput(stdout, out, b)
}
