package ddi

import (
	"encoding/binary"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/diskfs/go-diskfs/backend/file"
	"github.com/diskfs/go-diskfs/filesystem/squashfs"
	"golang.org/x/sys/unix"
)

// squashfsMkfsTime is the offset of the superblock's creation time.
const squashfsMkfsTime = 8

// chdirMu serialises writeSquashfs's change of working directory.
var chdirMu sync.Mutex

// writeSquashfs writes the tree under dir to out as a squashfs file
// system (gzip), in-process with go-diskfs: for build steps without
// mkfs.erofs or mksquashfs (stage 0 has neither). Every file is owned by
// root and dated epoch, and so is the file system, so the bytes depend on
// the tree's content, names, modes and link targets only.
//
// go-diskfs v1.9.4 has two quirks handled here: it stamps the superblock
// with the wall-clock time (patched afterwards), and it reads symbolic
// link targets by paths relative to the process's working directory (so
// the working directory is its workspace while it runs; chdirMu keeps two
// calls apart).
func writeSquashfs(dir, out string, epoch int64) error {
	if err := os.Remove(out); err != nil && !os.IsNotExist(err) {
		return fmt.Errorf("squashfs: %w", err)
	}
	f, err := os.Create(out)
	if err != nil {
		return fmt.Errorf("squashfs: %w", err)
	}
	defer f.Close()
	sq, err := squashfs.Create(file.New(f, false), 0, 0, 0)
	if err != nil {
		return fmt.Errorf("squashfs: %w", err)
	}
	defer sq.Close()
	ws := sq.Workspace()
	if err := copyTree(dir, ws, time.Unix(epoch, 0)); err != nil {
		return fmt.Errorf("squashfs: copy %s: %w", dir, err)
	}
	root := uint32(0)
	if err := finalizeIn(ws, func() error {
		return sq.Finalize(squashfs.FinalizeOptions{Compression: &squashfs.CompressorGzip{}, FileUID: &root, FileGID: &root})
	}); err != nil {
		return fmt.Errorf("squashfs: %w", err)
	}
	var ts [4]byte
	binary.LittleEndian.PutUint32(ts[:], uint32(epoch))
	if _, err := f.WriteAt(ts[:], squashfsMkfsTime); err != nil {
		return fmt.Errorf("squashfs: set creation time: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("squashfs: %w", err)
	}
	return nil
}

// finalizeIn runs fn with dir as the working directory.
func finalizeIn(dir string, fn func() error) error {
	chdirMu.Lock()
	defer chdirMu.Unlock()
	wd, err := os.Getwd()
	if err != nil {
		return err
	}
	if err := os.Chdir(dir); err != nil {
		return err
	}
	err = fn()
	if cerr := os.Chdir(wd); err == nil {
		err = cerr
	}
	return err
}

// copyTree copies the regular files, directories and symbolic links under
// src into dst (which exists) with their permission bits, every time
// set to at. Anything else (devices, sockets, FIFOs) is an error: a system
// extension carries none.
func copyTree(src, dst string, at time.Time) error {
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
		default:
			return fmt.Errorf("%s: unsupported file type %s", rel, mode.Type())
		}
		return stamp(to, at)
	})
	if err != nil {
		return err
	}
	// Directories last, deepest first: making entries changed their times.
	for i := len(dirs) - 1; i >= 0; i-- {
		if err := stamp(dirs[i], at); err != nil {
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
