package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseGood(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, FileName)
	data := `# every key, as a project would set them
addr: tcp://buildkit.example:1234
stage0: registry.example/hadron/stage0@sha256:64dfe849858f8c7cf6511e3d725a8010f446f3a7acf1dfc8d8876daf0b2bc4a2
platform: [linux/amd64, linux/arm64]
source-date-epoch: 1700000000
mirrors:
  https://musl.libc.org/releases/: http://127.0.0.1:8080/musl/
check: true
substitutes: [linux-7.2.8-debian]
no-cache: false
cache-to: ["type=registry,ref=registry.example/hadron/cache,mode=max"]
cache-from: ["type=registry,ref=registry.example/hadron/cache"]
attest: [type=sbom, "type=provenance,mode=max"]
progress: plain
tools-dir: out/tools
jobs: 4
retries: 3
timeout: 20m
cache-dir: /var/cache/hadron
github-api: https://github.example/api/v3
report: json
engine:
  root: out/engine
  binary: /usr/local/bin/buildkitd
  insecure-registries: ["127.0.0.1:5000"]
  gc-keep-storage: 10%
  debug: true
`
	f, err := Parse(path, []byte(data))
	require.NoError(t, err)
	assert.Equal(t, filepath.Join(dir, "out/tools"), f.ToolsDir, "relative to the file's folder")
	assert.Equal(t, filepath.Join(dir, "out/engine"), f.Engine.Root)
	v := f.Values()
	assert.Equal(t, "tcp://buildkit.example:1234", v["addr"])
	assert.Equal(t, int64(1700000000), v["source-date-epoch"])
	assert.Equal(t, filepath.Join(dir, "out/engine"), v["engine"].(map[string]any)["root"])
	assert.Equal(t, true, v["engine"].(map[string]any)["debug"])
	assert.Equal(t, []string{"type=sbom", "type=provenance,mode=max"}, v["attest"])
	assert.Len(t, v, 20, "every top-level key the file sets")
}

func TestValuesLeaveOutUnsetKeys(t *testing.T) {
	f, err := Parse("hadron.yaml", []byte("stage0: registry.example/stage0:1\n"))
	require.NoError(t, err)
	assert.Equal(t, map[string]any{"stage0": "registry.example/stage0:1"}, f.Values())

	for _, empty := range []string{"", "\n# nothing set\n"} {
		f, err = Parse("hadron.yaml", []byte(empty))
		require.NoError(t, err)
		assert.Empty(t, f.Values())
	}
}

// TestParseReportsEveryProblem checks that each bad value is named with
// its file:line, and that all of them are reported in one error.
func TestParseReportsEveryProblem(t *testing.T) {
	tests := []struct {
		name, data string
		want       []string
	}{
		{"unknown key with suggestion", "stage00: x/y\n",
			[]string{"hadron.yaml:1: unknown key `stage00`; did you mean `stage0`?"}},
		{"unknown key lists known keys", "zzzzzz: 1\n",
			[]string{"hadron.yaml:1: unknown key `zzzzzz`; known keys: addr, attest, cache-dir"}},
		{"unknown engine key", "engine:\n  rooot: /x\n",
			[]string{"hadron.yaml:2: unknown key `rooot` in engine; did you mean `root`?"}},
		{"ftp mirror", "mirrors:\n  https://musl.libc.org/releases/: ftp://mirror.example/musl/\n",
			[]string{`hadron.yaml:2: mirrors.https://musl.libc.org/releases/: mirror "ftp://mirror.example/musl/": scheme ftp; only http and https URLs can be downloaded`}},
		{"mirror prefix without scheme", "mirrors:\n  musl.libc.org/releases/: https://m.example/musl/\n",
			[]string{`hadron.yaml:2: mirrors.musl.libc.org/releases/: upstream prefix "musl.libc.org/releases/": scheme none`}},
		{"mirror without host", "mirrors:\n  https://a.example/: https:///musl/\n",
			[]string{`mirror "https:///musl/" has no host`}},
		{"mirrors not a mapping", "mirrors: [a]\n",
			[]string{"hadron.yaml:1: mirrors: expected a mapping, got a list"}},
		{"stage0 not a reference", "stage0: 'Not An Image'\n",
			[]string{`hadron.yaml:1: stage0: "Not An Image" is not an image reference`}},
		{"platform", "platform: [linux/amd64, windows/amd64, nonsense/x/y/z]\n",
			[]string{`hadron.yaml:1: platform[1]: "windows/amd64": Hadron builds linux platforms only`, "hadron.yaml:1: platform[2]:"}},
		{"epoch type", "source-date-epoch: yesterday\n",
			[]string{`hadron.yaml:1: source-date-epoch: expected an integer, got "yesterday"`}},
		{"negative epoch", "source-date-epoch: -5\n",
			[]string{"hadron.yaml:1: source-date-epoch: -5 is before 1970"}},
		{"version-id", "version-id: 'Hadron 1'\n",
			[]string{`hadron.yaml:1: version-id: "Hadron 1": want os-release's VERSION_ID: lower-case letters, digits and . _ -`}},
		{"empty version-id", "version-id: ''\n",
			[]string{"hadron.yaml:1: version-id: empty; leave the key out for no VERSION_ID"}},
		{"progress", "progress: plian\n",
			[]string{"hadron.yaml:1: progress: \"plian\": want one of auto, plain, tty, rawjson, quiet; did you mean `plain`?"}},
		{"cache-to without ref", "cache-to: ['type=registry,mode=max']\n",
			[]string{`hadron.yaml:1: cache-to[0]: "type=registry,mode=max": type=registry needs ref=`}},
		{"cache-from type", "cache-from: ['type=ftp,ref=x']\n",
			[]string{`hadron.yaml:1: cache-from[0]: "type=ftp,ref=x": unknown cache type "ftp"`}},
		{"cache-to mode", "cache-to: ['type=inline,mode=all']\n",
			[]string{`mode=all: want min or max`}},
		{"attest type", "attest: ['type=vex']\n",
			[]string{`hadron.yaml:1: attest[0]: "type=vex": unknown attestation type "vex" (want sbom or provenance)`}},
		{"attest without type", "attest: ['mode=max']\n",
			[]string{`hadron.yaml:1: attest[0]: "mode=max": no type=`}},
		{"addr without scheme", "addr: buildkit.example:1234\n",
			[]string{`hadron.yaml:1: addr: "buildkit.example:1234" has no scheme`}},
		{"addr scheme", "addr: http://buildkit.example:1234\n",
			[]string{`hadron.yaml:1: addr: "http://buildkit.example:1234": unknown scheme "http"`}},
		{"jobs", "jobs: 0\n", []string{"hadron.yaml:1: jobs: want at least 1, got 0"}},
		{"retries", "retries: -1\n", []string{"hadron.yaml:1: retries: want 0 or more"}},
		{"timeout", "timeout: soon\n", []string{`hadron.yaml:1: timeout: "soon" is not a positive duration`}},
		{"github api", "github-api: api.github.com\n", []string{`hadron.yaml:1: github-api: URL "api.github.com": scheme none`}},
		{"empty path", "tools-dir: ''\n", []string{"hadron.yaml:1: tools-dir: empty path"}},
		{"tilde path", "engine:\n  root: ~/hadron\n", []string{`hadron.yaml:2: engine.root: "~/hadron": ~ is not expanded`}},
		{"insecure registry with scheme", "engine:\n  insecure-registries: ['http://127.0.0.1:5000']\n",
			[]string{"hadron.yaml:2: engine.insecure-registries[0]: insecure registry"}},
		{"gc keep storage", "engine:\n  gc-keep-storage: lots\n",
			[]string{`hadron.yaml:2: engine.gc-keep-storage: "lots":`}},
		{"substitute name", "substitutes: ['../x']\n", []string{`hadron.yaml:1: substitutes[0]: "../x" is not a substitute name`}},
		{"tls cert without key", "tls-cert: certs/client.pem\n", []string{"hadron.yaml:1: tls-cert: tls-cert and tls-key go together"}},
		{"duplicate key", "stage0: a/b\nstage0: c/d\n", []string{"hadron.yaml:2: duplicate key `stage0` (first set on line 1)"}},
		{"malformed", "stage0: [\n", []string{"hadron.yaml:", "malformed YAML"}},
		{"all at once", "stage00: x\nmirrors:\n  https://a.example/: ftp://b.example/\nprogress: loud\n",
			[]string{"hadron.yaml:1: unknown key `stage00`", "hadron.yaml:3: mirrors.https://a.example/", "hadron.yaml:4: progress"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse("hadron.yaml", []byte(tc.data))
			require.Error(t, err)
			for _, w := range tc.want {
				assert.Contains(t, err.Error(), w)
			}
		})
	}
}

func TestLoad(t *testing.T) {
	_, err := Load(filepath.Join(t.TempDir(), "missing.yaml"))
	assert.ErrorContains(t, err, "read settings")

	p := filepath.Join(t.TempDir(), FileName)
	require.NoError(t, os.WriteFile(p, []byte("engine:\n  root: state\n"), 0o644))
	f, err := Load(p)
	require.NoError(t, err)
	assert.Equal(t, filepath.Join(filepath.Dir(p), "state"), f.Engine.Root)
	assert.True(t, strings.HasPrefix(f.Engine.Root, "/"))
}
