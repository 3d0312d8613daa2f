package frontend

import (
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/hadron-linux/hadron/internal/sbom"
	ocispecs "github.com/opencontainers/image-spec/specs-go/v1"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// sampleValue is a value, different from every default, for an Options
// field of type typ named name. A field of a new type needs a sample here:
// the round-trip tests fail until it has one.
func sampleValue(t *testing.T, name string, typ reflect.Type) reflect.Value {
	t.Helper()
	if name == "Attest" {
		// Attestation types are checked: only BuildKit's two exist.
		return reflect.ValueOf(map[string]string{AttestSBOM: "", AttestProvenance: "mode=max"})
	}
	samples := map[reflect.Type]any{
		reflect.TypeOf(""):                  "x-" + strings.ToLower(name),
		reflect.TypeOf(int64(0)):            int64(1700000000),
		reflect.TypeOf(false):               true,
		reflect.TypeOf([]string(nil)):       []string{"a-" + strings.ToLower(name), "b"},
		reflect.TypeOf(map[string]string{}): map[string]string{"https://a/": "http://m/a/", "https://b/": "http://m/b/"},
		reflect.TypeOf(sbom.VCS{}):          sbom.VCS{Source: "https://git.example/" + name, Revision: "0123abcd-dirty"},
		reflect.TypeOf([]ocispecs.Platform(nil)): []ocispecs.Platform{
			{OS: "linux", Architecture: "arm64"}, {OS: "linux", Architecture: "amd64"},
		},
	}
	v, ok := samples[typ]
	if !ok {
		t.Fatalf("Options.%s has type %s, which this test has no sample for: add one, and make Attrs and ParseOptions carry the field", name, typ)
	}
	return reflect.ValueOf(v)
}

// optionFields lists the settable leaf fields of Options (embedded structs
// flattened) as index paths with their names.
func optionFields(typ reflect.Type, prefix []int) (paths [][]int, names []string) {
	for i := 0; i < typ.NumField(); i++ {
		f := typ.Field(i)
		idx := append(append([]int(nil), prefix...), i)
		if f.Anonymous && f.Type.Kind() == reflect.Struct {
			p, n := optionFields(f.Type, idx)
			paths, names = append(paths, p...), append(names, n...)
			continue
		}
		paths, names = append(paths, idx), append(names, f.Name)
	}
	return paths, names
}

// TestOptionsAttrsRoundTrip sets every field of Options, alone and all at
// once, and checks that ParseOptions(o.Attrs()) gives o back. A field added
// to Options (or convert.Settings) that Attrs or ParseOptions drops fails
// here.
func TestOptionsAttrsRoundTrip(t *testing.T) {
	defaults, err := ParseOptions(nil)
	require.NoError(t, err)
	paths, names := optionFields(reflect.TypeOf(Options{}), nil)
	require.Greater(t, len(paths), 10, "Options fields found by reflection")

	all := defaults
	for i, path := range paths {
		name := names[i]
		sample := sampleValue(t, name, reflect.ValueOf(&all).Elem().FieldByIndex(path).Type())
		reflect.ValueOf(&all).Elem().FieldByIndex(path).Set(sample)

		t.Run(name, func(t *testing.T) {
			one := defaults
			reflect.ValueOf(&one).Elem().FieldByIndex(path).Set(sample)
			require.NotEqual(t, defaults, one, "the sample differs from the default")
			back, err := ParseOptions(one.Attrs())
			require.NoError(t, err)
			assert.Equal(t, one, back, "field %s survives Attrs and ParseOptions", name)
		})
	}
	t.Run("all fields", func(t *testing.T) {
		back, err := ParseOptions(all.Attrs())
		require.NoError(t, err)
		assert.Equal(t, all, back)
	})
	t.Run("defaults", func(t *testing.T) {
		back, err := ParseOptions(defaults.Attrs())
		require.NoError(t, err)
		assert.Equal(t, defaults, back)
		assert.Equal(t, defaults, Options{}.WithDefaults(), "ParseOptions of nothing is the defaults")
	})
}

// TestOptionsAttrsKeys pins the attribute names: they are the interface of
// the gateway image (`--opt key=value`) and must not change by accident.
func TestOptionsAttrsKeys(t *testing.T) {
	o := Options{Target: "mini/boot"}.WithDefaults()
	o.Stage0 = "r/s@sha256:x"
	o.SourceDateEpoch = 42
	o.Mirrors = map[string]string{"https://a/": "http://m/a/"}
	o.Check = true
	o.NoCache = true
	o.KeepToolchain = true
	o.Substitutes = []string{"s1", "s2"}
	o.ToolsContext = "tools"
	o.ContextName = "tree"
	o.Filename = "images/mini.yaml"
	o.DefinitionName = "def"
	o.Attest = map[string]string{"sbom": "", "provenance": "mode=max"}
	o.VCS = sbom.VCS{Source: "https://git.example/tree", Revision: "abc"}
	assert.Equal(t, map[string]string{
		"target": "mini/boot", "platform": "linux/amd64", "stage0": "r/s@sha256:x",
		"source-date-epoch": "42", "mirrors": "https://a/=http://m/a/", "check": "true",
		"no-cache": "", "keep-toolchain": "true", "substitutes": "s1,s2", "tools-context": "tools", "contextkey": "tree",
		"filename": "images/mini.yaml", "dockerfilekey": "def",
		"attest:sbom": "", "attest:provenance": "mode=max",
		"vcs:source": "https://git.example/tree", "vcs:revision": "abc",
	}, o.Attrs())
}

func TestParseOptionsBadVersionID(t *testing.T) {
	for _, v := range []string{"Hadron 1", "1.0/2", "-1", "V1"} {
		_, err := ParseOptions(map[string]string{OptVersionID: v})
		assert.ErrorContains(t, err, fmt.Sprintf("option version-id=%q: want os-release's VERSION_ID", v))
	}
	o, err := ParseOptions(map[string]string{"build-arg:version-id": "2025.10"})
	require.NoError(t, err)
	assert.Equal(t, "2025.10", o.VersionID, "also as a build arg (docker buildx --build-arg)")
}

func TestParseOptionsBadTarget(t *testing.T) {
	for _, tg := range []string{"mini/pe", "Mini", "linux@"} {
		_, err := ParseOptions(map[string]string{OptTarget: tg})
		require.Error(t, err, tg)
		assert.Contains(t, err.Error(), fmt.Sprintf("option target: target %q", tg))
	}
}
