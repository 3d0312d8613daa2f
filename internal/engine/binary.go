package engine

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/debug"
	"strings"

	"golang.org/x/mod/modfile"
)

// buildkitModule is the Go module that provides buildkitd.
const buildkitModule = "github.com/moby/buildkit"

// buildkitdPackage is the main package of the daemon.
const buildkitdPackage = buildkitModule + "/cmd/buildkitd"

// binaryName is the daemon executable's file name.
const binaryName = "buildkitd"

// binaryFinder locates (or builds) buildkitd. Its lookups are fields so
// tests can replace them.
type binaryFinder struct {
	explicit   string
	binDir     string
	moduleDir  string
	lookPath   func(string) (string, error)
	executable func() (string, error)
	version    func() string
}

// newBinaryFinder returns the finder for cfg (after withDefaults).
func newBinaryFinder(cfg Config) binaryFinder {
	return binaryFinder{
		explicit:   cfg.Binary,
		binDir:     cfg.BinDir,
		moduleDir:  cfg.ModuleDir,
		lookPath:   exec.LookPath,
		executable: os.Executable,
		version:    linkedBuildkitVersion,
	}
}

// errNoBinary means no buildkitd was found and none can be built here.
var errNoBinary = errors.New("buildkitd not found")

// find returns the buildkitd to run, looking, in order, at the explicit
// path, next to the running executable, in $PATH and in the versioned
// cache directory. It returns errNoBinary (wrapped, listing where it looked)
// when there is none.
func (f binaryFinder) find() (string, error) {
	if f.explicit != "" {
		if isExecutable(f.explicit) {
			return f.explicit, nil
		}
		return "", fmt.Errorf("engine binary %q is not an executable file", f.explicit)
	}
	var looked []string
	if exe, err := f.executable(); err == nil {
		if resolved, err := filepath.EvalSymlinks(exe); err == nil {
			exe = resolved
		}
		p := filepath.Join(filepath.Dir(exe), binaryName)
		looked = append(looked, p)
		if isExecutable(p) {
			return p, nil
		}
	}
	looked = append(looked, "$PATH")
	if p, err := f.lookPath(binaryName); err == nil {
		return p, nil
	}
	if v := f.wantVersion(); v != "" {
		p := f.cachedPath(v)
		looked = append(looked, p)
		if isExecutable(p) {
			return p, nil
		}
	}
	return "", fmt.Errorf("%w (looked in %s)", errNoBinary, strings.Join(looked, ", "))
}

// wantVersion is the BuildKit version to use: the one linked into this
// program, else the one go.mod pins, else "".
func (f binaryFinder) wantVersion() string {
	if v := f.version(); v != "" {
		return v
	}
	if f.moduleDir == "" {
		return ""
	}
	gomod, err := findGoMod(f.moduleDir)
	if err != nil {
		return ""
	}
	v, _ := pinnedVersion(gomod)
	return v
}

// cachedPath is where a buildkitd of version v built by the engine lives.
func (f binaryFinder) cachedPath(v string) string {
	return filepath.Join(f.binDir, "buildkit-"+v, binaryName)
}

// build compiles buildkitd at the version go.mod pins into the cache
// directory and returns its path. It needs the go toolchain and the hadron
// source tree (found by walking up from moduleDir).
func (f binaryFinder) build(ctx context.Context, logf func(string, ...any)) (string, error) {
	howTo := "install buildkitd (BuildKit " + orUnknown(f.wantVersion()) + ") into $PATH or next to hadron, " +
		"set engine.binary, or pass --addr to use a running BuildKit"
	if f.moduleDir == "" {
		return "", fmt.Errorf("%w and no source tree to build it from: %s", errNoBinary, howTo)
	}
	gomod, err := findGoMod(f.moduleDir)
	if err != nil {
		return "", fmt.Errorf("%w and cannot build it: %v; %s", errNoBinary, err, howTo)
	}
	version, err := pinnedVersion(gomod)
	if err != nil {
		return "", fmt.Errorf("%w and cannot build it: %v; %s", errNoBinary, err, howTo)
	}
	goBin, err := f.lookPath("go")
	if err != nil {
		return "", fmt.Errorf("%w and the go toolchain is not in $PATH to build it: %s", errNoBinary, howTo)
	}
	out := f.cachedPath(version)
	if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
		return "", fmt.Errorf("creating %s: %w", filepath.Dir(out), err)
	}
	logf("building buildkitd %s from %s (first run only, takes a few minutes)", version, gomod)
	tmp := out + ".tmp"
	// Stamp the version as BuildKit's release builds do, so `hadron engine
	// status` reports it.
	ldflags := "-X " + buildkitModule + "/version.Version=" + version
	cmd := exec.CommandContext(ctx, goBin, "build", "-ldflags="+ldflags, "-o", tmp, buildkitdPackage)
	cmd.Dir = filepath.Dir(gomod)
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if output, err := cmd.CombinedOutput(); err != nil {
		_ = os.Remove(tmp)
		return "", fmt.Errorf("building buildkitd %s in %s: %w\n%s", version, cmd.Dir, err, strings.TrimSpace(string(output)))
	}
	if err := os.Rename(tmp, out); err != nil {
		return "", fmt.Errorf("installing buildkitd: %w", err)
	}
	return out, nil
}

// linkedBuildkitVersion returns the version of the BuildKit module linked
// into this program, or "" when unknown.
func linkedBuildkitVersion() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return ""
	}
	for _, m := range bi.Deps {
		if m.Path == buildkitModule {
			if m.Replace != nil {
				return ""
			}
			return m.Version
		}
	}
	return ""
}

// findGoMod walks up from dir to the nearest go.mod.
func findGoMod(dir string) (string, error) {
	dir, err := filepath.Abs(dir)
	if err != nil {
		return "", fmt.Errorf("resolving %q: %w", dir, err)
	}
	for {
		p := filepath.Join(dir, "go.mod")
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("no go.mod in or above %s", dir)
		}
		dir = parent
	}
}

// pinnedVersion returns the BuildKit version required by the go.mod at path.
func pinnedVersion(path string) (string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("reading %s: %w", path, err)
	}
	mf, err := modfile.ParseLax(path, data, nil)
	if err != nil {
		return "", fmt.Errorf("parsing %s: %w", path, err)
	}
	for _, r := range mf.Require {
		if r.Mod.Path == buildkitModule {
			return r.Mod.Version, nil
		}
	}
	return "", fmt.Errorf("%s does not require %s", path, buildkitModule)
}

// isExecutable reports whether p is a regular file with an execute bit.
func isExecutable(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.Mode().IsRegular() && fi.Mode().Perm()&0o111 != 0
}

func orUnknown(v string) string {
	if v == "" {
		return "as pinned in hadron's go.mod"
	}
	return v
}

// ensureRunc makes sure the runc runtime that buildkitd's oci worker needs
// is installed, installing it with apt-get when running as root on a
// Debian-like system.
func ensureRunc(ctx context.Context, lookPath func(string) (string, error), logf func(string, ...any)) error {
	if _, err := lookPath("runc"); err == nil {
		return nil
	}
	apt, err := lookPath("apt-get")
	if err != nil || os.Geteuid() != 0 {
		return errors.New("runc not found in $PATH: buildkitd needs it to run build steps; " +
			"install it (Debian/Ubuntu: apt-get install runc) or pass --addr to use a running BuildKit")
	}
	logf("runc not found; installing it with apt-get")
	install := func() ([]byte, error) {
		cmd := exec.CommandContext(ctx, apt, "install", "-y", "--no-install-recommends", "runc")
		cmd.Env = append(os.Environ(), "DEBIAN_FRONTEND=noninteractive")
		return cmd.CombinedOutput()
	}
	out, err := install()
	if err != nil {
		// The package lists may be missing or stale; refresh once.
		if upd, uerr := exec.CommandContext(ctx, apt, "update").CombinedOutput(); uerr != nil {
			return fmt.Errorf("installing runc: apt-get update: %w\n%s", uerr, strings.TrimSpace(string(upd)))
		}
		out, err = install()
	}
	if err != nil {
		return fmt.Errorf("installing runc with apt-get: %w\n%s", err, strings.TrimSpace(string(out)))
	}
	if _, err := lookPath("runc"); err != nil {
		return errors.New("runc still not in $PATH after apt-get install runc")
	}
	return nil
}
