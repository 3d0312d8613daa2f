package main

import (
	"debug/elf"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/hadron-linux/hadron/buildkit-frontends/frontend"
	"github.com/hadron-linux/hadron/buildkit-frontends/solve"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"github.com/spf13/viper"
)

func newBuildCmd(v *viper.Viper) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "build TARGET",
		Short: "Build an image (images/TARGET.yaml) or a single recipe with BuildKit",
		Long: `Build converts TARGET and its dependencies to one LLB graph and solves it.

With no --addr (and no BUILDKIT_HOST) hadron starts and manages a local
buildkitd; see "hadron engine". Outputs use buildctl's syntax:
  -o type=local,dest=out/mini      the root filesystem as a directory
  -o type=oci,dest=out/mini.tar    an OCI image layout tarball
  -o type=tar,dest=out/mini-rootfs.tar

Every package of an image or recipe target passes the ELF hygiene gate
first ("<recipe>: elf gate", hadron elf-check on the package's runtime
closure): it runs this hadron binary inside BuildKit (--tools-dir), and a
violation fails the build, its report in the step's log.

TARGET may be IMAGE/boot for an image with boot: trusted: the ESP tree
(signed systemd-boot, signed UKI, loader.conf). Its steps run this hadron
binary too and need the signing keys as secrets:
  --secret id=db.key,src=keys/db.key --secret id=db.crt,src=keys/db.crt
  --secret id=pcr.key,src=keys/pcr.key
IMAGE/disk (boot: trusted with initrd:) is the whole disk, IMAGE.raw: that
ESP, the root filesystem as erofs on dm-verity and its hash partition, the
root hash on the signed UKI's command line; it takes the same secrets.
IMAGE/uki is the signed UKI alone (EFI/Linux/IMAGE.efi, or IMAGE+3.efi,
boot-counted, for an image with a disk).

--attest type=sbom attaches the SPDX SBOM of the target ("hadron sbom"
prints the same document) and --attest type=provenance,mode=max BuildKit's
SLSA provenance: to an OCI image as attestation manifests, next to a local
output as sbom.spdx.json and provenance.json. When the tree is a git work
tree, its commit (and origin remote) is passed as vcs:revision and
vcs:source, as buildx does; see docs/sbom.md.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runBuild(cmd, v, args[0])
		},
	}
	f := cmd.Flags()
	addBuildOptionFlags(f)
	f.StringArrayP("output", "o", nil, "export spec, e.g. type=local,dest=out/mini (repeatable)")
	f.String("progress", "auto", "progress output: auto, plain, tty, rawjson or quiet")
	addAddrFlags(f)
	f.StringArray("cache-to", nil, "cache export spec, e.g. type=registry,ref=host/cache (repeatable)")
	f.StringArray("cache-from", nil, "cache import spec (repeatable)")
	f.StringArray("secret", nil, "secret for signing steps, e.g. id=db.key,src=keys/db.key (repeatable)")
	f.String("tools-dir", "", "directory holding the hadron binary that ELF gates and boot steps run in BuildKit (default: this executable's)")
	f.StringArray("attest", nil, "attestation to attach, as buildx writes it: type=sbom (Hadron's SPDX SBOM of the recipe graph), type=provenance,mode=max (BuildKit's SLSA provenance) (repeatable)")
	f.Bool("dry-run", false, "plan only, as `hadron plan TARGET` does: print the LLB digest and vertex count, contact no BuildKit")
	return cmd
}

// addBuildOptionFlags adds the flags of the frontend options a build and a
// plan share (see buildOptions).
func addBuildOptionFlags(f *pflag.FlagSet) {
	addTargetOptionFlags(f)
	f.Bool("no-cache", false, "re-run every build step")
	f.Bool("keep-toolchain", false, "with --no-cache: the cross toolchain's steps (host recipes) may still come from the cache")
}

// addTargetOptionFlags adds the frontend options that say what is built,
// without the cache flags: `hadron repro-check` chooses those itself.
func addTargetOptionFlags(f *pflag.FlagSet) {
	f.StringSlice("platform", nil, "target platforms (linux/amd64, linux/arm64); default linux/amd64")
	f.String("stage0", "", "stage-0 build environment image (default: a pinned public image)")
	f.Int64("source-date-epoch", 0, "SOURCE_DATE_EPOCH for every step and file time")
	f.String("version-id", "", "the tree's release, VERSION_ID in every image's os-release (1.0, 2025.10)")
	f.Bool("check", false, "run each recipe's check phase")
	f.StringSlice("substitutes", nil, "declared substitutes (vendor-hashes/substitutes) to use for unreachable upstream sources")
}

// buildOptions reads the frontend options of target from v: the flags
// addBuildOptionFlags adds and the mirrors of hadron.yaml.
func buildOptions(v *viper.Viper, target string) (frontend.Options, error) {
	o := frontend.Options{Target: target}
	if specs := v.GetStringSlice("platform"); len(specs) > 0 {
		ps, err := frontend.ParsePlatforms(specs)
		if err != nil {
			return o, fmt.Errorf("--platform %s: %w", strings.Join(specs, ","), err)
		}
		o.Platforms = ps
	}
	o.Stage0 = v.GetString("stage0")
	o.SourceDateEpoch = v.GetInt64("source-date-epoch")
	o.VersionID = v.GetString("version-id")
	o.Mirrors = v.GetStringMapString("mirrors")
	o.Check = v.GetBool("check")
	o.NoCache = v.GetBool("no-cache")
	o.KeepToolchain = v.GetBool("keep-toolchain")
	o.Substitutes = v.GetStringSlice("substitutes")
	return o.WithDefaults(), nil
}

func runBuild(cmd *cobra.Command, v *viper.Viper, target string) error {
	ctx := cmd.Context()
	opts, err := buildOptions(v, target)
	if err != nil {
		return err
	}
	if opts.Attest, err = frontend.ParseAttest(v.GetStringSlice("attest")); err != nil {
		return err
	}
	if len(opts.Attest) > 0 {
		// The tree's commit, which BuildKit's provenance and the SBOM
		// record; looked up only when they are asked for.
		abs, err := filepath.Abs(v.GetString("dir"))
		if err != nil {
			return err
		}
		opts.VCS = treeVCS(ctx, abs)
		if _, ok := opts.Attest[frontend.AttestProvenance]; ok {
			fmt.Fprintln(cmd.ErrOrStderr(), "note: for a frontend run in-process BuildKit's provenance records the materials and steps but no request "+
				"(frontend, options, vcs); the tree's commit is in the SBOM (--attest type=sbom). See docs/sbom.md.")
		}
	}
	req := solve.Request{
		Dir:         v.GetString("dir"),
		Options:     opts,
		Outputs:     v.GetStringSlice("output"),
		CacheTo:     v.GetStringSlice("cache-to"),
		CacheFrom:   v.GetStringSlice("cache-from"),
		Secrets:     v.GetStringSlice("secret"),
		Progress:    v.GetString("progress"),
		ProgressOut: cmd.ErrOrStderr(),
		ToolsDir:    v.GetString("tools-dir"),
	}
	if req.ToolsDir == "" {
		td, err := toolsDir()
		if err != nil {
			return err
		}
		req.ToolsDir = td
	}
	warnDynamicTool(cmd.ErrOrStderr(), req.ToolsDir)
	if v.GetBool("dry-run") {
		// The same path as `hadron plan`: no secrets, tools or engine.
		return runPlan(ctx, cmd.OutOrStdout(), v.GetString("dir"), opts, []string{target}, false, planText, "")
	}
	plan, err := planBuild(req, cmd.ErrOrStderr())
	if err != nil {
		return err
	}
	c, err := connectEngine(ctx, v, cmd.ErrOrStderr())
	if err != nil {
		return err
	}
	defer c.Close()
	if _, err := solve.Run(ctx, c, req, plan); err != nil {
		return fmt.Errorf("build %s: %w", target, explainEngineLoss(v, err))
	}
	for _, o := range req.Outputs {
		fmt.Fprintf(cmd.OutOrStdout(), "exported %s\n", o)
	}
	return nil
}

// planBuild loads and converts the target before any engine is started,
// so bad recipes, unpinned sources and unknown targets fail in
// milliseconds with file:line errors; the build then solves this plan, the
// tree is not planned again. It prints every substituted source to log: a
// substitute is never silent.
func planBuild(req solve.Request, log io.Writer) (*frontend.Plan, error) {
	plan, err := solve.Plan(req)
	if err != nil {
		return nil, err
	}
	for _, pp := range plan.Platforms {
		// Once per substitute and recipe: a substitute's files are
		// sources of every recipe it is used for.
		printed := map[[2]string]bool{}
		for _, s := range pp.Converter.Sources() {
			if s.Substitute == nil {
				continue
			}
			if key := [2]string{s.Substitute.Name, s.Recipe}; !printed[key] {
				printed[key] = true
				fmt.Fprintf(log, "substitute (%s): %s\n", pp.Arch, s.Substitute.Describe(s.Recipe))
			}
		}
	}
	return plan, nil
}

// warnDynamicTool warns when the hadron binary in dir needs a dynamic
// loader: the image setup step of images with systemd runs it inside the
// image, on musl, where a glibc-linked binary cannot start. `make build`
// links it statically (CGO_ENABLED=0).
func warnDynamicTool(w io.Writer, dir string) {
	if dir == "" {
		return
	}
	f, err := elf.Open(filepath.Join(dir, "hadron"))
	if err != nil {
		return
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			fmt.Fprintf(w, "warning: %s is dynamically linked; images with systemd run it in their setup step, on musl, where it cannot start: build it with CGO_ENABLED=0 (make build)\n", filepath.Join(dir, "hadron"))
			return
		}
	}
}

// toolsDir is the directory of the running hadron binary, which ELF gates
// and boot steps mount into BuildKit. It must hold a file named "hadron".
func toolsDir() (string, error) {
	exe, err := os.Executable()
	if err != nil {
		return "", fmt.Errorf("locate the hadron binary for ELF gates and boot steps: %w (pass --tools-dir)", err)
	}
	if exe, err = filepath.EvalSymlinks(exe); err != nil {
		return "", fmt.Errorf("locate the hadron binary for ELF gates and boot steps: %w (pass --tools-dir)", err)
	}
	if filepath.Base(exe) != "hadron" {
		return "", nil // a test binary or a renamed copy: only --tools-dir works
	}
	return filepath.Dir(exe), nil
}
