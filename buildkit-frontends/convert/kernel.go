package convert

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/hadron-linux/hadron/buildkit-frontends/target"
	"github.com/hadron-linux/hadron/internal/recipe"
	"github.com/hadron-linux/hadron/kernel/board"
	"github.com/hadron-linux/hadron/kernel/kconfig"
	"github.com/moby/buildkit/client/llb"
)

// Files of a kernel config state (see KernelConfig.State).
const (
	// ConfigFile is the final .config after olddefconfig.
	ConfigFile = "config"
	// BaseConfigFile is the board's base (defconfig, allnoconfig, ...).
	BaseConfigFile = "base.config"
	// MergedFragmentFile is the merged fragments as applied.
	MergedFragmentFile = "fragments.config"
	// SymbolsFile lists every symbol the tree's Kconfig files define.
	SymbolsFile = "symbols"
)

// kernelFragmentDir is where the merged fragment is mounted in configure.
const kernelFragmentDir = "/hadron-kernel"

// KernelConfig is one board configuration a conversion uses. The frontend
// solves State first and checks it with kconfig.Check against Merged
// before anything is compiled.
type KernelConfig struct {
	// Recipe is the kernel recipe, Board the board it is configured for.
	Recipe string
	Board  *board.Board
	// Merged are the board's fragments, merged (with file:line of each
	// setting).
	Merged *kconfig.Merged
	// State holds ConfigFile, BaseConfigFile, MergedFragmentFile and
	// SymbolsFile at its root.
	State llb.State
}

// KernelConfigs lists the board configurations the conversion so far
// uses, sorted by recipe and board.
func (c *Converter) KernelConfigs() []KernelConfig {
	out := make([]KernelConfig, 0, len(c.kernels))
	for _, k := range c.kernels {
		out = append(out, k.config)
	}
	sort.Slice(out, func(i, j int) bool {
		return out[i].Recipe+target.BoardSep+out[i].Board.Name < out[j].Recipe+target.BoardSep+out[j].Board.Name
	})
	return out
}

// kernelBuild is the memoised conversion of one kernel recipe for one board.
type kernelBuild struct {
	config KernelConfig
	layer  llb.State
}

// Kernel returns the package layer of kernel recipe name built for board:
// boot/vmlinuz, boot/System.map, boot/config, boot/kernel.release,
// boot/dtbs/... (the board's DTBs), usr/lib/modules/<release> (stripped,
// compressed as the config says, depmod-ed) and usr/include (UAPI headers).
func (c *Converter) Kernel(name, boardName string) (llb.State, error) {
	k, err := c.kernel(name, boardName)
	if err != nil {
		return llb.State{}, err
	}
	return k.layer, nil
}

// KernelConfigState returns the checked-configuration state of name for
// board (see KernelConfig.State): the "<recipe>@<board>/config" target.
func (c *Converter) KernelConfigState(name, boardName string) (llb.State, error) {
	k, err := c.kernel(name, boardName)
	if err != nil {
		return llb.State{}, err
	}
	return k.config.State, nil
}

func (c *Converter) kernel(name, boardName string) (*kernelBuild, error) {
	key := name + target.BoardSep + boardName
	if k, ok := c.kernels[key]; ok {
		return k, nil
	}
	r, ok := c.tree.Recipes[name]
	if !ok {
		return nil, fmt.Errorf("kernel %s: no recipe named %q", key, name)
	}
	if r.File != recipe.KernelFile {
		return nil, fmt.Errorf("kernel %s: recipe %s (%s) is not the kernel recipe (%s)", key, name, r.File, recipe.KernelFile)
	}
	boards, err := c.boards()
	if err != nil {
		return nil, err
	}
	b, err := board.Find(boards, boardName)
	if err != nil {
		return nil, fmt.Errorf("kernel %s: %w", key, err)
	}
	if b.Arch != c.target.Arch {
		return nil, fmt.Errorf("kernel %s: board %s is for %s, not %s (%s)", key, b.Name, b.Arch, c.target.Arch, b.File)
	}
	merged, err := b.Merged(c.tree.FS)
	if err != nil {
		return nil, err
	}
	ws, err := c.kernelWorkspace(r)
	if err != nil {
		return nil, err
	}
	epochTime := time.Unix(c.opts.SourceDateEpoch, 0).UTC()
	created := llb.WithCreatedTime(epochTime)
	frag := llb.Scratch().File(llb.Mkfile("/"+MergedFragmentFile, 0o644, merged.Bytes(), created),
		llb.WithCustomNamef("%s: %s fragments", key, b.Name))

	configure := ws.phase(key, Phase{PhaseConfigure, kernelConfigureScript(b)},
		llb.AddMount(kernelFragmentDir, frag, llb.Readonly))
	buildDir := configure.AddMount("/build", ws.buildDir)
	cp := &llb.CopyInfo{CreatedTime: &epochTime}
	cfg := llb.Scratch().File(
		llb.Copy(buildDir, "/.config", "/"+ConfigFile, cp).
			Copy(buildDir, "/.hadron/"+BaseConfigFile, "/"+BaseConfigFile, cp).
			Copy(buildDir, "/.hadron/"+SymbolsFile, "/"+SymbolsFile, cp).
			Copy(frag, "/"+MergedFragmentFile, "/"+MergedFragmentFile, cp),
		llb.WithCustomNamef("%s: config", key))

	compile := ws.phase(key, Phase{PhaseCompile, kernelCompileScript(b)})
	buildDir = compile.AddMount("/build", buildDir)
	install := ws.phase(key, Phase{PhaseInstall, kernelInstallScript(b)})
	install.AddMount("/build", buildDir)
	k := &kernelBuild{
		config: KernelConfig{Recipe: name, Board: b, Merged: merged, State: cfg},
		layer:  outMount(install),
	}
	c.kernels[key] = k
	return k, nil
}

// kernelWorkspace unpacks kernel recipe r once per conversion: every
// board's configure starts from the same tree, and its sources are
// recorded once.
func (c *Converter) kernelWorkspace(r *recipe.Recipe) (*workspace, error) {
	if ws, ok := c.kernelTrees[r.Name]; ok {
		return ws, nil
	}
	epoch := strconv.FormatInt(c.opts.SourceDateEpoch, 10)
	ws, err := c.unpack(r, map[string]string{
		// Reproducible kernels: no build time, user or host in the image.
		"KBUILD_BUILD_TIMESTAMP": "@" + epoch,
		"KBUILD_BUILD_USER":      "hadron",
		"KBUILD_BUILD_HOST":      "hadron",
		"KBUILD_BUILD_VERSION":   "1",
	})
	if err != nil {
		return nil, err
	}
	c.kernelTrees[r.Name] = ws
	return ws, nil
}

// boards loads the tree's kernel boards once per conversion.
func (c *Converter) boards() (map[string]*board.Board, error) {
	if c.boardSet == nil {
		b, err := board.LoadAll(c.tree.FS)
		if err != nil {
			return nil, err
		}
		c.boardSet = b
	}
	return c.boardSet, nil
}

// kmake is the make invocation every kernel phase uses.
const kmake = `kmake() { make ARCH="$KARCH" CROSS_COMPILE="$CROSS_COMPILE" "$@"; }` + "\n"

// kernelConfigureScript makes the board's base config, merges the
// fragments into it the way scripts/kconfig/merge_config.sh does (the
// kernel's own script: a later setting replaces the base's), runs
// olddefconfig and lists every Kconfig symbol for the check.
func kernelConfigureScript(b *board.Board) string {
	var sb strings.Builder
	sb.WriteString(kmake)
	sb.WriteString("mkdir -p .hadron\n")
	fmt.Fprintf(&sb, "kmake %s\n", b.Base)
	sb.WriteString("cp .config .hadron/" + BaseConfigFile + "\n")
	fmt.Fprintf(&sb, "scripts/kconfig/merge_config.sh -m .config %s/%s\n", kernelFragmentDir, MergedFragmentFile)
	sb.WriteString("kmake olddefconfig\n")
	sb.WriteString("find . -name 'Kconfig*' -type f -print0 | xargs -0 grep -hoE '^[[:space:]]*(menu)?config[[:space:]]+[A-Za-z0-9_]+' | " +
		"awk '{print $2}' | LC_ALL=C sort -u >.hadron/" + SymbolsFile + "\n")
	return sb.String()
}

// kernelImage is the boot image make target of an arch's kernel.
func kernelImage(b *board.Board) string {
	if b.Arch == recipe.ArchAMD64 {
		return "bzImage"
	}
	return "Image"
}

// kernelCompileScript builds the boot image and the modules (when the
// config has them). It depends only on the arch and the configuration, not
// on the board's name or DTBs, so boards with the same fragments (rpi4 and
// rpi5) share one compile step.
func kernelCompileScript(b *board.Board) string {
	var sb strings.Builder
	sb.WriteString(kmake)
	fmt.Fprintf(&sb, "kmake -j\"$JOBS\" %s\n", kernelImage(b))
	sb.WriteString("if grep -q '^CONFIG_MODULES=y' .config; then kmake -j\"$JOBS\" modules; fi\n")
	return sb.String()
}

// kernelInstallScript builds the board's DTBs (seconds each) and lays out
// the kernel package.
func kernelInstallScript(b *board.Board) string {
	var sb strings.Builder
	sb.WriteString(kmake)
	for _, d := range b.DTBs {
		fmt.Fprintf(&sb, "kmake %s\n", shellQuote(d))
	}
	sb.WriteString("release=$(cat include/config/kernel.release)\nmkdir -p /out/boot\n")
	fmt.Fprintf(&sb, "cp arch/%s/boot/%s /out/boot/vmlinuz\n", b.SrcArch(), kernelImage(b))
	sb.WriteString("cp System.map /out/boot/System.map\ncp .config /out/boot/config\n" +
		"printf '%s\\n' \"$release\" >/out/boot/kernel.release\n")
	sb.WriteString("if grep -q '^CONFIG_MODULES=y' .config; then\n" +
		"  kmake modules_install INSTALL_MOD_PATH=/out/usr INSTALL_MOD_STRIP=1 DEPMOD=/sbin/depmod\n" +
		"  test -f /out/usr/lib/modules/$release/modules.dep || { echo 'depmod did not run: stage 0 needs kmod' >&2; exit 1; }\n" +
		"  rm -f /out/usr/lib/modules/$release/build /out/usr/lib/modules/$release/source\n" +
		"fi\n")
	for i, d := range b.DTBs {
		fmt.Fprintf(&sb, "install -D -m 0644 %s %s\n", shellQuote(b.DTBPaths()[i]), shellQuote("/out/boot/dtbs/"+d))
	}
	sb.WriteString("kmake headers_install INSTALL_HDR_PATH=/out/usr\n")
	return sb.String()
}
