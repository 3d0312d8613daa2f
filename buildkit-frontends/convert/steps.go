package convert

import (
	"fmt"
	"strings"

	"github.com/hadron-linux/hadron/bootchain/toolcmd"
	"github.com/hadron-linux/hadron/internal/recipe"
	"github.com/hadron-linux/hadron/toolchain"
)

// Phase is one named build step of a recipe: a shell script run in /build.
type Phase struct {
	// Name is the phase name as shown in progress output ("configure").
	Name string
	// Script is the shell run with `/bin/sh -c` after the common prelude.
	Script string
}

// The phase names, in execution order. Each is the recipe key under
// build: that overrides it (compile: names the "<recipe>: compile" step).
const (
	PhaseUnpack    = "unpack"
	PhaseConfigure = "configure"
	PhaseCompile   = "compile"
	PhaseCheck     = "check"
	PhaseInstall   = "install"
)

// prelude starts every phase script: strict shell, a job count that is not
// part of any cache key, and the build dir.
const prelude = "set -eu\nJOBS=$(nproc)\ncd /build\n"

// phases returns the configure/build/check/install phases of r (unpack is
// built separately because it mounts the sources). Phases whose script is
// empty are left out so no empty vertex appears in the graph.
func phases(r *recipe.Recipe, t toolchain.Target, check bool) ([]Phase, error) {
	b := r.Build
	def, err := styleDefaults(b, t, r.Host)
	if err != nil {
		return nil, fmt.Errorf("recipe %s: %w", r.Name, err)
	}
	pick := func(override, fallback string) string {
		if strings.TrimSpace(override) != "" {
			return override
		}
		return fallback
	}
	out := []Phase{
		{PhaseConfigure, pick(b.Configure, def.configure)},
		{PhaseCompile, pick(b.Compile, def.compile)},
	}
	if check {
		out = append(out, Phase{PhaseCheck, pick(b.Check, def.check)})
	}
	install := pick(b.Install, def.install)
	if strings.TrimSpace(install) == "" {
		return nil, fmt.Errorf("recipe %s: build style %q needs an install script", r.Name, b.Style)
	}
	out = append(out, Phase{PhaseInstall, install})
	kept := out[:0]
	for _, p := range out {
		if strings.TrimSpace(p.Script) != "" {
			kept = append(kept, p)
		}
	}
	return kept, nil
}

type defaults struct{ configure, compile, check, install string }

// styleDefaults returns the default phase scripts of a build style. The
// table in docs/recipes.md is generated from them (TestStyleTableInDocs).
// Packages are always cross-compiled for t (autotools gets --host), host
// recipes (host) never are.
func styleDefaults(b recipe.Build, t toolchain.Target, host bool) (defaults, error) {
	args := quoteAll(b.Args)
	margs := quoteAll(b.MakeArgs)
	switch b.Style {
	case recipe.StyleAutotools:
		cross := ""
		if !host {
			cross = " --host=" + t.Triplet
		}
		return defaults{
			configure: "./configure --prefix=/usr --sysconfdir=/etc --localstatedir=/var" + cross + args,
			compile:   "make -j\"$JOBS\"" + margs,
			check:     "make check" + margs,
			install:   "make DESTDIR=/out install" + margs,
		}, nil
	case recipe.StyleMake:
		return defaults{
			compile: "make -j\"$JOBS\" PREFIX=/usr" + margs,
			check:   "make check PREFIX=/usr" + margs,
			install: "make DESTDIR=/out PREFIX=/usr install" + margs,
		}, nil
	case recipe.StyleMeson:
		cross := ""
		if !host {
			cross = " --cross-file=" + toolchain.MesonCrossFile
		}
		return defaults{
			configure: "meson setup build --prefix=/usr --buildtype=release" + cross + args,
			compile:   "ninja -C build -j \"$JOBS\"" + margs,
			check:     "meson test -C build",
			install:   "DESTDIR=/out ninja -C build install",
		}, nil
	case recipe.StyleCMake:
		cross := ""
		if !host {
			cross = " -DCMAKE_TOOLCHAIN_FILE=" + toolchain.CMakeToolchainFile
		}
		return defaults{
			configure: "cmake -B build -G Ninja -DCMAKE_INSTALL_PREFIX=/usr -DCMAKE_BUILD_TYPE=Release" + cross + args,
			compile:   "cmake --build build -j \"$JOBS\"" + margs,
			check:     "ctest --test-dir build",
			install:   "DESTDIR=/out cmake --install build",
		}, nil
	case recipe.StyleKbuild:
		kb := " ARCH=\"$KARCH\" CROSS_COMPILE=\"$CROSS_COMPILE\""
		return defaults{
			configure: "make" + kb + " defconfig" + args,
			compile:   "make -j\"$JOBS\"" + kb + margs,
			install:   "make" + kb + " INSTALL_PATH=/out/boot install" + margs,
		}, nil
	case recipe.StyleCustom:
		return defaults{}, nil
	default:
		return defaults{}, fmt.Errorf("unknown build style %q", b.Style)
	}
}

// quoteAll shell-quotes each argument and joins them with a leading space.
func quoteAll(args []string) string {
	var sb strings.Builder
	for _, a := range args {
		sb.WriteByte(' ')
		sb.WriteString(shellQuote(a))
	}
	return sb.String()
}

// shellQuote quotes s for /bin/sh unless it only holds safe characters.
// Arguments may reference variables such as $SOURCE_DATE_EPOCH only through
// the recipe's phase overrides, never through args.
func shellQuote(s string) string { return toolcmd.Quote(s) }
