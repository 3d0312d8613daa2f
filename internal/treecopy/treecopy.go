// Package treecopy copies a directory tree (regular files, directories and
// symbolic links, with their permission bits) into another directory.
package treecopy

import (
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"golang.org/x/sys/unix"
)

// Options say what Copy does beyond copying.
type Options struct {
	// Stamp, when set, is the access and modification time of every
	// copied entry (directories after their contents); otherwise the
	// copies get the time of the copy.
	Stamp *time.Time
	// Strict makes any entry other than a regular file, a directory or a
	// symbolic link (devices, sockets, FIFOs) an error; otherwise such
	// entries are skipped.
	Strict bool
}

// Copy copies the tree under src into dst, which must exist. Entries are
// created, never overwritten: an existing one is an error.
func Copy(src, dst string, o Options) error {
	var dirs []string
	err := filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, p)
		if err != nil {
			return err
		}
		to := filepath.Join(dst, rel)
		info, err := d.Info()
		if err != nil {
			return err
		}
		mode := info.Mode()
		switch {
		case mode.IsDir():
			if rel != "." {
				if err := os.Mkdir(to, 0o755); err != nil {
					return err
				}
			}
			if err := os.Chmod(to, mode.Perm()|mode&(fs.ModeSetgid|fs.ModeSticky)); err != nil {
				return err
			}
			dirs = append(dirs, to)
			return nil
		case mode&fs.ModeSymlink != 0:
			target, err := os.Readlink(p)
			if err != nil {
				return err
			}
			if err := os.Symlink(target, to); err != nil {
				return err
			}
		case mode.IsRegular():
			if err := copyFile(p, to, mode); err != nil {
				return err
			}
		case o.Strict:
			return fmt.Errorf("%s: unsupported file type %s", rel, mode.Type())
		default:
			return nil
		}
		if o.Stamp == nil {
			return nil
		}
		return stamp(to, *o.Stamp)
	})
	if err != nil || o.Stamp == nil {
		return err
	}
	// Directories last, deepest first: making entries changed their times.
	for i := len(dirs) - 1; i >= 0; i-- {
		if err := stamp(dirs[i], *o.Stamp); err != nil {
			return err
		}
	}
	return nil
}

func copyFile(from, to string, mode fs.FileMode) error {
	in, err := os.Open(from)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(to, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	if err := out.Chmod(mode.Perm() | mode&(fs.ModeSetuid|fs.ModeSetgid|fs.ModeSticky)); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// stamp sets p's access and modification time to at without following a
// symbolic link.
func stamp(p string, at time.Time) error {
	ts := unix.NsecToTimespec(at.UnixNano())
	if err := unix.UtimesNanoAt(unix.AT_FDCWD, p, []unix.Timespec{ts, ts}, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return fmt.Errorf("set time of %s: %w", p, err)
	}
	return nil
}
