package golden

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// recorder is a testing.TB that records failures instead of failing the
// test; Fatalf stops the caller with a panic that run recovers.
type recorder struct {
	testing.TB
	errors, fatals []string
}

type fatal struct{}

func (r *recorder) Errorf(format string, args ...any) {
	r.errors = append(r.errors, fmt.Sprintf(format, args...))
}

func (r *recorder) Fatalf(format string, args ...any) {
	r.fatals = append(r.fatals, fmt.Sprintf(format, args...))
	panic(fatal{})
}

// run calls Assert with a recorder and returns it.
func run(t *testing.T, name string, got []byte) *recorder {
	r := &recorder{TB: t}
	func() {
		defer func() {
			if p := recover(); p != nil {
				if _, ok := p.(fatal); !ok {
					panic(p)
				}
			}
		}()
		Assert(r, name, got)
	}()
	return r
}

func TestAssert(t *testing.T) {
	tests := []struct {
		name, file, got string
		update          bool
		wantErr         string // in an Errorf message
		wantFatal       string // in a Fatalf message
		wantFile        string // content of testdata/file afterwards
	}{
		{name: "match", file: "a.golden", got: "hello\n", wantFile: "hello\n"},
		{name: "differs", file: "a.golden", got: "bye\n", wantErr: "rerun with -update", wantFile: "hello\n"},
		{name: "missing", file: "new.golden", got: "x", wantFatal: "run the test with -update to create it"},
		{name: "update rewrites", file: "a.golden", got: "bye\n", update: true, wantFile: "bye\n"},
		{name: "update creates", file: "sub/new.golden", got: "x", update: true, wantFile: "x"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Chdir(t.TempDir())
			require.NoError(t, os.Mkdir("testdata", 0o755))
			require.NoError(t, os.WriteFile(filepath.Join("testdata", "a.golden"), []byte("hello\n"), 0o644))
			defer func(old bool) { *update = old }(*update)
			*update = tt.update
			assert.Equal(t, tt.update, Updating())

			r := run(t, tt.file, []byte(tt.got))
			if tt.wantErr == "" {
				assert.Empty(t, r.errors)
			} else {
				require.Len(t, r.errors, 1)
				assert.Contains(t, r.errors[0], tt.wantErr)
			}
			if tt.wantFatal == "" {
				assert.Empty(t, r.fatals)
			} else {
				require.Len(t, r.fatals, 1)
				assert.Contains(t, r.fatals[0], tt.wantFatal)
			}
			if tt.wantFile != "" {
				b, err := os.ReadFile(filepath.Join("testdata", tt.file))
				require.NoError(t, err)
				assert.Equal(t, tt.wantFile, string(b))
			}
		})
	}
}
