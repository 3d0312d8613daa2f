package elfcheck

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/hadron-linux/hadron/internal/recipe"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Fixture sources. "nolibc" programs need no C library at all: they are
// linked with -nostdlib against stub libraries and the musl loader as
// interpreter, so each one breaks exactly the rule its case is about. They
// are never run.
var sources = map[string]string{
	"hello.c":   "#include <stdio.h>\nint main(void) { puts(\"hello\"); return 0; }\n",
	"foo.c":     "int foo(void) { return 42; }\n",
	"prog.c":    "int foo(void);\nvoid _start(void) { foo(); for (;;); }\n",
	"start.c":   "void _start(void) { for (;;); }\n",
	"empty.c":   "int stub;\n",
	"glibc.map": "GLIBC_2.2.5 { global: foo; local: *; };\n",
	// What GCC's libgcc-glibc.ver gives libgcc_s on aarch64-linux-musl.
	"gcccompat.map": "GCC_3.0 { local: *; };\nGLIBC_2.0 { global: foo; } GCC_3.0;\n",
}

const muslLoader = "/lib/ld-musl-x86_64.so.1"

// fixtures builds ELF files with the host compilers, each once per test.
type fixtures struct{ dir string }

func newFixtures(tb testing.TB) *fixtures {
	tb.Helper()
	if runtime.GOOS != "linux" || runtime.GOARCH != "amd64" {
		tb.Skipf("elfcheck fixtures are built with the host gcc and need a linux/amd64 host, not %s/%s", runtime.GOOS, runtime.GOARCH)
	}
	dir := tb.TempDir()
	for name, src := range sources {
		require.NoError(tb, os.WriteFile(filepath.Join(dir, name), []byte(src), 0o644))
	}
	return &fixtures{dir: dir}
}

// needTool returns the first of candidates (paths or names on $PATH) that
// exists, or skips the test saying what is missing.
func needTool(tb testing.TB, pkg string, candidates ...string) string {
	tb.Helper()
	for _, c := range candidates {
		if p, err := exec.LookPath(c); err == nil {
			return p
		}
	}
	tb.Skipf("fixture needs %s (Debian package %s), not installed", strings.Join(candidates, " or "), pkg)
	return ""
}

// build runs tool with args and "-o out" in the fixture folder unless out
// was built already, and returns out's path.
func (fx *fixtures) build(tb testing.TB, out string, tool []string, args ...string) string {
	tb.Helper()
	p := filepath.Join(fx.dir, out)
	if _, err := os.Stat(p); err == nil {
		return p
	}
	cmd := exec.Command(tool[0], append(append(tool[1:], args...), "-o", p)...)
	cmd.Dir = fx.dir
	if b, err := cmd.CombinedOutput(); err != nil {
		tb.Fatalf("building fixture %s: %v\n%s", out, err, b)
	}
	return p
}

func (fx *fixtures) gcc(tb testing.TB) []string {
	return []string{needTool(tb, "gcc", "gcc")}
}

// glibcHello is a default, glibc-linked dynamic executable.
func (fx *fixtures) glibcHello(tb testing.TB) string {
	return fx.build(tb, "glibc-hello", fx.gcc(tb), "hello.c")
}

// glibcStatic is a static glibc executable.
func (fx *fixtures) glibcStatic(tb testing.TB) string {
	return fx.build(tb, "glibc-static", fx.gcc(tb), "-static", "hello.c")
}

// libfoo is a C-library-free shared object with SONAME libfoo.so.1.
func (fx *fixtures) libfoo(tb testing.TB) string {
	return fx.build(tb, "libfoo.so.1", fx.gcc(tb), "-shared", "-fPIC", "-nostdlib", "-Wl,-soname,libfoo.so.1", "foo.c")
}

// stub is an empty shared object with the given SONAME.
func (fx *fixtures) stub(tb testing.TB, soname string) string {
	return fx.build(tb, soname, fx.gcc(tb), "-shared", "-fPIC", "-nostdlib", "-Wl,-soname,"+soname, "empty.c")
}

// prog is a C-library-free executable with the musl loader as interpreter
// that needs libfoo.so.1, linked with the extra flags.
func (fx *fixtures) prog(tb testing.TB, out string, ldflags ...string) string {
	args := []string{"-nostdlib", "-Wl,--dynamic-linker=" + muslLoader, "prog.c", fx.libfoo(tb)}
	return fx.build(tb, out, fx.gcc(tb), append(args, ldflags...)...)
}

// libcore is a shared object with no run path that needs libfoo.so.1,
// like systemd's libsystemd-core needing libsystemd-shared.
func (fx *fixtures) libcore(tb testing.TB) string {
	return fx.build(tb, "libcore.so", fx.gcc(tb), "-shared", "-fPIC", "-nostdlib", "-Wl,-soname,libcore.so",
		"-Wl,--no-as-needed", "empty.c", fx.libfoo(tb))
}

// coreProg needs libcore.so only, linked with the extra flags.
func (fx *fixtures) coreProg(tb testing.TB, out string, ldflags ...string) string {
	args := []string{"-nostdlib", "-Wl,--dynamic-linker=" + muslLoader, "-Wl,--no-as-needed", "start.c", fx.libcore(tb),
		"-Wl,-rpath-link," + fx.dir}
	return fx.build(tb, out, fx.gcc(tb), append(args, ldflags...)...)
}

// libcNames needs the names musl's libc answers to.
func (fx *fixtures) libcNames(tb testing.TB) string {
	return fx.build(tb, "libc-names", fx.gcc(tb), "-nostdlib", "-Wl,--dynamic-linker="+muslLoader, "-Wl,--no-as-needed", "start.c",
		fx.stub(tb, "libc.musl-x86_64.so.1"), fx.stub(tb, "ld-musl-x86_64.so.1"), fx.stub(tb, "libm.so.6"))
}

// libgccCompat is a libgcc_s.so.1 defining GLIBC_2.0 as GCC's
// libgcc-glibc.ver makes it do on aarch64, musl targets included.
func (fx *fixtures) libgccCompat(tb testing.TB) string {
	return fx.build(tb, "libgcc_s.so.1", fx.gcc(tb), "-shared", "-fPIC", "-nostdlib", "-Wl,-soname,libgcc_s.so.1",
		"-Wl,--version-script=gcccompat.map", "foo.c")
}

// gccCompatUser needs foo@GLIBC_2.0 from libgcc_s.so.1, as libstdc++
// does on aarch64.
func (fx *fixtures) gccCompatUser(tb testing.TB) string {
	return fx.build(tb, "gcc-compat-user", fx.gcc(tb), "-nostdlib", "-Wl,--dynamic-linker="+muslLoader, "prog.c", fx.libgccCompat(tb))
}

// glibcDefiner is a shared object that defines the version GLIBC_2.2.5.
func (fx *fixtures) glibcDefiner(tb testing.TB) string {
	return fx.build(tb, "libglibcdef.so", fx.gcc(tb), "-shared", "-fPIC", "-nostdlib", "-Wl,--version-script=glibc.map", "foo.c")
}

func (fx *fixtures) object(tb testing.TB) string {
	return fx.build(tb, "foo.o", fx.gcc(tb), "-c", "foo.c")
}

func (fx *fixtures) archive(tb testing.TB) string {
	p := filepath.Join(fx.dir, "libfoo.a")
	ar := needTool(tb, "binutils", "ar")
	if b, err := exec.Command(ar, "rcs", p, fx.object(tb)).CombinedOutput(); err != nil {
		tb.Fatalf("building fixture libfoo.a: %v\n%s", err, b)
	}
	return p
}

// arm64 is a static, C-library-free aarch64 executable.
func (fx *fixtures) arm64(tb testing.TB) string {
	cc := needTool(tb, "gcc-aarch64-linux-gnu", "aarch64-linux-gnu-gcc")
	return fx.build(tb, "arm64-start", []string{cc}, "-static", "-nostdlib", "start.c")
}

// muslHello is a musl dynamic executable built with musl-gcc, and musl's
// libc.so to run it.
func (fx *fixtures) muslHello(tb testing.TB) (exe, libc string) {
	cc := needTool(tb, "musl-tools", "/usr/lib/musl/bin/musl-gcc", "musl-gcc")
	for _, p := range []string{"/usr/lib/x86_64-linux-musl/libc.so", "/usr/lib/musl/lib/libc.so"} {
		if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() {
			libc = p
		}
	}
	if libc == "" {
		tb.Skip("fixture needs musl's libc.so (Debian package musl), not installed")
	}
	return fx.build(tb, "musl-hello", []string{cc}, "hello.c"), libc
}

// malformed starts like an ELF file and then is not one.
const malformed = "\x7fELF\x02\x01\x01 this is not an ELF header"

// place copies src to name inside root.
func place(tb testing.TB, root, name, src string) {
	tb.Helper()
	b, err := os.ReadFile(src)
	require.NoError(tb, err)
	write(tb, root, name, string(b))
}

func write(tb testing.TB, root, name, data string) {
	tb.Helper()
	p := filepath.Join(root, name)
	require.NoError(tb, os.MkdirAll(filepath.Dir(p), 0o755))
	require.NoError(tb, os.WriteFile(p, []byte(data), 0o755))
}

func symlink(tb testing.TB, root, name, target string) {
	tb.Helper()
	p := filepath.Join(root, name)
	require.NoError(tb, os.MkdirAll(filepath.Dir(p), 0o755))
	require.NoError(tb, os.Symlink(target, p))
}

func TestCheckTree(t *testing.T) {
	fx := newFixtures(t)
	tests := []struct {
		name  string
		arch  recipe.Arch
		pkg   string
		setup func(t *testing.T, root string)
		// want are prefixes of the violations' strings, in order.
		want    []string
		checked int
	}{
		{
			name: "glibc dynamic executable",
			pkg:  "xz",
			setup: func(t *testing.T, root string) {
				place(t, root, "usr/bin/xz", fx.glibcHello(t))
			},
			want: []string{
				"xz: usr/bin/xz: interpreter: /lib64/ld-linux-x86-64.so.2, want /lib/ld-musl-x86_64.so.1",
				"xz: usr/bin/xz: needed: libc.so.6 not found in /lib:/usr/local/lib:/usr/lib",
				"xz: usr/bin/xz: glibc-symbol-version: requires GLIBC_2.",
			},
			checked: 1,
		},
		{
			name: "files sorted by path",
			setup: func(t *testing.T, root string) {
				place(t, root, "usr/bin/b", fx.glibcHello(t))
				place(t, root, "usr/bin/a", fx.glibcHello(t))
			},
			want: []string{
				"usr/bin/a: interpreter: ", "usr/bin/a: needed: ", "usr/bin/a: glibc-symbol-version: ",
				"usr/bin/b: interpreter: ", "usr/bin/b: needed: ", "usr/bin/b: glibc-symbol-version: ",
			},
			checked: 2,
		},
		{
			name: "static executable",
			setup: func(t *testing.T, root string) {
				place(t, root, "usr/bin/hello", fx.glibcStatic(t))
			},
			checked: 1,
		},
		{
			name: "runpath into the build folder",
			setup: func(t *testing.T, root string) {
				place(t, root, "usr/lib/libfoo.so.1", fx.libfoo(t))
				place(t, root, "usr/bin/prog", fx.prog(t, "prog-build-rpath", "-Wl,-rpath,/build/lib:/usr/lib"))
			},
			want:    []string{"usr/bin/prog: build-path-rpath: "},
			checked: 2,
		},
		{
			name: "old-style rpath into the sysroot",
			setup: func(t *testing.T, root string) {
				place(t, root, "usr/lib/libfoo.so.1", fx.libfoo(t))
				place(t, root, "usr/bin/prog", fx.prog(t, "prog-sysroot-rpath", "-Wl,--disable-new-dtags", "-Wl,-rpath,/sysroot/usr/lib"))
			},
			want:    []string{"usr/bin/prog: build-path-rpath: RPATH entry /sysroot/usr/lib is a build path"},
			checked: 2,
		},
		{
			name: "needed library missing from the tree",
			setup: func(t *testing.T, root string) {
				place(t, root, "usr/bin/prog", fx.prog(t, "prog"))
			},
			want:    []string{"usr/bin/prog: needed: libfoo.so.1 not found in /lib:/usr/local/lib:/usr/lib"},
			checked: 1,
		},
		{
			name: "a library's dependency found through the run path of the program that loads it",
			setup: func(t *testing.T, root string) {
				place(t, root, "usr/lib/priv/libfoo.so.1", fx.libfoo(t))
				place(t, root, "usr/lib/priv/libcore.so", fx.libcore(t))
				place(t, root, "usr/bin/prog", fx.coreProg(t, "core-prog", "-Wl,-rpath,/usr/lib/priv"))
			},
			checked: 3,
		},
		{
			name: "a library's dependency missing for one of its loaders",
			setup: func(t *testing.T, root string) {
				place(t, root, "usr/lib/priv/libfoo.so.1", fx.libfoo(t))
				place(t, root, "usr/lib/libcore.so", fx.libcore(t))
				place(t, root, "usr/bin/prog", fx.coreProg(t, "core-prog", "-Wl,-rpath,/usr/lib/priv"))
				place(t, root, "usr/bin/other", fx.coreProg(t, "core-other"))
			},
			want:    []string{"usr/lib/libcore.so: needed: libfoo.so.1 not found in /lib:/usr/local/lib:/usr/lib"},
			checked: 4,
		},
		{
			name: "a library nothing in the tree loads has only its own run path",
			setup: func(t *testing.T, root string) {
				place(t, root, "usr/lib/priv/libfoo.so.1", fx.libfoo(t))
				place(t, root, "usr/lib/priv/libcore.so", fx.libcore(t))
			},
			want:    []string{"usr/lib/priv/libcore.so: needed: libfoo.so.1 not found in /lib:/usr/local/lib:/usr/lib"},
			checked: 2,
		},
		{
			name: "needed library found through $ORIGIN",
			setup: func(t *testing.T, root string) {
				place(t, root, "opt/foo/lib/libfoo.so.1", fx.libfoo(t))
				place(t, root, "opt/foo/bin/prog", fx.prog(t, "prog-origin", "-Wl,-rpath,$ORIGIN/../lib"))
			},
			checked: 2,
		},
		{
			name: "needed library found through an absolute symbolic link inside the tree",
			setup: func(t *testing.T, root string) {
				place(t, root, "opt/foo/lib/libfoo.so.1", fx.libfoo(t))
				symlink(t, root, "usr/lib/libfoo.so.1", "/opt/foo/lib/libfoo.so.1")
				symlink(t, root, "lib", "usr/lib")
				place(t, root, "usr/bin/prog", fx.prog(t, "prog"))
			},
			checked: 2,
		},
		{
			name: "symbolic links never leave the tree",
			setup: func(t *testing.T, root string) {
				host := fx.libfoo(t) // exists on the host, outside root
				symlink(t, root, "usr/lib/libfoo.so.1", host)
				symlink(t, root, "lib/libfoo.so.1", "../../../../../../../../.."+host)
				place(t, root, "usr/bin/prog", fx.prog(t, "prog"))
			},
			want:    []string{"usr/bin/prog: needed: libfoo.so.1 not found"},
			checked: 1,
		},
		{
			name: "symbolic link loop",
			setup: func(t *testing.T, root string) {
				symlink(t, root, "usr/lib/libfoo.so.1", "libfoo.so.1")
				place(t, root, "usr/bin/prog", fx.prog(t, "prog"))
			},
			want:    []string{"usr/bin/prog: needed: libfoo.so.1 not found"},
			checked: 1,
		},
		{
			name: "dangling symbolic links are not ELF problems",
			setup: func(t *testing.T, root string) {
				symlink(t, root, "usr/bin/broken", "/nowhere")
				symlink(t, root, "usr/lib/libbar.so.1", "libbar.so.1.2.3")
				place(t, root, "usr/bin/hello", fx.glibcStatic(t))
			},
			checked: 1,
		},
		{
			name: "musl's libc answers for its own names",
			setup: func(t *testing.T, root string) {
				place(t, root, "usr/lib/libc.so", fx.stub(t, "libc.so"))
				place(t, root, "usr/bin/prog", fx.libcNames(t))
			},
			checked: 2,
		},
		{
			name: "musl's names without musl",
			setup: func(t *testing.T, root string) {
				place(t, root, "usr/bin/prog", fx.libcNames(t))
			},
			want: []string{
				"usr/bin/prog: needed: ld-musl-x86_64.so.1 not found",
				"usr/bin/prog: needed: libc.musl-x86_64.so.1 not found",
				"usr/bin/prog: needed: libm.so.6 not found",
			},
			checked: 1,
		},
		{
			name: "loader search path file replaces the default",
			setup: func(t *testing.T, root string) {
				write(t, root, "etc/ld-musl-x86_64.path", "/opt/lib\n/opt/lib64\n")
				place(t, root, "opt/lib/libfoo.so.1", fx.libfoo(t))
				place(t, root, "usr/bin/prog", fx.prog(t, "prog"))
			},
			checked: 2,
		},
		{
			name: "loader search path file leaves out the default",
			setup: func(t *testing.T, root string) {
				write(t, root, "etc/ld-musl-x86_64.path", "/opt/lib:/opt/lib64")
				place(t, root, "usr/lib/libfoo.so.1", fx.libfoo(t))
				place(t, root, "usr/bin/prog", fx.prog(t, "prog"))
			},
			want:    []string{"usr/bin/prog: needed: libfoo.so.1 not found in /opt/lib:/opt/lib64"},
			checked: 2,
		},
		{
			name: "glibc symbol version defined",
			setup: func(t *testing.T, root string) {
				place(t, root, "usr/lib/libglibcdef.so", fx.glibcDefiner(t))
			},
			want:    []string{"usr/lib/libglibcdef.so: glibc-symbol-version: defines GLIBC_2.2.5"},
			checked: 1,
		},
		{
			name: "GCC's GLIBC_2.0 compatibility version of libgcc_s is no glibc dependency",
			setup: func(t *testing.T, root string) {
				place(t, root, "usr/lib/libgcc_s.so.1", fx.libgccCompat(t))
				place(t, root, "usr/bin/prog", fx.gccCompatUser(t))
			},
			checked: 2,
		},
		{
			name: "the same version from another library is",
			setup: func(t *testing.T, root string) {
				place(t, root, "usr/lib/libglibcdef.so", fx.glibcDefiner(t))
				place(t, root, "usr/lib/libgcc_s.so.1", fx.libgccCompat(t))
			},
			want:    []string{"usr/lib/libglibcdef.so: glibc-symbol-version: defines GLIBC_2.2.5"},
			checked: 2,
		},
		{
			name: "non-ELF files, objects and archives are skipped",
			setup: func(t *testing.T, root string) {
				place(t, root, "usr/lib/foo.o", fx.object(t))
				place(t, root, "usr/lib/libfoo.a", fx.archive(t))
				write(t, root, "usr/share/doc/README", "hello\n")
				write(t, root, "usr/share/short", "\x7fEL")
				write(t, root, "empty", "")
			},
		},
		{
			name: "malformed ELF",
			setup: func(t *testing.T, root string) {
				write(t, root, "usr/bin/broken", malformed)
			},
			want:    []string{"usr/bin/broken: malformed: "},
			checked: 1,
		},
		{
			name: "firmware, debug information and GRUB's platform files are skipped",
			setup: func(t *testing.T, root string) {
				write(t, root, "usr/lib/firmware/dsp.elf", malformed)
				write(t, root, "usr/lib/debug/usr/bin/hello.debug", malformed)
				place(t, root, "usr/lib/grub/arm64-efi/kernel.exec", fx.arm64(t))
			},
		},
		{
			name: "arm64 executable checked as amd64",
			setup: func(t *testing.T, root string) {
				place(t, root, "usr/bin/start", fx.arm64(t))
			},
			want:    []string{"usr/bin/start: machine: EM_AARCH64, want EM_X86_64"},
			checked: 1,
		},
		{
			name: "arm64 executable checked as arm64",
			arch: recipe.ArchARM64,
			setup: func(t *testing.T, root string) {
				place(t, root, "usr/bin/start", fx.arm64(t))
			},
			checked: 1,
		},
		{
			name: "musl dynamic executable",
			pkg:  "hello",
			setup: func(t *testing.T, root string) {
				exe, libc := fx.muslHello(t)
				place(t, root, "usr/lib/libc.so", libc)
				symlink(t, root, "lib/ld-musl-x86_64.so.1", "/usr/lib/libc.so")
				place(t, root, "usr/bin/hello", exe)
			},
			checked: 2,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := t.TempDir()
			tt.setup(t, root)
			arch := tt.arch
			if arch == "" {
				arch = recipe.ArchAMD64
			}
			rep, err := Check(os.DirFS(root), Options{Arch: arch, Package: tt.pkg})
			require.NoError(t, err)
			got := make([]string, len(rep.Violations))
			for i, v := range rep.Violations {
				got[i] = v.String()
			}
			require.Len(t, got, len(tt.want), "violations:\n%s", strings.Join(got, "\n"))
			for i, w := range tt.want {
				assert.True(t, strings.HasPrefix(got[i], w), "violation %d:\n got %s\nwant %s…", i, got[i], w)
			}
			assert.Equal(t, tt.checked, rep.Checked, "ELF files checked")

			vs, err := CheckTree(os.DirFS(root), Options{Arch: arch, Package: tt.pkg})
			require.NoError(t, err)
			assert.Equal(t, rep.Violations, vs, "CheckTree and Check disagree")
		})
	}
}

func TestCheckTreeUnknownArch(t *testing.T) {
	_, err := CheckTree(os.DirFS(t.TempDir()), Options{Arch: "riscv64"})
	assert.ErrorContains(t, err, `unknown architecture "riscv64"`)
}

func TestCheckTreeMissingDir(t *testing.T) {
	_, err := CheckTree(os.DirFS(filepath.Join(t.TempDir(), "absent")), Options{Arch: recipe.ArchAMD64})
	assert.Error(t, err)
}

func TestViolationString(t *testing.T) {
	tests := []struct {
		v    Violation
		want string
	}{
		{
			v:    Violation{Package: "xz", File: "usr/bin/xz", Rule: RuleInterpreter, Msg: "/lib64/ld-linux-x86-64.so.2, want /lib/ld-musl-x86_64.so.1"},
			want: "xz: usr/bin/xz: interpreter: /lib64/ld-linux-x86-64.so.2, want /lib/ld-musl-x86_64.so.1",
		},
		{
			v:    Violation{File: "usr/lib/liblzma.so.5", Rule: RuleNeeded, Msg: "libc.so.6 not found in /lib:/usr/local/lib:/usr/lib"},
			want: "usr/lib/liblzma.so.5: needed: libc.so.6 not found in /lib:/usr/local/lib:/usr/lib",
		},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, tt.v.String())
	}
}

func TestIsBuildPath(t *testing.T) {
	tests := []struct {
		dir  string
		want bool
	}{
		{"/build", true},
		{"/build/lib", true},
		{"/sysroot/usr/lib", true},
		{"/tmp/x/.libs", true},
		{"/hadron/lib", true},
		{"/out/usr/lib", true},
		{"/src/0/lib", true},
		{"/work//lib", true},
		{"/builder/lib", false},
		{"/usr/lib", false},
		{"$ORIGIN/../lib", false},
		{"lib", false},
		{"", false},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, isBuildPath(tt.dir), tt.dir)
	}
}

func BenchmarkCheckTree(b *testing.B) {
	fx := newFixtures(b)
	root := b.TempDir()
	place(b, root, "usr/lib/libc.so", fx.stub(b, "libc.so"))
	place(b, root, "usr/lib/libfoo.so.1", fx.libfoo(b))
	for i := range 50 {
		name := string(rune('a'+i%26)) + string(rune('a'+i/26))
		place(b, root, "usr/bin/glibc-"+name, fx.glibcHello(b))
		place(b, root, "usr/bin/prog-"+name, fx.prog(b, "prog"))
		write(b, root, "usr/share/doc/"+name, strings.Repeat("text\n", 200))
	}
	fsys := os.DirFS(root)
	for b.Loop() {
		if _, err := CheckTree(fsys, Options{Arch: recipe.ArchAMD64}); err != nil {
			b.Fatal(err)
		}
	}
}
