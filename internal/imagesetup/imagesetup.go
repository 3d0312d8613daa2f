// Package imagesetup does at build time what systemd does on an image's
// first boot: the system users and groups of sysusers.d, the files and
// folders of tmpfiles.d, the unit enablement of the presets, the compiled
// hardware database and the journal's message catalog, and it marks /etc
// and /var as up to date with /usr, so that the units systemd runs only
// after an update of /usr (ConditionNeedsUpdate=) stay idle. It runs
// the image's own systemd tools (`hadron image-setup`, a build step whose
// root file system is the assembled image), and is strict where systemd at
// boot is lenient: a sysusers.d line systemd-sysusers rejects fails the
// build with the file and line, instead of a warning on the console of
// every first boot.
package imagesetup

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"
)

// SysusersDirs are the folders systemd-sysusers reads, the first one
// winning for files of the same name (sysusers.d(5)).
var SysusersDirs = []string{"/etc/sysusers.d", "/run/sysusers.d", "/usr/local/lib/sysusers.d", "/usr/lib/sysusers.d"}

// TmpfilesExclude are the trees systemd-tmpfiles leaves alone at build
// time: API file systems and the volatile folders systemd mounts at boot.
var TmpfilesExclude = []string{"/dev", "/proc", "/sys", "/run", "/tmp"}

// HwdbDirs are the folders of hardware database sources systemd-hwdb
// compiles (hwdb(7)).
var HwdbDirs = []string{"/etc/udev/hwdb.d", "/usr/lib/udev/hwdb.d"}

// CatalogDir holds the journal's message catalog sources.
const CatalogDir = "/usr/lib/systemd/catalog"

// UpdatedDirs are the folders whose ".updated" stamp systemd's
// ConditionNeedsUpdate= compares with /usr (systemd-update-done(8)).
var UpdatedDirs = []string{"/etc", "/var"}

// Tool paths inside the image.
const (
	sysusers   = "/usr/bin/systemd-sysusers"
	tmpfiles   = "/usr/bin/systemd-tmpfiles"
	systemctl  = "/usr/bin/systemctl"
	hwdb       = "/usr/bin/systemd-hwdb"
	journalctl = "/usr/bin/journalctl"
)

// ConfigFiles returns the "*.conf" files of dirs under root as systemd
// orders configuration: by file name, a name found in an earlier folder
// hiding the same name in later ones. A file that is a link to /dev/null
// masks the name and is left out. Paths are returned as seen inside the
// image (root is stripped).
func ConfigFiles(root string, dirs []string) ([]string, error) {
	chosen := map[string]string{}
	for _, dir := range dirs {
		entries, err := readDirIn(root, dir)
		if err != nil {
			return nil, err
		}
		for _, e := range entries {
			name := e.Name()
			if !strings.HasSuffix(name, ".conf") || e.IsDir() {
				continue
			}
			if _, seen := chosen[name]; seen {
				continue
			}
			chosen[name] = path.Join(dir, name)
		}
	}
	names := make([]string, 0, len(chosen))
	for n := range chosen {
		names = append(names, n)
	}
	sort.Strings(names)
	out := make([]string, 0, len(names))
	for _, n := range names {
		p := chosen[n]
		if target, err := os.Readlink(filepath.Join(root, p)); err == nil && target == "/dev/null" {
			continue
		}
		out = append(out, p)
	}
	return out, nil
}

// Step is one command of the setup.
type Step struct {
	// Name says what the step does, for messages.
	Name string
	// Args is the command line, the program first (a path in the image).
	Args []string
}

// Steps returns the setup's commands for the image at root: systemd-sysusers
// with the sysusers.d files named one by one (so that a rejected line is
// an error, not a warning), systemd-tmpfiles --create outside
// TmpfilesExclude, systemctl preset-all, then systemd-hwdb update --usr
// --strict (the compiled database in /usr/lib/udev/hwdb.bin, so that no
// boot compiles it) and journalctl --update-catalog. An image without
// sysusers.d files skips the first step, one without hwdb.d sources or
// without catalog sources the last ones.
func Steps(root string) ([]Step, error) {
	files, err := ConfigFiles(root, SysusersDirs)
	if err != nil {
		return nil, fmt.Errorf("sysusers.d: %w", err)
	}
	var steps []Step
	if len(files) > 0 {
		steps = append(steps, Step{"system users and groups (sysusers.d)", append([]string{sysusers}, files...)})
	}
	tf := []string{tmpfiles, "--create"}
	for _, p := range TmpfilesExclude {
		tf = append(tf, "--exclude-prefix="+p)
	}
	steps = append(steps,
		Step{"files and folders (tmpfiles.d)", tf},
		Step{"unit presets (systemctl preset-all)", []string{systemctl, "preset-all"}},
	)
	sources, err := hasFiles(root, HwdbDirs, ".hwdb")
	if err != nil {
		return nil, fmt.Errorf("hwdb.d: %w", err)
	}
	if sources {
		steps = append(steps, Step{"hardware database (hwdb.d)", []string{hwdb, "update", "--usr", "--strict"}})
	}
	catalog, err := hasFiles(root, []string{CatalogDir}, ".catalog")
	if err != nil {
		return nil, fmt.Errorf("catalog: %w", err)
	}
	if catalog {
		steps = append(steps, Step{"journal message catalog", []string{journalctl, "--update-catalog"}})
	}
	return steps, nil
}

// hasFiles reports whether any of dirs under root holds a file whose name
// ends in suffix.
func hasFiles(root string, dirs []string, suffix string) (bool, error) {
	for _, dir := range dirs {
		entries, err := readDirIn(root, dir)
		if err != nil {
			return false, err
		}
		for _, e := range entries {
			if !e.IsDir() && strings.HasSuffix(e.Name(), suffix) {
				return true, nil
			}
		}
	}
	return false, nil
}

// readDirIn lists the folder dir of the image at root; a folder the image
// does not have lists as empty.
func readDirIn(root, dir string) ([]os.DirEntry, error) {
	entries, err := os.ReadDir(filepath.Join(root, dir))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", dir, err)
	}
	return entries, nil
}

// MarkUpdated writes the ".updated" stamp of each of UpdatedDirs under
// root as systemd-update-done does, for the time epoch (seconds): the
// stamp's modification time and its TIMESTAMP_NSEC. Every file of an
// image is at SOURCE_DATE_EPOCH, /usr too, so ConditionNeedsUpdate= finds
// /usr no newer than the stamps and the update units (systemd-hwdb-update,
// systemd-journal-catalog-update, systemd-sysusers, systemd-update-done)
// do not run on the first boot: the setup did their work. A /usr changed
// later (a system extension, an update) is newer again and they run.
func MarkUpdated(root string, epoch int64) error {
	t := time.Unix(epoch, 0)
	stamp := fmt.Sprintf("TIMESTAMP_NSEC=%d\n", t.UnixNano())
	for _, dir := range UpdatedDirs {
		p := filepath.Join(root, dir, ".updated")
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return fmt.Errorf("mark %s updated: %w", dir, err)
		}
		if err := os.WriteFile(p, []byte(stamp), 0o644); err != nil {
			return fmt.Errorf("mark %s updated: %w", dir, err)
		}
		if err := os.Chtimes(p, t, t); err != nil {
			return fmt.Errorf("mark %s updated: %w", dir, err)
		}
	}
	return nil
}

// Run runs the setup steps for the image at root ("/" when the step's root
// file system is the image) one after the other, their output going to
// out, then marks /etc and /var updated for SOURCE_DATE_EPOCH when the
// environment sets it (MarkUpdated). The tools are the image's own, found
// under root; when root is not "/" they are told so with --root. The
// first failing step stops the setup; its error carries the tool's last
// output lines.
func Run(ctx context.Context, root string, out io.Writer) error {
	steps, err := Steps(root)
	if err != nil {
		return err
	}
	for _, s := range steps {
		args := append([]string(nil), s.Args...)
		if root != "/" {
			args = append([]string{args[0], "--root=" + root}, args[1:]...)
		}
		var tail bytes.Buffer
		cmd := exec.CommandContext(ctx, filepath.Join(root, args[0]), args[1:]...)
		cmd.Stdout = io.MultiWriter(out, &tail)
		cmd.Stderr = io.MultiWriter(out, &tail)
		// Offline: the tools change files, no service manager is asked.
		cmd.Env = append(os.Environ(), "SYSTEMD_OFFLINE=1")
		fmt.Fprintf(out, "image setup: %s: %s\n", s.Name, strings.Join(args, " "))
		if err := cmd.Run(); err != nil {
			msg := strings.TrimSpace(tail.String())
			if msg != "" {
				msg = ":\n" + lastLines(msg, 20)
			}
			return fmt.Errorf("image setup: %s: %s failed (%w)%s", s.Name, path.Base(args[0]), err, msg)
		}
	}
	sde := os.Getenv("SOURCE_DATE_EPOCH")
	if sde == "" {
		fmt.Fprintln(out, "image setup: SOURCE_DATE_EPOCH is not set: /etc and /var are not marked updated (the first boot runs the update units)")
		return nil
	}
	epoch, err := strconv.ParseInt(sde, 10, 64)
	if err != nil {
		return fmt.Errorf("image setup: SOURCE_DATE_EPOCH %q: %w", sde, err)
	}
	fmt.Fprintf(out, "image setup: /etc/.updated and /var/.updated at %d\n", epoch)
	if err := MarkUpdated(root, epoch); err != nil {
		return fmt.Errorf("image setup: %w", err)
	}
	return nil
}

// lastLines returns the last n lines of s.
func lastLines(s string, n int) string {
	lines := strings.Split(s, "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
