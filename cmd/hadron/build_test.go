package main

import (
	"bytes"
	"debug/elf"
	"encoding/binary"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/hadron-linux/hadron/buildkit-frontends/convert"
	"github.com/hadron-linux/hadron/buildkit-frontends/frontend"
	"github.com/hadron-linux/hadron/buildkit-frontends/solve"
	"github.com/hadron-linux/hadron/internal/project/projecttest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// repoDir is the real project tree.
func repoDir(t *testing.T) string {
	t.Helper()
	d, err := filepath.Abs("../..")
	require.NoError(t, err)
	return d
}

// fakeTools is a tools directory for builds that are not meant to reach a
// build step: the test binary is not called hadron, so `hadron build`
// cannot pass its own directory (see toolsDir).
func fakeTools(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "hadron"), nil, 0o755))
	return dir
}

// TestBuildFailsFastBeforeBuildKit: problems in the tree or the target are
// reported by the local planning step, before any engine is contacted
// (the --addr below would fail differently).
func TestBuildFailsFastBeforeBuildKit(t *testing.T) {
	dir := writeTree(t, smallTree())
	tools := []string{"--addr", "tcp://127.0.0.1:1", "--tools-dir", fakeTools(t)}
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"unknown target", append([]string{"-C", repoDir(t), "build", "nosuch"}, tools...), `no recipe named "nosuch"`},
		{"unknown platform", append([]string{"-C", repoDir(t), "build", "mini", "--platform", "linux/s390x"}, tools...), "unsupported platform linux/s390x"},
		{"bad output", append([]string{"-C", repoDir(t), "build", "mini", "-o", "type="}, tools...), "--output"},
		{"bad progress", append([]string{"-C", repoDir(t), "build", "mini", "--progress", "fancy"}, tools...), "--progress"},
		{"broken tree", append([]string{"-C", dir, "build", "mini"}, tools...), "recipe"},
		{"no hadron for the ELF gates", []string{"-C", repoDir(t), "build", "mini", "--addr", "tcp://127.0.0.1:1"}, "pass --tools-dir DIR"},
	}
	// Break the small tree: a dangling build dependency.
	p := filepath.Join(dir, "recipes/musl/recipe.yaml")
	data, err := os.ReadFile(p)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(p, []byte(strings.Replace(string(data), "name: musl", "name: musl\ndependencies:\n  build: [ghost]", 1)), 0o644))
	tests[4].want = "ghost"

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			start := time.Now()
			_, stderr, code := runHadronCLI(t, tt.args...)
			assert.Equal(t, 1, code)
			assert.Contains(t, stderr, tt.want)
			assert.NotContains(t, stderr, "cannot reach BuildKit", "planning must fail before the engine is contacted")
			t.Logf("failed in %s: %s", time.Since(start).Round(time.Millisecond), strings.TrimSpace(stderr))
		})
	}
}

// TestBuildUnreachableBuildKit: a valid plan with an engine that is not
// there fails quickly, naming the address.
func TestBuildUnreachableBuildKit(t *testing.T) {
	start := time.Now()
	_, stderr, code := runHadronCLI(t, "-C", repoDir(t), "build", "mini", "--addr", "tcp://127.0.0.1:1", "--tools-dir", fakeTools(t))
	assert.Equal(t, 1, code)
	assert.Contains(t, stderr, "cannot reach BuildKit at tcp://127.0.0.1:1")
	assert.Less(t, time.Since(start), 30*time.Second)
}

// TestPlanBuildPrintsSubstitutes: before it builds, `hadron build` prints
// every substitute it uses once for each recipe it stands in for, naming
// that recipe; a recipe the substitute does not list is not mentioned.
func TestPlanBuildPrintsSubstitutes(t *testing.T) {
	const (
		name     = "make-1.0-alt"
		file     = "vendor-hashes/substitutes/" + name + ".yaml"
		upstream = "https://example.org/src/make-1.0.tar.gz"
		origin   = "Example source package make 1.0-1"
	)
	// make-doc and make-man are built from make's own tarball.
	fsys := smallTree()
	for _, r := range []string{"make-doc", "make-man"} {
		sp := projecttest.Spec{Name: r, Build: []string{"make"}}
		fsys["recipes/"+r+"/recipe.yaml"] = &fstest.MapFile{Data: []byte(strings.Replace(string(sp.RecipeYAML()), "${name}-", "make-", 1))}
		fsys["vendor-hashes/"+r+".lock"] = &fstest.MapFile{Data: []byte(strings.Replace(string(projecttest.Spec{Name: "make"}.LockYAML()), "recipe: make\n", "recipe: "+r+"\n", 1))}
	}
	projecttest.Image(fsys, "docs", "make-doc", "make-man")
	var decl strings.Builder
	decl.WriteString("name: " + name + "\nrecipes: [make, make-doc]\nupstream: " + upstream + "\norigin: " + origin + "\ndiffers: nothing\nfiles:\n")
	for _, u := range []string{"http://deb.example.org/make_1.0.orig.tar.gz", "http://deb.example.org/make_1.0-1.debian.tar.gz"} {
		decl.WriteString("  - url: " + u + "\n    sha256: " + strings.Repeat("ab", 32) + "\n    sha512: " + strings.Repeat("cd", 64) + "\n    size: 10\n")
	}
	fsys[file] = &fstest.MapFile{Data: []byte(decl.String())}

	var log bytes.Buffer
	_, err := planBuild(solve.Request{Dir: writeTree(t, fsys), ToolsDir: fakeTools(t), Options: frontend.Options{
		Target:   "docs",
		Settings: convert.Settings{Substitutes: []string{name}},
	}}, &log)
	require.NoError(t, err)
	// In the order of the converter's sources (recipe and URL joined).
	assert.Equal(t, "substitute (amd64): make-doc: "+upstream+" is substituted by "+name+" ("+origin+"; "+file+")\n"+
		"substitute (amd64): make: "+upstream+" is substituted by "+name+" ("+origin+"; "+file+")\n", log.String())
}

// minimalELF is an ELF64 x86-64 executable header with one program header
// of type progType and nothing else: enough for debug/elf to read.
func minimalELF(progType elf.ProgType) []byte {
	var b bytes.Buffer
	hdr := elf.Header64{
		Ident:     [elf.EI_NIDENT]byte{0x7f, 'E', 'L', 'F', byte(elf.ELFCLASS64), byte(elf.ELFDATA2LSB), byte(elf.EV_CURRENT)},
		Type:      uint16(elf.ET_EXEC),
		Machine:   uint16(elf.EM_X86_64),
		Version:   uint32(elf.EV_CURRENT),
		Phoff:     64,
		Ehsize:    64,
		Phentsize: 56,
		Phnum:     1,
		Shentsize: 64,
	}
	_ = binary.Write(&b, binary.LittleEndian, hdr)
	_ = binary.Write(&b, binary.LittleEndian, elf.Prog64{Type: uint32(progType)})
	return b.Bytes()
}

// TestWarnDynamicTool: a hadron binary with a dynamic loader (PT_INTERP)
// in the tools folder is named in a warning (image setup steps run it on
// musl); a static one, or none, is not.
func TestWarnDynamicTool(t *testing.T) {
	for _, tc := range []struct {
		name string
		prog elf.ProgType
		warn bool
	}{
		{"dynamic", elf.PT_INTERP, true},
		{"static", elf.PT_LOAD, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			require.NoError(t, os.WriteFile(filepath.Join(dir, "hadron"), minimalELF(tc.prog), 0o755))
			var w strings.Builder
			warnDynamicTool(&w, dir)
			if tc.warn {
				assert.Contains(t, w.String(), filepath.Join(dir, "hadron")+" is dynamically linked")
				assert.Contains(t, w.String(), "CGO_ENABLED=0")
			} else {
				assert.Empty(t, w.String())
			}
		})
	}
	var w strings.Builder
	warnDynamicTool(&w, t.TempDir())
	assert.Empty(t, w.String(), "no binary, no warning")
}
