package engine

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/hadron-linux/hadron/internal/golden"
	bkconfig "github.com/moby/buildkit/cmd/buildkitd/config"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestRenderConfigGolden(t *testing.T) {
	cfg, err := Config{
		Root:               "/var/cache/hadron/buildkit",
		BinDir:             "/var/cache/hadron/bin",
		InsecureRegistries: []string{"127.0.0.1:5000", " ", "localhost:41234", "127.0.0.1:5000"},
	}.withDefaults()
	require.NoError(t, err)
	got, err := renderConfig(cfg, pathsFor(cfg.Root))
	require.NoError(t, err)

	golden.Assert(t, "buildkitd.toml.golden", got)
}

// TestRenderConfigParsesAsBuildkitd checks the generated file with
// buildkitd's own loader, so a typo in a key or a table fails here rather
// than when the daemon starts.
func TestRenderConfigParsesAsBuildkitd(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
	}{
		{"defaults", Config{Root: "/r"}},
		{"registries and debug", Config{Root: "/r", Debug: true, GCKeepStorage: "10%",
			InsecureRegistries: []string{"127.0.0.1:41000", "registry.local"}}},
		{"odd root", Config{Root: `/tmp/with "quote" and space`, GCKeepStorage: "512MB", Snapshotter: "native"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := tt.cfg.withDefaults()
			require.NoError(t, err)
			p := pathsFor(cfg.Root)
			data, err := renderConfig(cfg, p)
			require.NoError(t, err)
			bk, err := bkconfig.Load(bytes.NewReader(data))
			require.NoError(t, err, "%s", data)

			assert.Equal(t, p.State, bk.Root)
			assert.Equal(t, []string{p.Addr()}, bk.GRPC.Address)
			assert.Equal(t, cfg.Debug, bk.Debug)
			require.NotNil(t, bk.Workers.OCI.Enabled)
			assert.True(t, *bk.Workers.OCI.Enabled)
			require.NotNil(t, bk.Workers.Containerd.Enabled)
			assert.False(t, *bk.Workers.Containerd.Enabled)
			assert.Equal(t, cfg.Snapshotter, bk.Workers.OCI.Snapshotter)
			assert.True(t, bk.Workers.OCI.GCKeepStorage.Bytes > 0 || bk.Workers.OCI.GCKeepStorage.Percentage > 0)
			assert.Len(t, bk.Registries, len(cfg.InsecureRegistries))
			for _, r := range cfg.InsecureRegistries {
				reg, ok := bk.Registries[r]
				require.True(t, ok, "registry %s missing", r)
				require.NotNil(t, reg.PlainHTTP)
				assert.True(t, *reg.PlainHTTP)
				require.NotNil(t, reg.Insecure)
				assert.True(t, *reg.Insecure)
			}
		})
	}
}

func TestConfigWithDefaults(t *testing.T) {
	cache, err := os.UserCacheDir()
	require.NoError(t, err)
	cfg, err := Config{}.withDefaults()
	require.NoError(t, err)
	assert.Equal(t, filepath.Join(cache, "hadron", "buildkit"), cfg.Root)
	assert.Equal(t, filepath.Join(cache, "hadron", "bin"), cfg.BinDir)
	assert.Equal(t, DefaultGCKeepStorage, cfg.GCKeepStorage)
	assert.Equal(t, DefaultSnapshotter, cfg.Snapshotter)
	assert.Equal(t, DefaultStartTimeout, cfg.StartTimeout)
	assert.Equal(t, DefaultStopTimeout, cfg.StopTimeout)
	assert.Equal(t, ".", cfg.ModuleDir)
	assert.NotNil(t, cfg.Log)

	cfg, err = Config{Root: "rel", StopTimeout: time.Second}.withDefaults()
	require.NoError(t, err)
	assert.True(t, filepath.IsAbs(cfg.Root))
	assert.Equal(t, time.Second, cfg.StopTimeout)
}

func TestConfigRejectsBadValues(t *testing.T) {
	tests := []struct {
		name    string
		cfg     Config
		wantErr string
	}{
		{"scheme in registry", Config{InsecureRegistries: []string{"http://127.0.0.1:5000"}}, "without scheme"},
		{"path in registry", Config{InsecureRegistries: []string{"127.0.0.1:5000/x"}}, "without scheme"},
		{"quote in registry", Config{InsecureRegistries: []string{`a"]`}}, "without scheme"},
		{"bad port", Config{InsecureRegistries: []string{"127.0.0.1:99999"}}, "bad port"},
		{"empty host", Config{InsecureRegistries: []string{":5000"}}, "empty host"},
		{"bad size", Config{GCKeepStorage: "lots"}, "keep-storage"},
		{"bad unit", Config{GCKeepStorage: "5parsecs"}, "unknown size unit"},
		{"bad percent", Config{GCKeepStorage: "140%"}, "percentage"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := tt.cfg.withDefaults()
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.wantErr)
		})
	}
}

func TestConfigAcceptsSizes(t *testing.T) {
	for _, s := range []string{"20GB", "512MB", "1.5GiB", "10%", "1000000", "3 GB"} {
		t.Run(s, func(t *testing.T) {
			_, err := Config{GCKeepStorage: s}.withDefaults()
			assert.NoError(t, err)
		})
	}
}

func TestPaths(t *testing.T) {
	p := pathsFor("/x/engine")
	assert.Equal(t, Paths{
		Root:    "/x/engine",
		Config:  "/x/engine/buildkitd.toml",
		Socket:  "/x/engine/buildkitd.sock",
		PIDFile: "/x/engine/buildkitd.pid",
		LogFile: "/x/engine/buildkitd.log",
		Lock:    "/x/engine/engine.lock",
		State:   "/x/engine/state",
	}, p)
	assert.Equal(t, "unix:///x/engine/buildkitd.sock", p.Addr())
}

func TestNewRejectsLongSocketPath(t *testing.T) {
	long := "/" + string(bytes.Repeat([]byte("d"), 120))
	_, err := New(Config{Root: long})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "too deep")

	e, err := New(Config{Root: "/short"})
	require.NoError(t, err)
	assert.Equal(t, "unix:///short/buildkitd.sock", e.Addr())
}
