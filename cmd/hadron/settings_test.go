package main

import (
	"errors"
	"github.com/hadron-linux/hadron/internal/config"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"github.com/spf13/viper"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// setting is one hadron.yaml key with a value for each source, as YAML in
// the file, as the HADRON_* variable and as the flag's argument, and how to
// read it back.
type setting struct {
	key                         string
	file, env, flag             string
	get                         func(v *viper.Viper, key string) any
	wantFile, wantEnv, wantFlag any
}

func str(v *viper.Viper, k string) any      { return v.GetString(k) }
func strs(v *viper.Viper, k string) any     { return v.GetStringSlice(k) }
func integer(v *viper.Viper, k string) any  { return v.GetInt64(k) }
func boolean(v *viper.Viper, k string) any  { return v.GetBool(k) }
func duration(v *viper.Viper, k string) any { return v.GetDuration(k) }

// settingsTable holds every hadron.yaml key that is also a flag.
var settingsTable = []setting{
	{"addr", "unix:///file.sock", "unix:///env.sock", "unix:///flag.sock", str, "unix:///file.sock", "unix:///env.sock", "unix:///flag.sock"},
	{"tls-ca-cert", "/file/ca.pem", "/env/ca.pem", "/flag/ca.pem", str, "/file/ca.pem", "/env/ca.pem", "/flag/ca.pem"},
	{"tls-cert", "/file/cert.pem", "/env/cert.pem", "/flag/cert.pem", str, "/file/cert.pem", "/env/cert.pem", "/flag/cert.pem"},
	{"tls-key", "/file/key.pem", "/env/key.pem", "/flag/key.pem", str, "/file/key.pem", "/env/key.pem", "/flag/key.pem"},
	{"tls-server-name", "file.example", "env.example", "flag.example", str, "file.example", "env.example", "flag.example"},
	{"stage0", "file.example/stage0:1", "env.example/stage0:1", "flag.example/stage0:1", str, "file.example/stage0:1", "env.example/stage0:1", "flag.example/stage0:1"},
	{"platform", "[linux/arm64]", "linux/amd64", "linux/riscv64", strs, []string{"linux/arm64"}, []string{"linux/amd64"}, []string{"linux/riscv64"}},
	{"source-date-epoch", "1", "2", "3", integer, int64(1), int64(2), int64(3)},
	{"version-id", "1.0", "2.0", "3.0", str, "1.0", "2.0", "3.0"},
	{"check", "true", "false", "true", boolean, true, false, true},
	{"substitutes", "[from-file]", "from-env", "from-flag", strs, []string{"from-file"}, []string{"from-env"}, []string{"from-flag"}},
	{"no-cache", "true", "false", "true", boolean, true, false, true},
	{"cache-to", "['type=local,dest=/file']", "type=local,dest=/env", "type=local,dest=/flag", strs,
		[]string{"type=local,dest=/file"}, []string{"type=local,dest=/env"}, []string{"type=local,dest=/flag"}},
	{"cache-from", "['type=local,src=/file']", "type=local,src=/env", "type=local,src=/flag", strs,
		[]string{"type=local,src=/file"}, []string{"type=local,src=/env"}, []string{"type=local,src=/flag"}},
	{"attest", "['type=sbom']", "type=provenance", "type=provenance,mode=max", strs,
		[]string{"type=sbom"}, []string{"type=provenance"}, []string{"type=provenance,mode=max"}},
	{"progress", "plain", "tty", "quiet", str, "plain", "tty", "quiet"},
	{"tools-dir", "/file/tools", "/env/tools", "/flag/tools", str, "/file/tools", "/env/tools", "/flag/tools"},
	{"jobs", "1", "2", "3", integer, int64(1), int64(2), int64(3)},
	{"retries", "1", "2", "3", integer, int64(1), int64(2), int64(3)},
	{"timeout", "1m", "2m", "3m", duration, time.Minute, 2 * time.Minute, 3 * time.Minute},
	{"cache-dir", "/file/cache", "/env/cache", "/flag/cache", str, "/file/cache", "/env/cache", "/flag/cache"},
	{"github-api", "https://file.example/api", "https://env.example/api", "https://flag.example/api", str,
		"https://file.example/api", "https://env.example/api", "https://flag.example/api"},
	{"report", "json", "markdown", "json", str, "json", "markdown", "json"},
	{"engine.root", "/file/engine", "/env/engine", "/flag/engine", str, "/file/engine", "/env/engine", "/flag/engine"},
	{"engine.binary", "/file/buildkitd", "/env/buildkitd", "/flag/buildkitd", str, "/file/buildkitd", "/env/buildkitd", "/flag/buildkitd"},
	{"engine.insecure-registries", "['127.0.0.1:1']", "127.0.0.1:2", "127.0.0.1:3", strs,
		[]string{"127.0.0.1:1"}, []string{"127.0.0.1:2"}, []string{"127.0.0.1:3"}},
	{"engine.gc-keep-storage", "1GB", "2GB", "3GB", str, "1GB", "2GB", "3GB"},
	{"engine.debug", "true", "false", "true", boolean, true, false, true},
}

// companions are keys the file must set with key for it to be valid.
var companions = map[string]string{
	"tls-cert": "tls-key: /file/companion.pem\n",
	"tls-key":  "tls-cert: /file/companion.pem\n",
}

// fileYAML renders key: value as hadron.yaml, nesting engine.* keys.
func fileYAML(key, value string) string {
	return companions[key] + fileYAML1(key, value)
}

func fileYAML1(key, value string) string {
	if k, ok := strings.CutPrefix(key, "engine."); ok {
		return "engine:\n  " + k + ": " + value + "\n"
	}
	return key + ": " + value + "\n"
}

// envName is the HADRON_* variable of key.
func envName(key string) string {
	return "HADRON_" + strings.ToUpper(strings.NewReplacer("-", "_", ".", "_").Replace(key))
}

// flagName is the flag that sets key on cmd, or "".
func flagName(cmd *cobra.Command, key string) string {
	name := key
	if f, ok := engineFlagKeys[key]; ok {
		name = f
		if !strings.HasPrefix(cmd.CommandPath(), "hadron engine") {
			return ""
		}
	}
	f := cmd.Flags().Lookup(name)
	if f == nil {
		f = cmd.InheritedFlags().Lookup(name)
	}
	if f == nil || !sameKind(fileValue(key), f.Value.Type()) {
		return "" // no flag, or a flag that means something else
	}
	return name
}

// fileValue is the decoded hadron.yaml value of key, for its kind.
func fileValue(key string) any {
	for _, s := range settingsTable {
		if s.key == key {
			f, err := config.Parse("hadron.yaml", []byte(fileYAML(key, s.file)))
			if err != nil {
				return nil
			}
			v := f.Values()
			if k, ok := strings.CutPrefix(key, "engine."); ok {
				return v["engine"].(map[string]any)[k]
			}
			return v[key]
		}
	}
	return nil
}

// leafCommands lists the runnable commands of the tree by their paths
// below the root ("build", "engine status").
func leafCommands(c *cobra.Command) [][]string {
	var out [][]string
	for _, sub := range c.Commands() {
		if sub.Name() == "help" || sub.Name() == "completion" {
			continue
		}
		if sub.Runnable() {
			out = append(out, strings.Fields(strings.TrimPrefix(sub.CommandPath(), "hadron ")))
		}
		out = append(out, leafCommands(sub)...)
	}
	return out
}

var errCaptured = errors.New("captured")

// resolve runs the command at path with the given hadron.yaml, environment
// and flag arguments up to its settings, and returns what get reads from
// them, as the command's RunE would.
func resolve(t *testing.T, path []string, file string, env map[string]string, flags []string, s setting) any {
	t.Helper()
	dir := t.TempDir()
	if file != "" {
		require.NoError(t, os.WriteFile(filepath.Join(dir, "hadron.yaml"), []byte(file), 0o644))
	}
	for _, k := range []string{envName(s.key)} {
		t.Setenv(k, "")
		os.Unsetenv(k)
	}
	for k, val := range env {
		t.Setenv(k, val)
	}
	v := viper.New()
	root := newRootCmdWith(v)
	cmd, _, err := root.Find(path)
	require.NoError(t, err)
	var got any
	cmd.Args = cobra.ArbitraryArgs
	cmd.PreRunE = func(*cobra.Command, []string) error {
		got = s.get(v, s.key)
		return errCaptured
	}
	root.SetArgs(append(append([]string{"-C", dir}, path...), flags...))
	root.SetOut(&strings.Builder{})
	root.SetErr(&strings.Builder{})
	err = root.Execute()
	require.ErrorIs(t, err, errCaptured, "%v: the settings did not load", path)
	return got
}

// TestSettingsPrecedence checks, for every hadron.yaml key and every
// command with a flag for it, that the file's value is used alone, that
// HADRON_* overrides the file and that the flag overrides both.
func TestSettingsPrecedence(t *testing.T) {
	paths := leafCommands(newRootCmd())
	covered := map[string]int{}
	for _, s := range settingsTable {
		for _, path := range paths {
			cmd, _, err := newRootCmd().Find(path)
			require.NoError(t, err)
			flag := flagName(cmd, s.key)
			if flag == "" {
				continue
			}
			covered[s.key]++
			t.Run(strings.Join(path, "_")+"/"+s.key, func(t *testing.T) {
				file := fileYAML(s.key, s.file)
				env := map[string]string{envName(s.key): s.env}
				flagArg := []string{"--" + flag + "=" + s.flag}
				assert.Equal(t, s.wantFile, resolve(t, path, file, nil, nil, s), "file only")
				assert.Equal(t, s.wantEnv, resolve(t, path, file, env, nil, s), "env over file")
				assert.Equal(t, s.wantFlag, resolve(t, path, file, env, flagArg, s), "flag over env")
				assert.Equal(t, s.wantFlag, resolve(t, path, "", nil, flagArg, s), "flag alone")
			})
		}
	}
	for _, s := range settingsTable {
		assert.NotZero(t, covered[s.key], "no command has a flag for %s", s.key)
	}
}

// TestSettingsTableCoversTheFile keeps settingsTable in step with the
// hadron.yaml schema: every key of the file that a flag sets is tested.
func TestSettingsTableCoversTheFile(t *testing.T) {
	inTable := map[string]bool{}
	for _, s := range settingsTable {
		inTable[s.key] = true
	}
	var flags []string
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		c.Flags().VisitAll(func(f *pflag.Flag) { flags = append(flags, f.Name) })
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(newRootCmd())
	for _, key := range fileKeys(reflect.TypeOf(configFileType{})) {
		name := key
		if f, ok := engineFlagKeys[key]; ok {
			name = f
		}
		hasFlag := false
		for _, f := range flags {
			hasFlag = hasFlag || f == name
		}
		if hasFlag {
			assert.True(t, inTable[key], "hadron.yaml key %s has a flag but no precedence test", key)
		}
	}
}

// TestNoRawFlagGetters keeps commands on the one settings path: no command
// file reads flags through pflag's getters.
func TestNoRawFlagGetters(t *testing.T) {
	files, err := filepath.Glob("*.go")
	require.NoError(t, err)
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		b, err := os.ReadFile(f)
		require.NoError(t, err)
		for _, raw := range []string{"Flags().Get", "fl.Get", ".Changed("} {
			assert.NotContains(t, string(b), raw, "%s reads a flag directly; use v (viper)", f)
		}
	}
}

// TestBadSettingsFileStopsEveryCommand checks that a command refuses a bad
// hadron.yaml before it acts, with the file:line problems.
func TestBadSettingsFileStopsEveryCommand(t *testing.T) {
	for _, path := range leafCommands(newRootCmd()) {
		t.Run(strings.Join(path, "_"), func(t *testing.T) {
			dir := t.TempDir()
			require.NoError(t, os.WriteFile(filepath.Join(dir, "hadron.yaml"),
				[]byte("stage00: x/y\nmirrors:\n  https://a.example/: ftp://b.example/\n"), 0o644))
			root := newRootCmd()
			cmd, _, err := root.Find(path)
			require.NoError(t, err)
			ran := false
			cmd.Args = cobra.ArbitraryArgs
			cmd.PreRunE = func(*cobra.Command, []string) error { ran = true; return nil }
			cmd.RunE = func(*cobra.Command, []string) error { ran = true; return nil }
			root.SetArgs(append([]string{"-C", dir}, path...))
			root.SetOut(&strings.Builder{})
			root.SetErr(&strings.Builder{})
			err = root.Execute()
			if path[0] == "validate" {
				return // reports the problems with the tree's; see TestValidateReportsSettings
			}
			require.Error(t, err)
			assert.False(t, ran, "the command ran with a bad hadron.yaml")
			assert.Contains(t, err.Error(), "hadron.yaml:1: unknown key `stage00`; did you mean `stage0`?")
			assert.Contains(t, err.Error(), "hadron.yaml:3: mirrors.https://a.example/: mirror \"ftp://b.example/\": scheme ftp")
		})
	}
}

type configFileType = config.File

// fileKeys lists the hadron.yaml keys of a struct type by their yaml tags,
// nested ones as "engine.root".
func fileKeys(t reflect.Type) []string {
	var keys []string
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if !f.IsExported() || name == "" || name == "-" {
			continue
		}
		if f.Type.Kind() == reflect.Struct {
			for _, sub := range fileKeys(f.Type) {
				keys = append(keys, name+"."+sub)
			}
			continue
		}
		keys = append(keys, name)
	}
	return keys
}

// TestValidateReportsSettings checks that `hadron validate` prints
// hadron.yaml's problems, each at its line, with the tree's.
func TestValidateReportsSettings(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "images"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "images", "broken.yaml"), []byte("name: broken\npackagez: []\n"), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "hadron.yaml"), []byte(
		"stage00: x/y\nmirrors:\n  https://a.example/: ftp://b.example/\nsubstitutes: [nonesuch]\nengine:\n  root: ''\n"), 0o644))
	root := newRootCmd()
	var stdout, stderr strings.Builder
	root.SetOut(&stdout)
	root.SetErr(&stderr)
	root.SetArgs([]string{"-C", dir, "validate"})
	err := root.Execute()
	require.Error(t, err)
	p := filepath.Join(dir, "hadron.yaml")
	for _, want := range []string{
		p + ":1: unknown key `stage00`; did you mean `stage0`?",
		p + `:3: mirrors.https://a.example/: mirror "ftp://b.example/": scheme ftp; only http and https URLs can be downloaded`,
		p + `:4: substitutes[0]: no declared substitute "nonesuch" in vendor-hashes/substitutes`,
		p + ":6: engine.root: empty path",
		"images/broken.yaml:2: unknown key `packagez`",
	} {
		assert.Contains(t, stderr.String(), want)
	}
	assert.Equal(t, "5 problems", err.Error())
}

// TestFileSettingsKeepTheirMeaning checks that a hadron.yaml key does not
// reach a flag of the same name that means something else.
func TestFileSettingsKeepTheirMeaning(t *testing.T) {
	tests := []struct {
		path []string
		file string
		s    setting
		want any
	}{
		{[]string{"grub", "config"}, "timeout: 20m\n", setting{key: "timeout", get: func(v *viper.Viper, k string) any { return v.GetInt(k) }}, 3},
		{[]string{"bump"}, "timeout: 20m\n", setting{key: "timeout", get: duration}, 20 * time.Minute},
		{[]string{"grub", "mkimage"}, "platform: [linux/arm64]\n", setting{key: "platform", get: str}, "x86_64-efi"},
		{[]string{"build"}, "platform: [linux/arm64]\n", setting{key: "platform", get: strs}, []string{"linux/arm64"}},
	}
	for _, tc := range tests {
		t.Run(strings.Join(tc.path, " ")+"/"+tc.s.key, func(t *testing.T) {
			assert.Equal(t, tc.want, resolve(t, tc.path, tc.file, nil, nil, tc.s))
		})
	}
}
