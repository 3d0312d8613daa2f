// Package toolchain knows Hadron's target triplets, per-arch flags and the
// build environment that the cross toolchain gives every recipe.
//
// Bootstrap shape: stage 0 is a plain Debian build environment (a host gcc,
// make, perl, python). It is only the build *platform*. The host recipes of
// toolchain/ (binutils, gcc: recipe key `host: true`) are compiled by stage
// 0's gcc into a cross toolchain for one target triplet,
// x86_64-hadron-linux-musl or aarch64-hadron-linux-musl, installed under
// recipe.ToolchainPrefix. Every other recipe (musl included) is compiled by
// that toolchain: its layers are mounted read-only at ToolchainPrefix, and
// its gcc was configured with --with-sysroot=SysrootDir, where the merged
// build dependencies of the recipe being built are mounted. Nothing of stage
// 0's libc or headers reaches a package.
package toolchain

import (
	"fmt"
	"sort"
	"strings"

	"github.com/hadron-linux/hadron/internal/recipe"
	ocispecs "github.com/opencontainers/image-spec/specs-go/v1"
)

// SysrootDir is where the merged runtime closure of a recipe's build
// dependencies is mounted in its build steps, and the cross gcc's default
// --sysroot.
const SysrootDir = "/sysroot"

// Target describes one architecture's toolchain facts.
type Target struct {
	// Arch is the architecture these facts are for.
	Arch recipe.Arch
	// Triplet is the GNU triplet Hadron's packages are built for, and the
	// prefix of the cross toolchain's programs.
	Triplet string
	// Loader is the musl dynamic loader path inside the image.
	Loader string
	// KernelArch is the kernel's ARCH= value.
	KernelArch string
	// CFlags are the default optimisation flags.
	CFlags string
	// Platform is the OCI platform of the produced image.
	Platform ocispecs.Platform
}

var targets = map[recipe.Arch]Target{
	recipe.ArchAMD64: {
		Arch:       recipe.ArchAMD64,
		Triplet:    "x86_64-hadron-linux-musl",
		Loader:     "/lib/ld-musl-x86_64.so.1",
		KernelArch: "x86_64",
		CFlags:     "-O2 -pipe",
		Platform:   ocispecs.Platform{OS: "linux", Architecture: "amd64"},
	},
	recipe.ArchARM64: {
		Arch:       recipe.ArchARM64,
		Triplet:    "aarch64-hadron-linux-musl",
		Loader:     "/lib/ld-musl-aarch64.so.1",
		KernelArch: "arm64",
		CFlags:     "-O2 -pipe",
		Platform:   ocispecs.Platform{OS: "linux", Architecture: "arm64"},
	},
}

// For returns the target for arch or an error naming the known arches.
func For(arch recipe.Arch) (Target, error) {
	t, ok := targets[arch]
	if !ok {
		known := make([]string, 0, len(targets))
		for a := range targets {
			known = append(known, string(a))
		}
		sort.Strings(known)
		return Target{}, fmt.Errorf("unknown architecture %q (known: %s)", arch, strings.Join(known, ", "))
	}
	return t, nil
}

// ArchForPlatform maps an OCI platform architecture ("amd64", "arm64") to a
// Hadron arch.
func ArchForPlatform(p ocispecs.Platform) (recipe.Arch, error) {
	for a, t := range targets {
		if t.Platform.Architecture == p.Architecture && (p.OS == "" || p.OS == "linux") {
			return a, nil
		}
	}
	return "", fmt.Errorf("unsupported platform %s/%s", p.OS, p.Architecture)
}

// Native reports whether code for t runs on an amd64 stage 0 without
// emulation.
func (t Target) Native() bool { return t.Arch == recipe.ArchAMD64 }

// Tools are the cross toolchain's programs that build steps find through
// their environment variable (CC=<triplet>-gcc, ...), by variable name.
var Tools = map[string]string{
	"CC": "gcc", "CXX": "g++", "CPP": "cpp", "AR": "ar", "AS": "as", "LD": "ld", "NM": "nm",
	"OBJCOPY": "objcopy", "OBJDUMP": "objdump", "RANLIB": "ranlib", "READELF": "readelf", "STRIP": "strip",
}

// CrossEnv is the environment of a step that builds with the cross
// toolchain mounted at recipe.ToolchainPrefix: PATH, CROSS_COMPILE, every
// tool by its variable, stage 0's gcc as the compiler for build-platform
// helpers (HOSTCC, CC_FOR_BUILD, BUILD_CC), and pkg-config pointed at the
// sysroot.
func (t Target) CrossEnv(basePath string) map[string]string {
	m := map[string]string{
		"PATH":                   recipe.ToolchainPrefix + "/bin:" + basePath,
		"CROSS_COMPILE":          t.Triplet + "-",
		"HOSTCC":                 "gcc",
		"HOSTCXX":                "g++",
		"CC_FOR_BUILD":           "gcc",
		"BUILD_CC":               "gcc",
		"PKG_CONFIG_SYSROOT_DIR": SysrootDir,
		"PKG_CONFIG_LIBDIR":      SysrootDir + "/usr/lib/pkgconfig:" + SysrootDir + "/usr/share/pkgconfig",
	}
	for v, tool := range Tools {
		m[v] = t.Triplet + "-" + tool
	}
	return m
}
