package disk

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
)

// FSType is a root file system format.
type FSType string

// Root file system formats. Both are read-only, which suits A/B slots
// written whole by an updater.
const (
	// EROFS is made with mkfs.erofs (lz4hc compressed).
	EROFS FSType = "erofs"
	// Squashfs is made with mksquashfs (zstd compressed).
	Squashfs FSType = "squashfs"
)

// RootFS describes a read-only root file system image made from a directory.
type RootFS struct {
	// Type is the format.
	Type FSType
	// Dir is the directory tree to pack.
	Dir string
	// UUID is the file system UUID (erofs only; squashfs has none).
	UUID string
	// Epoch is SOURCE_DATE_EPOCH: every file's and the file system's time.
	Epoch int64
	// KeepOwners keeps each file's owner and group (a whole root file
	// system, whose system users own their state); otherwise every file
	// is root's.
	KeepOwners bool
}

// Args returns the command line that writes the image to out. Files are
// owned by root and stamped with Epoch; the UUID is fixed.
func (r RootFS) Args(out string) ([]string, error) {
	if r.Dir == "" {
		return nil, fmt.Errorf("rootfs: no source directory")
	}
	epoch := strconv.FormatInt(r.Epoch, 10)
	switch r.Type {
	case EROFS:
		if r.UUID == "" {
			return nil, fmt.Errorf("rootfs: erofs needs a fixed UUID")
		}
		// -T alone keeps each file's sub-second mtime (erofs-utils 1.5),
		// which leaks build-host timing; --ignore-mtime stamps every inode
		// with exactly the -T time.
		args := []string{"mkfs.erofs", "--quiet", "-zlz4hc", "-T" + epoch, "--ignore-mtime", "-U" + r.UUID}
		if !r.KeepOwners {
			args = append(args, "--all-root")
		}
		return append(args, out, r.Dir), nil
	case Squashfs:
		args := []string{"mksquashfs", r.Dir, out, "-noappend", "-quiet", "-no-progress",
			"-comp", "zstd", "-mkfs-time", epoch, "-all-time", epoch}
		if !r.KeepOwners {
			args = append(args, "-all-root")
		}
		return args, nil
	default:
		return nil, fmt.Errorf("rootfs: unsupported type %q (erofs, squashfs)", r.Type)
	}
}

// Build writes the image to out, replacing any file there.
func (r RootFS) Build(ctx context.Context, out string) error {
	args, err := r.Args(out)
	if err != nil {
		return err
	}
	if st, err := os.Stat(r.Dir); err != nil || !st.IsDir() {
		return fmt.Errorf("rootfs: source %s is not a directory", r.Dir)
	}
	if err := os.Remove(out); err != nil && !os.IsNotExist(err) {
		return fmt.Errorf("rootfs: %w", err)
	}
	cmd := exec.CommandContext(ctx, args[0], args[1:]...)
	// mksquashfs refuses SOURCE_DATE_EPOCH next to its explicit time
	// options, so the time goes on the command line only.
	cmd.Env = envWithout(os.Environ(), "SOURCE_DATE_EPOCH")
	var output bytes.Buffer
	cmd.Stdout, cmd.Stderr = &output, &output
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("rootfs %s: %w: %s", r.Type, err, strings.TrimSpace(output.String()))
	}
	return nil
}

// envWithout returns env minus the variable name.
func envWithout(env []string, name string) []string {
	out := make([]string, 0, len(env))
	for _, kv := range env {
		if !strings.HasPrefix(kv, name+"=") {
			out = append(out, kv)
		}
	}
	return out
}
