package dracut

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
)

// Include is a host file placed into the initrd (dracut --include).
type Include struct {
	// Src is the host path.
	Src string
	// Dst is the absolute path inside the initrd.
	Dst string
}

// Build is one dracut run: a configuration, a kernel's modules and extra files.
type Build struct {
	// Config is written as the only dracut.conf.d drop-in; the host's
	// /etc/dracut.conf and /etc/dracut.conf.d are not read.
	Config Config
	// Kver is the kernel release (uname -r) the initrd is for.
	Kver string
	// ModulesDir holds that kernel's modules: the content of
	// lib/modules/<Kver> (kernel/, modules.order, modules.builtin…).
	// modules.dep is generated in a staging copy, so the directory may
	// come straight from a kernel package that was never installed.
	ModulesDir string
	// SysRoot, when set, is the root file system dracut takes programs and
	// libraries from (--sysroot), e.g. a Hadron rootfs; empty means /.
	SysRoot string
	// Includes are extra files.
	Includes []Include
	// Epoch is SOURCE_DATE_EPOCH.
	Epoch int64
	// Tool is the dracut binary; empty means "dracut".
	Tool string
}

var kverPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._+-]*$`)

// Args returns the dracut command line, given the staged configuration
// directory and module directory (…/lib/modules/<Kver>).
func (b Build) Args(confDir, kmodDir, out string) ([]string, error) {
	if !kverPattern.MatchString(b.Kver) {
		return nil, fmt.Errorf("dracut: bad kernel release %q", b.Kver)
	}
	if filepath.Base(kmodDir) != b.Kver || filepath.Base(filepath.Dir(kmodDir)) != "modules" {
		return nil, fmt.Errorf("dracut: module dir %s must end in lib/modules/%s", kmodDir, b.Kver)
	}
	tool := b.Tool
	if tool == "" {
		tool = "dracut"
	}
	args := []string{tool, "--force", "--conf", "/dev/null", "--confdir", confDir,
		"--kver", b.Kver, "--kmoddir", kmodDir}
	if b.SysRoot != "" {
		args = append(args, "--sysroot", b.SysRoot)
	}
	for _, in := range b.Includes {
		if !filepath.IsAbs(in.Dst) || strings.Contains(in.Dst, "..") {
			return nil, fmt.Errorf("dracut: include destination %q must be absolute, without ..", in.Dst)
		}
		args = append(args, "--include", in.Src, in.Dst)
	}
	return append(args, out), nil
}

// Run builds the initrd at out.
func (b Build) Run(ctx context.Context, out string) error {
	conf, err := b.Config.Render()
	if err != nil {
		return err
	}
	tmp, err := os.MkdirTemp("", "hadron-dracut-")
	if err != nil {
		return fmt.Errorf("dracut: %w", err)
	}
	defer os.RemoveAll(tmp)
	confDir := filepath.Join(tmp, "dracut.conf.d")
	if err := os.Mkdir(confDir, 0o755); err != nil {
		return fmt.Errorf("dracut: %w", err)
	}
	if err := os.WriteFile(filepath.Join(confDir, ConfName), conf, 0o644); err != nil {
		return fmt.Errorf("dracut: write config: %w", err)
	}
	if _, err := b.stageModules(ctx, filepath.Join(tmp, "kernel")); err != nil {
		return err
	}
	if out, err = filepath.Abs(out); err != nil {
		return fmt.Errorf("dracut: %w", err)
	}
	// dracut records its command line in the initrd
	// (lib/dracut/build-parameter.txt), so the staging paths are given
	// relative to the staging directory: random temp names would make
	// every initrd differ.
	args, err := b.Args("dracut.conf.d", filepath.Join("kernel", "lib", "modules", b.Kver), out)
	if err != nil {
		return err
	}
	cmd := exec.CommandContext(ctx, args[0], args[1:]...)
	cmd.Dir = tmp
	cmd.Env = append(os.Environ(), "SOURCE_DATE_EPOCH="+strconv.FormatInt(b.Epoch, 10), "TMPDIR="+tmp)
	var output bytes.Buffer
	cmd.Stdout, cmd.Stderr = &output, &output
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("dracut for %s: %w: %s", b.Kver, err, tail(output.String(), 2000))
	}
	return nil
}

// stageModules makes root/lib/modules/<Kver> with a link to each entry of
// ModulesDir, then runs depmod there, leaving ModulesDir untouched.
func (b Build) stageModules(ctx context.Context, root string) (string, error) {
	if !kverPattern.MatchString(b.Kver) {
		return "", fmt.Errorf("dracut: bad kernel release %q", b.Kver)
	}
	src, err := filepath.Abs(b.ModulesDir)
	if err != nil {
		return "", fmt.Errorf("dracut: %w", err)
	}
	entries, err := os.ReadDir(src)
	if err != nil {
		return "", fmt.Errorf("dracut: kernel modules: %w", err)
	}
	dir := filepath.Join(root, "lib", "modules", b.Kver)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("dracut: %w", err)
	}
	for _, e := range entries {
		name := e.Name()
		// depmod's outputs are regenerated below
		if strings.HasPrefix(name, "modules.") && name != "modules.order" &&
			name != "modules.builtin" && name != "modules.builtin.modinfo" {
			continue
		}
		if err := os.Symlink(filepath.Join(src, name), filepath.Join(dir, name)); err != nil {
			return "", fmt.Errorf("dracut: stage modules: %w", err)
		}
	}
	cmd := exec.CommandContext(ctx, "depmod", "--basedir", root, b.Kver)
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("dracut: depmod %s: %w: %s", b.Kver, err, tail(string(out), 1000))
	}
	return dir, nil
}

// tail returns the last n bytes of s, trimmed.
func tail(s string, n int) string {
	s = strings.TrimSpace(s)
	if len(s) > n {
		s = "…" + s[len(s)-n:]
	}
	return s
}
