// Package convert turns a resolved recipe graph into BuildKit LLB: one named
// vertex per fetch and build phase, one layer per package, images as a
// llb.Merge of package layers plus a finalize layer. It is the only
// recipe→LLB conversion; the gateway frontend, the CLI and the tests all use
// it.
package convert

import (
	"fmt"
	"path"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/hadron-linux/hadron/bootchain/toolcmd"
	"github.com/hadron-linux/hadron/buildkit-frontends/target"
	"github.com/hadron-linux/hadron/internal/graph"
	"github.com/hadron-linux/hadron/internal/imagedef"
	"github.com/hadron-linux/hadron/internal/lockfile"
	"github.com/hadron-linux/hadron/internal/mirror"
	"github.com/hadron-linux/hadron/internal/project"
	"github.com/hadron-linux/hadron/internal/recipe"
	"github.com/hadron-linux/hadron/internal/substitute"
	"github.com/hadron-linux/hadron/kernel/board"
	"github.com/hadron-linux/hadron/toolchain"
	"github.com/moby/buildkit/client/llb"
	digest "github.com/opencontainers/go-digest"
)

// DefaultStage0 is the pinned public build environment used when no stage-0
// image is given: Debian bookworm's buildpack-deps (gcc, make, the archive
// tools), pinned by the digest of its linux/amd64 manifest as published and
// pinned in public build scripts. It is only the build platform: packages
// of every arch are compiled by Hadron's own cross toolchain (toolchain/,
// built by stage 0's gcc). It has no systemd-boot-efi, which
// "<image>/boot" targets need (see Boot); tests/harness builds a stage 0
// with it from Debian packages.
const DefaultStage0 = "docker.io/library/buildpack-deps:bookworm@sha256:672aaedcfec98774308e902ae592697bc34b05d58f62104015cf3511f58e318a"

// DefaultContext is the name of the llb.Local that holds the project tree.
const DefaultContext = "context"

// Options are the inputs of one conversion that are not in the tree: the
// architecture it converts for and the build's Settings.
type Options struct {
	// Arch is the target architecture.
	Arch recipe.Arch
	// SessionID ties llb.Local sources to a client session (frontends leave
	// it empty: the gateway fills it in).
	SessionID string
	// ToolsImage is the frontend image when the frontend runs from one
	// (gwclient.Client.CurrentFrontend, pinned by digest): it carries the
	// hadron binary at ToolsDir/ToolBinary, so tool steps (ELF gates,
	// boot steps) need no local. Nil in-process (the CLI), where
	// Settings.ToolsContext is used.
	ToolsImage *llb.State
	Settings
}

// Settings are what a build's caller chooses, the same for every
// architecture of the build. The frontend's options carry them (see
// frontend.Options); they are declared once, here.
type Settings struct {
	// Stage0 is the image reference of the stage-0 build environment.
	Stage0 string
	// SourceDateEpoch is exported to every step and used for file times.
	SourceDateEpoch int64
	// Mirrors maps an upstream URL prefix to a replacement prefix. The
	// pinned checksum is the same whichever copy is fetched.
	Mirrors map[string]string
	// Check adds each recipe's check phase.
	Check bool
	// NoCache re-runs every build step instead of using cached results.
	NoCache bool
	// KeepToolchain narrows NoCache: the steps of host recipes (the cross
	// toolchain, see project.Tree.Toolchain) may still come from the
	// cache, every other step re-runs. `hadron repro-check --scope
	// packages` rebuilds every package this way without rebuilding gcc.
	// Without NoCache it changes nothing.
	KeepToolchain bool
	// Substitutes names the declared substitutes (vendor-hashes/substitutes)
	// this build may use in place of unreachable upstream sources.
	Substitutes []string
	// ContextName is the llb.Local holding the tree (DefaultContext if empty).
	ContextName string
	// ToolsContext is the llb.Local holding the hadron binary that tool
	// steps (ELF gates, boot steps) run (DefaultToolsContext if empty),
	// used when Options.ToolsImage is nil: the CLI runs the frontend
	// in-process and sends the binary.
	ToolsContext string
	// VersionID is the release of the tree that images are built as:
	// os-release's VERSION_ID (textcheck.VersionID). Empty leaves
	// VERSION_ID out.
	VersionID string
}

// SourceRef records one fetched source so errors from BuildKit can be
// mapped back to the recipe and URL.
type SourceRef struct {
	Recipe  string
	URL     string // upstream URL, as in the recipe
	Fetched string // URL actually fetched (after mirror rewriting)
	SHA256  string
	// Substitute is the declared substitute that stands for URL, if any;
	// then Fetched and SHA256 are those of one of its files.
	Substitute *substitute.Substitute
}

// Converter converts recipes of one tree for one architecture. It memoises
// package layers so every recipe becomes exactly one set of vertices.
type Converter struct {
	tree   *project.Tree
	graph  *graph.Graph
	opts   Options
	target toolchain.Target
	// hermetic is stage 0 as every step sees it (see sandbox); builder
	// adds the target's toolchain environment and /build as working dir.
	hermetic sandbox
	builder  sandbox
	layers   map[string]llb.State
	// outputs memoises package outputs by reference ("xz:dev", see Output).
	outputs map[string]llb.State
	// gates memoises the ELF gate steps by recipe (see gate).
	gates   map[string]llb.State
	sources []SourceRef
	// substitutes are the selected substitutes by the upstream URL they
	// stand for; each applies only to the recipes it lists.
	substitutes map[string]*substitute.Substitute
	// substTrees memoises the substitute steps by substitute name.
	substTrees map[string]llb.State
	// kernels memoises kernel builds by "<recipe>@<board>", kernelTrees
	// the unpacked kernel recipe they share; boardSet is the tree's
	// boards, loaded on first use.
	kernels     map[string]*kernelBuild
	kernelTrees map[string]*workspace
	boardSet    map[string]*board.Board
	// toolInvocations are the hadron command lines tool steps run.
	toolInvocations []toolcmd.Invocation
	// cross is the cross files state (see crossFiles), made on first use.
	cross *llb.State
	// native converts the packages a foreign-arch image's steps run on
	// the build machine (see buildPlatform), made on first use.
	native *Converter
	// grubBuilds memoises the disk steps of boot: grub images by image
	// name (see grubDisk).
	grubBuilds map[string]*grubBuild
	// onPackage, when set, is given each package's build layer as soon
	// as it is converted (see OnPackage).
	onPackage func(llb.State)
}

// OnPackage has fn called with each package's build layer (what Package
// returns) right after it is converted, once per package, on the
// converter's goroutine. The state is complete then: later conversions
// only add vertices on top of it, so fn may marshal it on another
// goroutine while conversion goes on (the planner does, see
// frontend.NewPlan).
func (c *Converter) OnPackage(fn func(llb.State)) {
	c.onPackage = fn
}

// New resolves roots (recipe names) in tree for opts.Arch and prepares a
// converter for them and their dependencies.
func New(tree *project.Tree, opts Options, roots ...string) (*Converter, error) {
	t, err := toolchain.For(opts.Arch)
	if err != nil {
		return nil, err
	}
	if opts.Stage0 == "" {
		opts.Stage0 = DefaultStage0
	}
	if opts.ContextName == "" {
		opts.ContextName = DefaultContext
	}
	if opts.ToolsContext == "" {
		opts.ToolsContext = DefaultToolsContext
	}
	g, err := graph.Resolve(tree, opts.Arch, roots)
	if err != nil {
		return nil, err
	}
	subs, err := substitute.Select(tree.Substitutes, opts.Substitutes)
	if err != nil {
		return nil, err
	}
	stage0 := llb.Image(opts.Stage0, llb.Platform(t.Platform), llb.WithCustomNamef("stage0: %s", opts.Stage0))
	if !t.Native() {
		// A foreign target is still built on the amd64 stage 0 with its
		// cross gcc: cross by default, no emulation.
		stage0 = llb.Image(opts.Stage0, llb.LinuxAmd64, llb.WithCustomNamef("stage0: %s", opts.Stage0))
	}
	hermetic := newSandbox(stage0, hermeticEnv(opts.SourceDateEpoch), "/", opts.NoCache)
	build := hermetic.with(toolchainEnv(t))
	build.state = build.state.Dir("/build")
	return &Converter{
		tree:     tree,
		graph:    g,
		opts:     opts,
		target:   t,
		hermetic: hermetic,
		builder:  build,
		layers:   map[string]llb.State{},
		outputs:  map[string]llb.State{},
		gates:    map[string]llb.State{},

		substitutes: subs,
		substTrees:  map[string]llb.State{},
		kernels:     map[string]*kernelBuild{},
		kernelTrees: map[string]*workspace{},
		grubBuilds:  map[string]*grubBuild{},
	}, nil
}

// Sources lists every source the conversion so far fetches, sorted.
func (c *Converter) Sources() []SourceRef {
	out := append([]SourceRef(nil), c.sources...)
	if c.native != nil {
		out = append(out, c.native.Sources()...)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Recipe+out[i].URL < out[j].Recipe+out[j].URL })
	return out
}

// Target returns the state for name, a target name (see target.Parse):
// an image definition if one is called name, a kernel build for
// "<recipe>@<board>", otherwise the recipe's main output ("<recipe>") or
// another of its outputs ("<recipe>:dev") once its ELF gate has passed
// (see gatedOutput). "<image>/boot" is the image's boot
// artifacts (see Boot), "<recipe>@<board>/config" the board's checked
// configuration.
func (c *Converter) Target(name string) (llb.State, error) {
	t, err := target.Parse(name)
	if err != nil {
		return llb.State{}, err
	}
	return c.State(t)
}

// State returns the state of a parsed target (see Target).
func (c *Converter) State(t target.Target) (llb.State, error) {
	switch t.Kind {
	case target.KernelConfig:
		return c.KernelConfigState(t.Name, t.Board)
	case target.Kernel:
		return c.Kernel(t.Name, t.Board)
	case target.Boot, target.UKI, target.Disk, target.Sysext:
		img, ok := c.tree.Images[t.Name]
		if !ok {
			return llb.State{}, fmt.Errorf("target %q: no image named %q", t, t.Name)
		}
		return c.imageOutput(t.Kind, img)
	case target.Image:
		img, ok := c.tree.Images[t.Name]
		if !ok {
			return llb.State{}, fmt.Errorf("no image named %q", t.Name)
		}
		return c.Image(img)
	case target.Named:
		if img, ok := c.tree.Images[t.Name]; ok && t.Output == "" {
			return c.Image(img)
		}
	}
	return c.gatedOutput(t.Ref())
}

// imageOutput returns one of an image's built artifacts: its boot tree,
// its unsigned UKI, its disk image or, for a system extension, its signed
// disk image.
func (c *Converter) imageOutput(kind target.Kind, img *imagedef.Image) (llb.State, error) {
	switch kind {
	case target.Boot:
		return c.Boot(img)
	case target.UKI:
		b, err := c.boot(img)
		if err != nil {
			return llb.State{}, err
		}
		return b.uki, nil
	case target.Disk:
		return c.Disk(img)
	case target.Sysext:
		return c.Sysext(img)
	}
	return llb.State{}, fmt.Errorf("target kind %q is not an image output", kind)
}

// kernelLayer returns the package layer that an image's `kernel:` names: a board
// build for "<recipe>@<board>", else a plain recipe's package.
func (c *Converter) kernelLayer(name string) (llb.State, error) {
	if k, b, ok := strings.Cut(name, target.BoardSep); ok {
		return c.Kernel(k, b)
	}
	return c.Package(name)
}

// Package returns the package layer of recipe name: the /out mount of its
// install phase, every output of the package in one layer (see Output
// for the parts). Its build runs on stage 0 with network disabled. The
// layer does not depend on the recipe's ELF gate: targets do (see gate).
func (c *Converter) Package(name string) (llb.State, error) {
	if st, ok := c.layers[name]; ok {
		return st, nil
	}
	r, ok := c.tree.Recipes[name]
	if !ok {
		return llb.State{}, fmt.Errorf("no recipe or image named %q", name)
	}
	st, err := c.build(r)
	if err != nil {
		return llb.State{}, err
	}
	c.layers[name] = st
	if c.onPackage != nil {
		c.onPackage(st)
	}
	return st, nil
}

// Image returns the root filesystem of img: one llb.Merge of the layers
// of the runtime closure's outputs (graph.RuntimeOutputs: main outputs,
// so no headers, static libraries or manuals), a finalize layer and, for
// an image with systemd, the layer of its build-time setup (see
// systemdSetup). The finalize step depends on the ELF gate of every
// package in the closure, so the image is only assembled once they all
// passed; the gates add no layer (see requireGates).
//
// A system extension (kind: sysext) is not a root filesystem: its image is
// its /usr tree (see Sysext for the signed disk image).
func (c *Converter) Image(img *imagedef.Image) (llb.State, error) {
	if !img.SupportsArch(c.target.Arch) {
		return llb.State{}, fmt.Errorf("image %s is not built for %s: its arches are %s (%s:%d); choose one with --platform linux/%s",
			img.Name, c.target.Arch, strings.Join(recipe.Strings(img.Arches), ", "), img.File, img.LineOf("arches"), img.Arches[0])
	}
	if img.IsSysext() {
		return c.sysextTree(img)
	}
	refs := c.graph.RuntimeOutputs(img.Packages...)
	layers, err := c.outputLayers(refs)
	if err != nil {
		return llb.State{}, fmt.Errorf("image %s: %w", img.Name, err)
	}
	gates, err := c.gatesOf(graph.Recipes(refs))
	if err != nil {
		return llb.State{}, fmt.Errorf("image %s: %w", img.Name, err)
	}
	layers = append(layers, c.finalize(img, refs, gates))
	assembled := llb.Merge(layers, llb.WithCustomNamef("%s: assemble image", img.Name))
	if !c.wantsSetup(refs) {
		return assembled, nil
	}
	layers = append(layers, c.systemdSetup(img, assembled))
	return llb.Merge(layers, llb.WithCustomNamef("%s: assemble image with its systemd setup", img.Name)), nil
}

// ImageLayers names the layers of target t's result as the image's
// history describes them, bottom first: "package <recipe> <version>" for
// each package of an image's runtime closure, in Image's merge order, then
// "finalize <image>" for the finalize layer. Only an image's layers are
// known this way; other targets (a recipe, whose gate may add an empty
// layer, boot artifacts, a kernel) give nil, and BuildKit describes their
// layers itself.
func (c *Converter) ImageLayers(t target.Target) []string {
	if t.Kind != target.Image && t.Kind != target.Named {
		return nil
	}
	img, ok := c.tree.Images[t.Name]
	if !ok || img.IsSysext() {
		return nil
	}
	refs := c.graph.RuntimeOutputs(img.Packages...)
	out := make([]string, 0, len(refs)+1)
	for _, ref := range refs {
		out = append(out, "package "+ref.String()+" "+c.tree.Recipes[ref.Recipe].Version)
	}
	out = append(out, "finalize "+img.Name)
	if c.wantsSetup(refs) {
		out = append(out, "systemd setup "+img.Name)
	}
	return out
}

// finalize writes the files that belong to the image rather than to any
// package: os-release, hostname, the root account, an empty machine-id
// and the usr-merge links. It runs after every gate in gates has passed.
// Every file has SOURCE_DATE_EPOCH as its time and root as its owner.
//
//   - /usr/lib/os-release (and /etc/os-release, a link to it): ID=hadron,
//     VERSION_ID the tree's release (Settings.VersionID, left out when
//     empty), BUILD_ID the build's SOURCE_DATE_EPOCH, VARIANT_ID the
//     image;
//   - /etc/machine-id, empty and read-only: machine-id(5)'s "first boot"
//     state, in which systemd makes up the machine's ID at boot;
//   - /bin, /sbin and /lib, links to usr/bin, usr/bin and usr/lib, and
//     /usr/sbin, a link to bin (usrMergeLinks): packages install under
//     /usr only (usrMergeCheck), their /usr/sbin lands in /usr/bin (see
//     Output), and paths such as /bin/sh, /sbin/init and the musl loader
//     /lib/ld-musl-*.so.1 still resolve;
//   - /usr/share/hadron/packages, the outputs the image holds with
//     their recipe's version, one per line in build order;
//   - for an initrd (kind: initrd), /etc/initrd-release (its os-release),
//     /init, a link to systemd, and /sysroot, where initrd.target mounts
//     the real root before switching into it.
func (c *Converter) finalize(img *imagedef.Image, refs []recipe.Ref, gates []llb.State) llb.State {
	created := llb.WithCreatedTime(time.Unix(c.opts.SourceDateEpoch, 0).UTC())
	host := img.Hostname
	if host == "" {
		host = "hadron"
	}
	manifest := make([]string, 0, len(refs))
	for _, ref := range refs {
		manifest = append(manifest, ref.String()+" "+c.tree.Recipes[ref.Recipe].Version)
	}
	fa := llb.Mkdir("/etc", 0o755, created).
		Mkdir("/usr/lib", 0o755, llb.WithParents(true), created).
		Mkdir("/usr/bin", 0o755, created).
		Mkfile("/usr/lib/os-release", 0o644, []byte(osRelease(img.Name, c.opts.VersionID, c.opts.SourceDateEpoch)), created).
		Mkfile("/etc/hostname", 0o644, []byte(host+"\n"), created).
		Mkfile("/etc/machine-id", 0o444, nil, created).
		Mkfile("/etc/passwd", 0o644, []byte("root:x:0:0:root:/root:/bin/sh\n"), created).
		Mkfile("/etc/group", 0o644, []byte("root:x:0:\n"), created).
		Mkfile("/etc/shadow", 0o600, []byte("root:!:1::::::\n"), created).
		Mkdir("/root", 0o700, created).
		Mkdir("/usr/share/hadron", 0o755, llb.WithParents(true), created).
		Mkfile("/usr/share/hadron/packages", 0o644, []byte(strings.Join(manifest, "\n")+"\n"), created).
		Symlink("../usr/lib/os-release", "/etc/os-release", created)
	for _, l := range usrMergeLinks {
		fa = fa.Symlink(l.target, "/"+l.dir, created)
	}
	if img.IsInitrd() {
		// systemd knows it runs in an initrd by /etc/initrd-release (the
		// initrd's os-release); the kernel starts /init.
		fa = fa.Mkfile("/etc/initrd-release", 0o644, []byte(osRelease(img.Name, c.opts.VersionID, c.opts.SourceDateEpoch)), created).
			Symlink(initrdInit, "/init", created).
			Mkdir("/sysroot", 0o755, created)
	}
	// The gates are inputs of the step whatever action reads them; the
	// restamp puts back the times of /etc, /usr, … which the files made
	// inside them changed.
	return llb.Scratch().File(restamp(requireGates(fa, gates), c.opts.SourceDateEpoch), llb.WithCustomNamef("%s: finalize", img.Name))
}

// initrdInit is what /init of an initrd links to: systemd, which runs
// initrd.target and switches into the real root.
const initrdInit = "usr/lib/systemd/systemd"

// osRelease is the os-release file of image name (see finalize).
func osRelease(name, versionID string, epoch int64) string {
	lines := []string{
		`NAME="Hadron Linux"`,
		`ID=` + osReleaseID,
	}
	if versionID != "" {
		lines = append(lines, `VERSION_ID=`+versionID)
	}
	lines = append(lines,
		`PRETTY_NAME="Hadron Linux (`+name+`)"`,
		`VARIANT_ID=`+name,
		`BUILD_ID=`+strconv.FormatInt(epoch, 10),
		`HOME_URL="https://github.com/hadron-linux/hadron"`,
		``,
	)
	return strings.Join(lines, "\n")
}

// build converts one recipe into its fetch and phase vertices.
func (c *Converter) build(r *recipe.Recipe) (llb.State, error) {
	ws, err := c.unpack(r, nil)
	if err != nil {
		return llb.State{}, err
	}
	ph, err := phases(r, c.target, c.opts.Check)
	if err != nil {
		return llb.State{}, err
	}
	if !r.Host {
		// The install phase is always last (see phases).
		ph[len(ph)-1].Script = strings.TrimSuffix(ph[len(ph)-1].Script, "\n") + "\n" + usrMergeCheck(r.Name) + stripELF(r.Name)
	}
	return ws.run(r, ph), nil
}

// workspace is a recipe's unpacked build dir and what every later phase
// of it shares: its sandbox (the build sandbox with the recipe's own
// environment) and its mounts.
type workspace struct {
	sb sandbox
	// mounts are the recipe files and the cross toolchain, mounted in
	// every step of the recipe.
	mounts []llb.RunOption
	// buildDir is /build after unpack.
	buildDir llb.State
	// sysroot is the merged build dependencies, nil when there are none.
	sysroot *llb.State
}

// unpack prepares r's workspace: its sources, patches and prepare snippet
// in /build, and the shared run options (extraEnv is added to the phase
// environment).
func (c *Converter) unpack(r *recipe.Recipe, extraEnv map[string]string) (*workspace, error) {
	lock := c.tree.Locks[r.Name]
	srcs, err := c.sourceStates(r, lock)
	if err != nil {
		return nil, err
	}
	// The build environment: host recipes (the cross toolchain) are
	// mounted whole at recipe.ToolchainPrefix; the others' outputs
	// (graph.BuildEnvOutputs: main and dev, so headers and static
	// libraries are there) are merged into the sysroot. These are
	// ungated layers: a build does not wait for its dependencies' ELF
	// gates, which the targets holding them run (see gate).
	refs := c.graph.BuildEnvOutputs(r.Name)
	// llb.State is large: the layers list is sized once.
	depLayers := make([]llb.State, 0, len(refs))
	var tools []llb.State
	var toolNames []string
	for _, ref := range refs {
		st, err := c.Output(ref)
		if err != nil {
			return nil, fmt.Errorf("recipe %s: build dependency: %w", r.Name, err)
		}
		if c.tree.Recipes[ref.Recipe].Host {
			tools = append(tools, st)
			toolNames = append(toolNames, ref.Recipe)
		} else {
			depLayers = append(depLayers, st)
		}
	}

	sb := c.builder.with(c.env(r, len(tools) > 0, extraEnv))
	if r.Host && c.opts.KeepToolchain {
		sb.noCache = false
	}
	var recipeFiles *llb.State
	if len(r.Patches)+len(r.Files) > 0 {
		inc := make([]string, 0, len(r.Patches)+len(r.Files))
		for _, p := range append(append([]string(nil), r.Patches...), r.Files...) {
			inc = append(inc, path.Join(r.Dir, p))
		}
		sort.Strings(inc)
		opts := []llb.LocalOption{
			llb.IncludePatterns(inc),
			llb.SharedKeyHint(c.opts.ContextName + ":" + r.Dir),
			llb.WithCustomNamef("%s: recipe files", r.Name),
		}
		if c.opts.SessionID != "" {
			opts = append(opts, llb.SessionID(c.opts.SessionID))
		}
		st := llb.Local(c.opts.ContextName, opts...)
		recipeFiles = &st
	}

	var mounts []llb.RunOption
	if recipeFiles != nil {
		mounts = append(mounts, llb.AddMount("/recipe", *recipeFiles, llb.SourcePath(r.Dir), llb.Readonly))
	}
	if len(tools) > 0 {
		tc := tools[0]
		if len(tools) > 1 {
			// One vertex for every recipe that builds with the same host
			// recipes, so it is named after them, not after r.
			tc = llb.Merge(tools, llb.WithCustomNamef("toolchain: %s", strings.Join(toolNames, " + ")))
		}
		mounts = append(mounts, llb.AddMount(recipe.ToolchainPrefix, tc, llb.SourcePath(recipe.ToolchainPrefix), llb.Readonly))
		if !r.Host {
			mounts = append(mounts, llb.AddMount(toolchain.CrossFilesDir, c.crossFiles(), llb.Readonly))
		}
	}

	// unpack: sources, patches, prepare.
	unpackMounts := append([]llb.RunOption(nil), mounts...)
	base := llb.Scratch()
	for i, s := range srcs {
		if i == 0 && inPlace(srcs) {
			// The tree is /build's lower layer: the unpack step records
			// only what it changes, not a copy of the whole source.
			base = s.state
			continue
		}
		unpackMounts = append(unpackMounts, llb.AddMount(fmt.Sprintf("/src/%d", i), s.state, llb.Readonly))
	}
	run := sb.run(r.Name+": "+PhaseUnpack, prelude+unpackScript(r, srcs), unpackMounts...)
	ws := &workspace{sb: sb, mounts: mounts, buildDir: run.AddMount("/build", base)}
	if len(depLayers) > 0 {
		st := llb.Merge(depLayers, llb.WithCustomNamef("%s: build environment", r.Name))
		ws.sysroot = &st
	}
	return ws, nil
}

// phase runs one phase script on the workspace and returns the exec
// state; the caller picks its /build (and /out) mounts. prefix names the
// vertex ("xz", or "linux@qemu-amd64"). The install phase produces the
// package layer, so its /out is clamped (see sandbox.layer).
func (ws *workspace) phase(prefix string, p Phase, extra ...llb.RunOption) llb.ExecState {
	ro := append([]llb.RunOption(nil), ws.mounts...)
	if ws.sysroot != nil {
		ro = append(ro, llb.AddMount(toolchain.SysrootDir, *ws.sysroot, llb.Readonly))
	}
	ro = append(ro, extra...)
	name := prefix + ": " + p.Name
	if p.Name == PhaseInstall {
		return ws.sb.layer(name, prelude+p.Script, ro...)
	}
	return ws.sb.run(name, prelude+p.Script, ro...)
}

// run chains the phases on the workspace of r and returns the /out mount
// of the install phase: the package layer.
func (ws *workspace) run(r *recipe.Recipe, ph []Phase) llb.State {
	buildDir := ws.buildDir
	var out llb.State
	for _, p := range ph {
		run := ws.phase(r.Name, p)
		if p.Name == PhaseInstall {
			run.AddMount("/build", buildDir)
			out = outMount(run)
			continue
		}
		buildDir = run.AddMount("/build", buildDir)
	}
	return out
}

type fetched struct {
	state    llb.State
	filename string // empty for git checkouts
	dest     string
}

// sourceStates returns one state per source of r, pinned by lock.
func (c *Converter) sourceStates(r *recipe.Recipe, lock *lockfile.Lock) ([]fetched, error) {
	// The same check `hadron validate` and project.Load run: one place
	// decides what a valid pin is. A tree from project.Load has been
	// checked already; one built another way is checked here.
	if !c.tree.LockChecked(r.Name) {
		if err := lockfile.Check(r, lock).Err(); err != nil {
			return nil, err
		}
	}
	out := make([]fetched, 0, len(r.Sources))
	for i, s := range r.Sources {
		url := r.SourceURL(i)
		pin, _ := lock.Find(url) // present and well-formed: checked above
		if s.Git != "" {
			st := llb.Git(url, s.Commit, llb.WithCustomNamef("%s: fetch %s@%s", r.Name, url, shortCommit(s.Commit)))
			out = append(out, fetched{state: st, dest: s.Dest})
			continue
		}
		// A selected substitute stands in only for the recipes it lists:
		// another recipe with the same URL was never declared to use it
		// (nor checked against it by project.Load), so it fetches
		// upstream as usual.
		if sub, ok := c.substitutes[url]; ok && sub.StandsFor(r.Name) {
			out = append(out, fetched{state: c.substituteState(r, sub), dest: s.Dest})
			continue
		}
		name := path.Base(url)
		get := mirror.Map(c.opts.Mirrors).Rewrite(url)
		st := llb.HTTP(get,
			llb.Checksum(digest.NewDigestFromEncoded(digest.SHA256, pin.SHA256)),
			llb.Filename(name),
			llb.WithCustomNamef("%s: fetch %s", r.Name, url))
		c.sources = append(c.sources, SourceRef{Recipe: r.Name, URL: url, Fetched: get, SHA256: pin.SHA256})
		out = append(out, fetched{state: st, filename: name, dest: s.Dest})
	}
	return out, nil
}

func shortCommit(c string) string {
	if len(c) > 12 {
		return c[:12]
	}
	return c
}

// unpackScript extracts every source into /build, applies the patches in
// order and runs the recipe's prepare snippet.
func unpackScript(r *recipe.Recipe, srcs []fetched) string {
	var sb strings.Builder
	for i, s := range srcs {
		if i == 0 && inPlace(srcs) {
			continue // already /build (see unpack)
		}
		dest := "/build"
		if s.dest != "" {
			dest = path.Join("/build", path.Clean("/"+s.dest))
		}
		fmt.Fprintf(&sb, "mkdir -p %s\n", shellQuote(dest))
		src := fmt.Sprintf("/src/%d", i)
		switch {
		case s.filename == "":
			fmt.Fprintf(&sb, "cp -a %s/. %s\n", src, shellQuote(dest))
		case isArchive(s.filename):
			fmt.Fprintf(&sb, "tar -xf %s -C %s --strip-components=1 --no-same-owner\n", shellQuote(src+"/"+s.filename), shellQuote(dest))
		default:
			fmt.Fprintf(&sb, "cp %s %s/\n", shellQuote(src+"/"+s.filename), shellQuote(dest))
		}
	}
	for _, p := range r.Patches {
		fmt.Fprintf(&sb, "echo 'applying %s'\npatch -p1 -N -d /build < %s\n", strings.ReplaceAll(p, "'", ""), shellQuote("/recipe/"+p))
	}
	if strings.TrimSpace(r.Build.Prepare) != "" {
		sb.WriteString(r.Build.Prepare)
		sb.WriteString("\n")
	}
	return sb.String()
}

// inPlace reports whether the first source is a directory (a git
// checkout or a substitute's tree) that is /build itself rather than
// copied into it.
func inPlace(srcs []fetched) bool {
	return len(srcs) > 0 && srcs[0].filename == "" && srcs[0].dest == ""
}

func isArchive(name string) bool {
	for _, ext := range []string{".tar", ".tar.gz", ".tgz", ".tar.bz2", ".tbz2", ".tar.xz", ".txz", ".tar.zst", ".tar.lz"} {
		if strings.HasSuffix(name, ext) {
			return true
		}
	}
	return false
}

// toolchainEnv is the environment of every build step for target t: its
// arch, triplet, kernel arch and flags. The compilers come with the
// toolchain (see Converter.env).
func toolchainEnv(t toolchain.Target) map[string]string {
	return map[string]string{
		"HADRON_ARCH":    string(t.Arch),
		"HADRON_TRIPLET": t.Triplet,
		"KARCH":          t.KernelArch,
		"CFLAGS":         t.CFlags,
		"CXXFLAGS":       t.CFlags,
		"CROSS_COMPILE":  "",
	}
}

// env returns what r's steps add to the build sandbox's environment: the
// compilers, then extra, then the recipe's own env (a later one wins). A
// host recipe is compiled by stage 0's gcc and finds the host recipes it
// builds with on PATH; any other recipe with a toolchain gets the cross
// compilers (toolchain.Target.CrossEnv).
// crossFiles is the meson cross file and the CMake toolchain file of the
// converter's target, mounted at toolchain.CrossFilesDir in the steps of
// every package built with the cross toolchain. One vertex per target.
func (c *Converter) crossFiles() llb.State {
	if c.cross != nil {
		return *c.cross
	}
	created := llb.WithCreatedTime(time.Unix(c.opts.SourceDateEpoch, 0).UTC())
	st := llb.Scratch().File(
		llb.Mkfile(path.Base(toolchain.MesonCrossFile), 0o644, []byte(c.target.MesonCross()), created).
			Mkfile(path.Base(toolchain.CMakeToolchainFile), 0o644, []byte(c.target.CMakeToolchain()), created),
		llb.WithCustomNamef("toolchain: cross files (%s)", c.target.Triplet))
	c.cross = &st
	return st
}

func (c *Converter) env(r *recipe.Recipe, withTools bool, extra map[string]string) map[string]string {
	m := map[string]string{}
	switch {
	case r.Host:
		m["CC"], m["CXX"] = "gcc", "g++"
		if withTools {
			m["PATH"] = recipe.ToolchainPrefix + "/bin:" + basePath
		}
	case withTools:
		m = c.target.CrossEnv(basePath)
	}
	for k, v := range extra {
		m[k] = v
	}
	for k, v := range r.Build.Env {
		m[k] = v
	}
	return m
}
