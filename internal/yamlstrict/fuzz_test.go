package yamlstrict

import (
	"errors"
	"testing"

	"github.com/hadron-linux/hadron/internal/errlist"
)

// FuzzDecode checks that no input makes Decode panic and that every problem
// it reports names the file.
func FuzzDecode(f *testing.F) {
	for _, s := range []string{
		"name: a\nitems:\n  - style: x\n    args: [a]\n",
		"build: {env: {A: b, A: c}}\n",
		"a: &x [*x]\n",
		"name: [\n",
		"---\n---\n",
		"size: 0x10\nenabled: yes\n",
		"<<: {name: a}\n",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, src string) {
		var d doc
		_, err := Decode("f.yaml", []byte(src), &d)
		if err == nil {
			return
		}
		var list errlist.List
		if !errors.As(err, &list) {
			t.Fatalf("error is not an errlist.List: %v", err)
		}
		for _, e := range list {
			if e.File != "f.yaml" {
				t.Fatalf("problem without file: %v", e)
			}
		}
	})
}
