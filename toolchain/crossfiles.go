package toolchain

import (
	"fmt"
	"strings"
)

// Where the cross files are mounted in the build steps of every package
// built with the cross toolchain (read-only): the meson and cmake styles
// pass them to `meson setup` and `cmake`, custom recipes may too.
const (
	CrossFilesDir      = "/hadron"
	MesonCrossFile     = CrossFilesDir + "/meson-cross.ini"
	CMakeToolchainFile = CrossFilesDir + "/toolchain.cmake"
)

// CPUFamily is the target's CPU as meson's host_machine cpu_family and
// CMake's CMAKE_SYSTEM_PROCESSOR spell it ("x86_64", "aarch64").
func (t Target) CPUFamily() string {
	cpu, _, _ := strings.Cut(t.Triplet, "-")
	return cpu
}

// MesonCross is the meson cross file of a recipe built for t: the cross
// toolchain's programs, pkg-config and the sysroot at SysrootDir. Every
// package is a cross build, amd64 on the amd64 stage 0 too
// (needs_exe_wrapper): the musl binaries it makes cannot run there, so
// meson must never try to.
func (t Target) MesonCross() string {
	var b strings.Builder
	b.WriteString("[binaries]\n")
	for _, kv := range [][2]string{
		{"c", "gcc"}, {"cpp", "g++"}, {"ar", "ar"}, {"strip", "strip"}, {"nm", "nm"},
		{"objcopy", "objcopy"}, {"ranlib", "ranlib"}, {"readelf", "readelf"},
	} {
		fmt.Fprintf(&b, "%s = '%s-%s'\n", kv[0], t.Triplet, kv[1])
	}
	// "pkgconfig": the name meson before 1.3 knows (stage 0 has Debian's
	// 1.0); later versions still accept it.
	b.WriteString("pkgconfig = 'pkg-config'\n")
	b.WriteString("\n[properties]\n")
	fmt.Fprintf(&b, "sys_root = '%s'\n", SysrootDir)
	fmt.Fprintf(&b, "pkg_config_libdir = '%s/usr/lib/pkgconfig:%s/usr/share/pkgconfig'\n", SysrootDir, SysrootDir)
	b.WriteString("needs_exe_wrapper = true\n")
	b.WriteString("\n[host_machine]\nsystem = 'linux'\n")
	fmt.Fprintf(&b, "cpu_family = '%s'\ncpu = '%s'\nendian = 'little'\n", t.CPUFamily(), t.CPUFamily())
	return b.String()
}

// CMakeToolchain is the CMake toolchain file of a recipe built for t:
// the cross compilers, the sysroot at SysrootDir, and find_* looking for
// libraries, headers and packages only there (programs only on the build
// platform).
func (t Target) CMakeToolchain() string {
	var b strings.Builder
	b.WriteString("set(CMAKE_SYSTEM_NAME Linux)\n")
	fmt.Fprintf(&b, "set(CMAKE_SYSTEM_PROCESSOR %s)\n", t.CPUFamily())
	fmt.Fprintf(&b, "set(CMAKE_C_COMPILER %s-gcc)\n", t.Triplet)
	fmt.Fprintf(&b, "set(CMAKE_CXX_COMPILER %s-g++)\n", t.Triplet)
	fmt.Fprintf(&b, "set(CMAKE_AR %s-ar)\n", t.Triplet)
	fmt.Fprintf(&b, "set(CMAKE_RANLIB %s-ranlib)\n", t.Triplet)
	fmt.Fprintf(&b, "set(CMAKE_STRIP %s-strip)\n", t.Triplet)
	fmt.Fprintf(&b, "set(CMAKE_SYSROOT %s)\n", SysrootDir)
	fmt.Fprintf(&b, "set(CMAKE_FIND_ROOT_PATH %s)\n", SysrootDir)
	b.WriteString("set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)\n")
	b.WriteString("set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)\n")
	b.WriteString("set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)\n")
	b.WriteString("set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)\n")
	return b.String()
}
