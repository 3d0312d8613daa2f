package main

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/hadron-linux/hadron/buildkit-frontends/convert"
	"github.com/hadron-linux/hadron/buildkit-frontends/frontend"
	"github.com/hadron-linux/hadron/buildkit-frontends/solve"
	"github.com/hadron-linux/hadron/buildkit-frontends/target"
	"github.com/hadron-linux/hadron/internal/recipe"
	"github.com/hadron-linux/hadron/kernel/board"
	"github.com/hadron-linux/hadron/kernel/kconfig"
	ocispecs "github.com/opencontainers/image-spec/specs-go/v1"
	"github.com/spf13/cobra"
	"github.com/spf13/viper"
)

func newKernelCmd(v *viper.Viper) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "kernel",
		Short: "Kernel board configurations (kernel/boards)",
	}
	config := &cobra.Command{
		Use:   "config BOARD",
		Short: "Print the merged, checked .config of a board (runs in BuildKit, no compile)",
		Long: `Config makes the board's base config, merges its fragments, runs
olddefconfig inside BuildKit and checks that every symbol a fragment asks
for got that value; then it prints the resulting .config. A symbol that did
not stick fails with its fragment's file:line, what was wanted and what Kconfig
made of it.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runKernelConfig(cmd, v, args[0], false)
		},
	}
	diff := &cobra.Command{
		Use:   "diff BOARD",
		Short: "Show what the board's fragments change against its base config",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runKernelConfig(cmd, v, args[0], true)
		},
	}
	for _, c := range []*cobra.Command{config, diff} {
		f := c.Flags()
		f.String("progress", "quiet", "progress output: auto, plain, tty, rawjson or quiet")
		f.String("stage0", "", "stage-0 build environment image (default: a pinned public image)")
		f.Int64("source-date-epoch", 0, "SOURCE_DATE_EPOCH for every step and file time")
		addAddrFlags(f)
		f.StringSlice("substitutes", nil, "declared substitutes (vendor-hashes/substitutes) to use for unreachable upstream sources")
	}
	cmd.AddCommand(config, diff)
	return cmd
}

// runKernelConfig builds "<kernel recipe>@<board>/config" and prints the
// final .config, or with diff its changes against the base config.
func runKernelConfig(cmd *cobra.Command, v *viper.Viper, boardName string, diff bool) error {
	dir := v.GetString("dir")
	abs, err := filepath.Abs(dir)
	if err != nil {
		return err
	}
	fsys := os.DirFS(abs)
	boards, err := board.LoadAll(fsys)
	if err != nil {
		return err
	}
	b, err := board.Find(boards, boardName)
	if err != nil {
		return err
	}
	// Only the kernel recipe's name is needed here; planBuild loads and
	// checks the whole tree.
	kr, err := recipe.LoadFile(fsys, recipe.KernelFile)
	if err != nil {
		return err
	}
	out, err := os.MkdirTemp("", "hadron-kernel-config-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(out)
	opts := frontend.Options{
		Target:    target.Target{Kind: target.KernelConfig, Name: kr.Name, Board: b.Name}.String(),
		Platforms: []ocispecs.Platform{{OS: "linux", Architecture: string(b.Arch)}},
	}
	opts.Stage0 = v.GetString("stage0")
	opts.SourceDateEpoch = v.GetInt64("source-date-epoch")
	opts.Mirrors = v.GetStringMapString("mirrors")
	opts.Substitutes = v.GetStringSlice("substitutes")
	req := solve.Request{
		Dir:         dir,
		Options:     opts.WithDefaults(),
		Outputs:     []string{"type=local,dest=" + out},
		Progress:    v.GetString("progress"),
		ProgressOut: cmd.ErrOrStderr(),
	}
	plan, err := planBuild(req, cmd.ErrOrStderr())
	if err != nil {
		return err
	}
	c, err := connectEngine(cmd.Context(), v, cmd.ErrOrStderr())
	if err != nil {
		return err
	}
	defer c.Close()
	if _, err := solve.Run(cmd.Context(), c, req, plan); err != nil {
		return fmt.Errorf("kernel config %s: %w", b.Name, explainEngineLoss(v, err))
	}
	final, err := os.ReadFile(filepath.Join(out, convert.ConfigFile))
	if err != nil {
		return err
	}
	if !diff {
		_, err = cmd.OutOrStdout().Write(final)
		return err
	}
	base, err := os.ReadFile(filepath.Join(out, convert.BaseConfigFile))
	if err != nil {
		return err
	}
	bm, err := kconfig.ParseConfig(base)
	if err != nil {
		return fmt.Errorf("%s base config: %w", b.Name, err)
	}
	fm, err := kconfig.ParseConfig(final)
	if err != nil {
		return fmt.Errorf("%s config: %w", b.Name, err)
	}
	changes := kconfig.Diff(bm, fm)
	fmt.Fprintf(cmd.OutOrStdout(), "# %s: %s + %d fragments: %d symbols changed\n", b.Name, b.Base, len(b.Fragments), len(changes))
	_, err = fmt.Fprint(cmd.OutOrStdout(), kconfig.FormatDiff(changes))
	return err
}
