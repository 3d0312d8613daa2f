// Package engine starts, checks and stops the local BuildKit daemon
// (buildkitd) that the hadron CLI uses when no remote engine is given, and
// connects BuildKit clients to it or to any other address.
//
// All state lives under one root directory (by default
// $XDG_CACHE_HOME/hadron/buildkit): the generated buildkitd.toml, the
// buildkitd.sock socket, buildkitd.pid, buildkitd.log and buildkitd's own
// state in state/. There is no global state: every operation goes through an
// Engine built from a Config.
package engine

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"text/template"
	"time"

	"github.com/moby/buildkit/client"
)

// Defaults used when the matching Config field is zero.
const (
	// DefaultGCKeepStorage is how much build cache buildkitd keeps before
	// its garbage collector starts removing the least recently used records.
	DefaultGCKeepStorage = "20GB"
	// DefaultStartTimeout bounds how long Start waits for a new buildkitd to
	// answer.
	DefaultStartTimeout = 60 * time.Second
	// DefaultStopTimeout bounds how long Stop waits after SIGTERM before it
	// sends SIGKILL.
	DefaultStopTimeout = 20 * time.Second
	// DefaultSnapshotter is the oci worker's snapshotter.
	DefaultSnapshotter = "overlayfs"
)

// maxSocketPath is the longest unix socket path Linux accepts (sun_path is
// 108 bytes including the terminating NUL).
const maxSocketPath = 107

// Config describes a local engine. The zero value is valid: it means the
// default root under the user cache directory and default limits.
type Config struct {
	// Root is the directory that holds all of the engine's files. Empty
	// means os.UserCacheDir()/hadron/buildkit.
	Root string
	// Binary is the buildkitd executable to run. Empty means: look next to
	// the running executable, then in $PATH, then in BinDir, and build it
	// with `go build` when ModuleDir holds a go.mod that pins BuildKit.
	Binary string
	// BinDir is where a buildkitd built by the engine is kept. Empty means
	// os.UserCacheDir()/hadron/bin.
	BinDir string
	// ModuleDir is a directory inside the hadron source tree (the CLI's -C
	// dir). When buildkitd is missing, the engine walks up from it to find
	// go.mod and builds buildkitd at the version that go.mod pins. Empty
	// means the working directory.
	ModuleDir string
	// InsecureRegistries lists registries (host or host:port) that are
	// reached over plain HTTP without TLS verification, such as test
	// registries on 127.0.0.1.
	InsecureRegistries []string
	// GCKeepStorage is how much build cache to keep (buildkitd syntax:
	// "20GB", "512MB", "10%"). Empty means DefaultGCKeepStorage.
	GCKeepStorage string
	// Snapshotter is the oci worker's snapshotter. Empty means
	// DefaultSnapshotter.
	Snapshotter string
	// Debug turns on buildkitd's debug logging.
	Debug bool
	// RemoteTLS is how ConnectConfig authenticates to a BuildKit given by
	// address (tcp://): the local engine, on its unix socket, needs none.
	RemoteTLS TLS
	// StartTimeout and StopTimeout override DefaultStartTimeout and
	// DefaultStopTimeout when positive.
	StartTimeout time.Duration
	StopTimeout  time.Duration
	// Log receives progress notes (building buildkitd, installing runc,
	// starting). Nil discards them.
	Log func(format string, args ...any)
}

// Paths are the files of one engine, all under Root.
type Paths struct {
	// Root is the engine directory.
	Root string
	// Config is the generated buildkitd.toml.
	Config string
	// Socket is the unix socket buildkitd listens on.
	Socket string
	// PIDFile holds the process id of the running buildkitd.
	PIDFile string
	// LogFile collects buildkitd's stdout and stderr; it is kept across
	// restarts so failures can be diagnosed.
	LogFile string
	// Lock serialises Start and Stop between processes.
	Lock string
	// State is buildkitd's own --root (snapshots, content, cache metadata).
	State string
}

// Addr is the BuildKit address of the socket, unix://<Socket>.
func (p Paths) Addr() string { return "unix://" + p.Socket }

// TLS is a client's TLS setup for a remote buildkitd, as buildctl's
// --tlscacert, --tlscert, --tlskey and --tlsservername take it: paths to
// PEM files. CACert alone verifies the daemon; Cert and Key go together
// and authenticate the client (mutual TLS, what buildkitd --tlscacert
// requires).
type TLS struct {
	CACert, Cert, Key, ServerName string
}

// Enabled reports whether any TLS setting is given.
func (t TLS) Enabled() bool {
	return t.CACert != "" || t.Cert != "" || t.Key != "" || t.ServerName != ""
}

// clientOpts returns the BuildKit client options for t, after checking
// that the files exist.
func (t TLS) clientOpts(addr string) ([]client.ClientOpt, error) {
	if !t.Enabled() {
		return nil, nil
	}
	if (t.Cert == "") != (t.Key == "") {
		return nil, fmt.Errorf("TLS for %s: a client certificate and its key go together (--tls-cert, --tls-key)", addr)
	}
	for flag, p := range map[string]string{"--tls-ca-cert": t.CACert, "--tls-cert": t.Cert, "--tls-key": t.Key} {
		if p == "" {
			continue
		}
		if _, err := os.Stat(p); err != nil {
			return nil, fmt.Errorf("TLS for %s: %s: %w", addr, flag, err)
		}
	}
	var opts []client.ClientOpt
	if t.CACert != "" {
		opts = append(opts, client.WithServerConfig(t.ServerName, t.CACert))
	} else {
		opts = append(opts, client.WithServerConfigSystem(t.ServerName))
	}
	if t.Cert != "" {
		opts = append(opts, client.WithCredentials(t.Cert, t.Key))
	}
	return opts, nil
}

// DefaultRoot is the engine directory used when Config.Root is empty:
// os.UserCacheDir()/hadron/buildkit.
func DefaultRoot() (string, error) {
	dir, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("locating the user cache directory for the engine (set engine.root): %w", err)
	}
	return filepath.Join(dir, "hadron", "buildkit"), nil
}

// DefaultBinDir is where a buildkitd built by the engine is kept when
// Config.BinDir is empty: os.UserCacheDir()/hadron/bin.
func DefaultBinDir() (string, error) {
	dir, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("locating the user cache directory for buildkitd (set engine.binary): %w", err)
	}
	return filepath.Join(dir, "hadron", "bin"), nil
}

// withDefaults returns cfg with every empty field filled in and paths made
// absolute, or an error when a value is invalid.
func (cfg Config) withDefaults() (Config, error) {
	var err error
	if cfg.Root == "" {
		if cfg.Root, err = DefaultRoot(); err != nil {
			return cfg, err
		}
	}
	if cfg.Root, err = filepath.Abs(cfg.Root); err != nil {
		return cfg, fmt.Errorf("engine root %q: %w", cfg.Root, err)
	}
	if cfg.BinDir == "" {
		if cfg.BinDir, err = DefaultBinDir(); err != nil {
			return cfg, err
		}
	}
	if cfg.ModuleDir == "" {
		cfg.ModuleDir = "."
	}
	if cfg.GCKeepStorage == "" {
		cfg.GCKeepStorage = DefaultGCKeepStorage
	}
	if err := CheckDiskSpace(cfg.GCKeepStorage); err != nil {
		return cfg, fmt.Errorf("engine gc keep-storage %q: %w", cfg.GCKeepStorage, err)
	}
	if cfg.Snapshotter == "" {
		cfg.Snapshotter = DefaultSnapshotter
	}
	if cfg.StartTimeout <= 0 {
		cfg.StartTimeout = DefaultStartTimeout
	}
	if cfg.StopTimeout <= 0 {
		cfg.StopTimeout = DefaultStopTimeout
	}
	regs := make([]string, 0, len(cfg.InsecureRegistries))
	for _, r := range cfg.InsecureRegistries {
		r = strings.TrimSpace(r)
		if r == "" {
			continue
		}
		if err := CheckRegistryHost(r); err != nil {
			return cfg, err
		}
		regs = append(regs, r)
	}
	slices.Sort(regs)
	cfg.InsecureRegistries = slices.Compact(regs)
	if cfg.Log == nil {
		cfg.Log = func(string, ...any) {}
	}
	return cfg, nil
}

// CheckRegistryHost accepts "host" or "host:port" and nothing that could
// break out of a TOML table name.
func CheckRegistryHost(r string) error {
	if strings.ContainsAny(r, "/\"\\ \t\n[]") {
		return fmt.Errorf("insecure registry %q: want host or host:port, without scheme or path", r)
	}
	if host, port, err := net.SplitHostPort(r); err == nil {
		if host == "" {
			return fmt.Errorf("insecure registry %q: empty host", r)
		}
		if n, err := strconv.Atoi(port); err != nil || n <= 0 || n > 65535 {
			return fmt.Errorf("insecure registry %q: bad port %q", r, port)
		}
	}
	return nil
}

// CheckDiskSpace accepts what buildkitd accepts for disk sizes: a
// percentage ("10%") or a size with an optional unit ("512MB", "20GB").
func CheckDiskSpace(s string) error {
	if p, ok := strings.CutSuffix(s, "%"); ok {
		if n, err := strconv.Atoi(p); err != nil || n <= 0 || n > 100 {
			return fmt.Errorf("want a percentage between 1%% and 100%%")
		}
		return nil
	}
	num := strings.TrimRightFunc(s, func(r rune) bool { return r >= 'A' && r <= 'z' })
	unit := strings.ToLower(strings.TrimSpace(s[len(num):]))
	if _, err := strconv.ParseFloat(strings.TrimSpace(num), 64); err != nil {
		return fmt.Errorf("want a size such as 20GB or 512MB")
	}
	switch unit {
	case "", "b", "k", "kb", "kib", "m", "mb", "mib", "g", "gb", "gib", "t", "tb", "tib":
		return nil
	}
	return fmt.Errorf("unknown size unit %q", unit)
}

// pathsFor lays out the engine files under root.
func pathsFor(root string) Paths {
	return Paths{
		Root:    root,
		Config:  filepath.Join(root, "buildkitd.toml"),
		Socket:  filepath.Join(root, "buildkitd.sock"),
		PIDFile: filepath.Join(root, "buildkitd.pid"),
		LogFile: filepath.Join(root, "buildkitd.log"),
		Lock:    filepath.Join(root, "engine.lock"),
		State:   filepath.Join(root, "state"),
	}
}

var configTemplate = template.Must(template.New("buildkitd.toml").Funcs(template.FuncMap{
	"q": strconv.Quote,
}).Parse(`# Generated by hadron for its local engine; rewritten on every start.
root = {{ q .Paths.State }}
debug = {{ .Debug }}

[grpc]
  address = [{{ q .Paths.Addr }}]

[worker.oci]
  enabled = true
  snapshotter = {{ q .Snapshotter }}
  gc = true
  gckeepstorage = {{ q .GCKeepStorage }}

[worker.containerd]
  enabled = false
{{ range .InsecureRegistries }}
[registry.{{ q . }}]
  http = true
  insecure = true
{{ end }}`))

// renderConfig returns the buildkitd.toml for cfg (which must have been
// through withDefaults) laid out in p.
func renderConfig(cfg Config, p Paths) ([]byte, error) {
	var buf bytes.Buffer
	err := configTemplate.Execute(&buf, struct {
		Config
		Paths Paths
	}{cfg, p})
	if err != nil {
		return nil, fmt.Errorf("rendering buildkitd.toml: %w", err)
	}
	return buf.Bytes(), nil
}
