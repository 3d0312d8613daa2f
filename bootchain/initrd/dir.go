package initrd

import (
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"

	"golang.org/x/sys/unix"
)

// WriteDir packs the tree under root into a newc archive written to w, as
// Write does: paths relative to root, owners 0:0, mtimes = epoch. Regular
// files, directories, symlinks and device nodes are kept; file contents
// are read into memory one file at a time.
func WriteDir(w io.Writer, root string, epoch int64) error {
	entries, err := ReadDir(root)
	if err != nil {
		return err
	}
	return Write(w, entries, epoch)
}

// ReadDir collects the tree under root as entries for Write.
func ReadDir(root string) ([]Entry, error) {
	var entries []Entry
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(root, p)
		if err != nil {
			return err
		}
		if rel == "." {
			return nil
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		e := Entry{Path: filepath.ToSlash(rel), Mode: info.Mode()}
		switch {
		case info.Mode().IsRegular():
			if e.Data, err = os.ReadFile(p); err != nil {
				return err
			}
		case info.Mode()&fs.ModeSymlink != 0:
			if e.LinkTarget, err = os.Readlink(p); err != nil {
				return err
			}
		case info.Mode()&fs.ModeDevice != 0:
			st, ok := info.Sys().(*syscall.Stat_t)
			if !ok {
				return fmt.Errorf("%s: no device numbers available", p)
			}
			e.DevMajor = unix.Major(uint64(st.Rdev)) //nolint:unconvert // Rdev's type differs per arch
			e.DevMinor = unix.Minor(uint64(st.Rdev)) //nolint:unconvert
		}
		entries = append(entries, e)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("initrd: read %s: %w", root, err)
	}
	return entries, nil
}
