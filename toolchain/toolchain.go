// Package toolchain knows Hadron's target triplets, per-arch compiler flags
// and the stage-1 compiler wrapper that points a stage-0 (host) gcc at the
// musl libc built by the musl recipe.
//
// Bootstrap shape: stage 0 is a plain Debian build environment (gcc, make).
// The musl recipe is compiled with it. Every other recipe is compiled by the
// same gcc driven through a specs file that swaps glibc's headers, start
// files and libraries for musl's, taken from the read-only /sysroot merge of
// the recipe's build dependencies. No dependency tree is ever copied.
package toolchain

import (
	"fmt"
	"sort"
	"strings"

	"github.com/hadron-linux/hadron/internal/recipe"
	ocispecs "github.com/opencontainers/image-spec/specs-go/v1"
)

// LibcRecipe is the recipe that provides the C library. A recipe whose build
// environment contains it is compiled with the stage-1 wrapper.
const LibcRecipe = "musl"

// Mount points inside build steps.
const (
	// SysrootDir holds the merged runtime closure of a recipe's build deps.
	SysrootDir = "/sysroot"
	// WrapperDir holds the generated compiler wrapper and specs file.
	WrapperDir = "/hadron"
)

// Target describes one architecture's toolchain facts.
type Target struct {
	// Arch is the architecture these facts are for.
	Arch recipe.Arch
	// Triplet is the GNU triplet Hadron's packages are built for.
	Triplet string
	// HostGCC is the stage-0 compiler that produces code for this arch
	// (a cross gcc from the stage-0 image for foreign arches).
	HostGCC string
	// Loader is the musl dynamic loader path inside the image.
	Loader string
	// KernelArch is the kernel's ARCH= value.
	KernelArch string
	// CFlags are the default optimisation flags.
	CFlags string
	// Platform is the OCI platform of the produced image.
	Platform ocispecs.Platform
	// AsmHeaders is the stage-0 directory holding this arch's asm/ UAPI
	// headers (native multiarch dir, or the cross toolchain's).
	AsmHeaders string
}

var targets = map[recipe.Arch]Target{
	recipe.ArchAMD64: {
		Arch:       recipe.ArchAMD64,
		Triplet:    "x86_64-hadron-linux-musl",
		HostGCC:    "gcc",
		Loader:     "/lib/ld-musl-x86_64.so.1",
		KernelArch: "x86_64",
		CFlags:     "-O2 -pipe",
		Platform:   ocispecs.Platform{OS: "linux", Architecture: "amd64"},
		AsmHeaders: "/usr/include/x86_64-linux-gnu/asm",
	},
	recipe.ArchARM64: {
		Arch:       recipe.ArchARM64,
		Triplet:    "aarch64-hadron-linux-musl",
		HostGCC:    "aarch64-linux-gnu-gcc",
		Loader:     "/lib/ld-musl-aarch64.so.1",
		KernelArch: "arm64",
		CFlags:     "-O2 -pipe",
		Platform:   ocispecs.Platform{OS: "linux", Architecture: "arm64"},
		AsmHeaders: "/usr/aarch64-linux-gnu/include/asm",
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

// Specs returns the gcc specs file that makes the stage-0 gcc compile and
// link against the musl in SysrootDir. Kernel UAPI headers come last from
// WrapperDir/kernel-headers (taken from stage 0 until the kernel headers
// recipe exists).
func (t Target) Specs() string {
	inc := "-nostdinc -isystem " + SysrootDir + "/usr/include -isystem include%s -isystem " + WrapperDir + "/kernel-headers"
	lines := []string{
		"%rename cpp_options old_cpp_options",
		"",
		"*cpp_options:",
		inc + " %(old_cpp_options)",
		"",
		"*cc1:",
		"%(cc1_cpu) " + inc,
		"",
		"*link_libgcc:",
		"-L" + SysrootDir + "/usr/lib -L .%s",
		"",
		"*libgcc:",
		"libgcc.a%s %:if-exists(libgcc_eh.a%s)",
		"",
		"*startfile:",
		"%{!shared: " + SysrootDir + "/usr/lib/Scrt1.o} " + SysrootDir + "/usr/lib/crti.o crtbeginS.o%s",
		"",
		"*endfile:",
		"crtendS.o%s " + SysrootDir + "/usr/lib/crtn.o",
		"",
		"*link:",
		"-dynamic-linker " + t.Loader + " -nostdlib %{shared:-shared} %{static:-static} %{rdynamic:-export-dynamic}",
		"",
	}
	return strings.Join(lines, "\n")
}

// Wrapper returns the shell script installed as WrapperDir/bin/cc: the
// stage-0 gcc for this arch with the musl specs.
func (t Target) Wrapper() string {
	return "#!/bin/sh\nexec " + t.HostGCC + " -specs " + WrapperDir + "/musl-gcc.specs \"$@\"\n"
}

// KernelHeaderDirs lists the stage-0 directories that hold the Linux UAPI
// headers musl programs need; each is copied to kernel-headers/<base>.
func (t Target) KernelHeaderDirs() []string {
	out := []string{}
	for _, d := range []string{"linux", "asm-generic", "mtd", "scsi", "sound", "video", "drm", "misc", "rdma"} {
		out = append(out, "/usr/include/"+d)
	}
	return append(out, t.AsmHeaders)
}
