// Package layout holds tests of the repository's shape: which packages may
// import which.
package layout

import (
	"fmt"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// module is the module path of the repository (see go.mod).
const module = "github.com/hadron-linux/hadron"

// layers lists, for each top-level folder holding Go code, the top-level
// folders its packages must not import. Imports only point down:
// cmd -> buildkit-frontends -> toolchain/kernel/bootchain -> internal.
// tests/ is test scaffolding: production code never imports it (test
// files may).
var layers = map[string][]string{
	"internal":           {"cmd", "buildkit-frontends", "toolchain", "kernel", "bootchain", "tests"},
	"toolchain":          {"cmd", "buildkit-frontends", "tests"},
	"kernel":             {"cmd", "buildkit-frontends", "tests"},
	"bootchain":          {"cmd", "buildkit-frontends", "tests"},
	"buildkit-frontends": {"cmd", "tests"},
	"cmd":                {"tests"},
}

// upwardImports parses the imports of every .go file of fsys (a module
// root) and returns one "file: imports pkg (folder must not import
// folder)" line per import against layers, sorted. Test files may import
// tests/ but follow every other rule.
func upwardImports(fsys fs.FS) ([]string, error) {
	var bad []string
	fset := token.NewFileSet()
	err := fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if name := d.Name(); p != "." && (strings.HasPrefix(name, ".") || name == "testdata" || name == "out") {
				return fs.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(p, ".go") {
			return nil
		}
		top, _, _ := strings.Cut(p, "/")
		forbidden := layers[top]
		if len(forbidden) == 0 {
			return nil
		}
		src, err := fs.ReadFile(fsys, p)
		if err != nil {
			return err
		}
		f, err := parser.ParseFile(fset, p, src, parser.ImportsOnly)
		if err != nil {
			return fmt.Errorf("parse %s: %w", p, err)
		}
		isTest := strings.HasSuffix(p, "_test.go")
		for _, imp := range f.Imports {
			ip, err := strconv.Unquote(imp.Path.Value)
			if err != nil {
				return fmt.Errorf("%s: import %s: %w", p, imp.Path.Value, err)
			}
			rest, ok := strings.CutPrefix(ip, module+"/")
			if !ok {
				continue
			}
			dst, _, _ := strings.Cut(rest, "/")
			for _, f := range forbidden {
				if dst == f && !(isTest && f == "tests") {
					bad = append(bad, fmt.Sprintf("%s:%d: imports %s (%s/ must not import %s/)",
						p, fset.Position(imp.Pos()).Line, ip, top, f))
				}
			}
		}
		return nil
	})
	sort.Strings(bad)
	return bad, err
}

// TestImportsPointDown fails when any package of the tree imports a layer
// above its own.
func TestImportsPointDown(t *testing.T) {
	root, err := filepath.Abs(filepath.Join("..", ".."))
	require.NoError(t, err)
	_, err = os.Stat(filepath.Join(root, "go.mod"))
	require.NoError(t, err, "the module root must be two folders up")
	bad, err := upwardImports(os.DirFS(root))
	require.NoError(t, err)
	assert.Empty(t, bad, "upward imports:\n%s", strings.Join(bad, "\n"))
}

// TestUpwardImportsDetected makes sure the checker itself finds what it
// is meant to find.
func TestUpwardImportsDetected(t *testing.T) {
	file := func(imports ...string) *fstest.MapFile {
		var b strings.Builder
		b.WriteString("package p\n\nimport (\n")
		for _, i := range imports {
			fmt.Fprintf(&b, "\t%q\n", i)
		}
		b.WriteString(")\n")
		return &fstest.MapFile{Data: []byte(b.String())}
	}
	fe := path.Join(module, "buildkit-frontends/frontend")
	tests := []struct {
		name string
		fsys fstest.MapFS
		want []string
	}{
		{
			name: "internal imports a frontend",
			fsys: fstest.MapFS{"internal/solve/solve.go": file("fmt", fe)},
			want: []string{"internal/solve/solve.go:5: imports " + fe + " (internal/ must not import buildkit-frontends/)"},
		},
		{
			name: "kernel imports cmd",
			fsys: fstest.MapFS{"kernel/k/k.go": file(module + "/cmd/hadron")},
			want: []string{"kernel/k/k.go:4: imports " + module + "/cmd/hadron (kernel/ must not import cmd/)"},
		},
		{
			name: "production code imports tests",
			fsys: fstest.MapFS{"buildkit-frontends/convert/x.go": file(module + "/tests/fixtures/tarball")},
			want: []string{"buildkit-frontends/convert/x.go:4: imports " + module + "/tests/fixtures/tarball (buildkit-frontends/ must not import tests/)"},
		},
		{
			name: "downward imports and test fixtures are fine",
			fsys: fstest.MapFS{
				"cmd/hadron/main.go":                   file(fe, module+"/internal/project"),
				"buildkit-frontends/convert/x_test.go": file(module+"/tests/fixtures/tarball", module+"/toolchain"),
				"bootchain/uki/uki.go":                 file(module + "/internal/atomicfile"),
				"tests/e2e/e2e_test.go":                file(module + "/cmd/hadron"),
				"internal/x/testdata/bad.go":           file(module + "/cmd/hadron"),
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			bad, err := upwardImports(tt.fsys)
			require.NoError(t, err)
			assert.Equal(t, tt.want, bad)
		})
	}
}
