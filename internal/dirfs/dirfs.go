// Package dirfs is os.DirFS with a cheaper ReadFile. Loading a tree reads
// thousands of small files once each; os.ReadFile pays for an *os.File on
// each (runtime poller checks, a finalizer, a Stat for the size), which
// costs as much as the parsing. FS reads them with plain system calls.
package dirfs

import (
	"io/fs"
	"os"
	"path/filepath"
)

// FS is the file tree rooted at a directory. It implements fs.FS,
// fs.ReadFileFS, fs.ReadDirFS and fs.StatFS with the semantics of
// os.DirFS (symbolic links are followed, names are slash separated).
type FS struct {
	dir  string
	base fs.FS
}

// New returns the file tree rooted at dir.
func New(dir string) FS { return FS{dir: dir, base: os.DirFS(dir)} }

// Open opens name, like os.DirFS.
func (f FS) Open(name string) (fs.File, error) { return f.base.Open(name) }

// ReadDir lists name, like os.DirFS.
func (f FS) ReadDir(name string) ([]fs.DirEntry, error) { return fs.ReadDir(f.base, name) }

// Stat describes name, like os.DirFS.
func (f FS) Stat(name string) (fs.FileInfo, error) { return fs.Stat(f.base, name) }

// ReadFile returns the content of name. Errors are *fs.PathError naming
// name, and a missing file matches fs.ErrNotExist.
func (f FS) ReadFile(name string) ([]byte, error) {
	if !fs.ValidPath(name) {
		return nil, &fs.PathError{Op: "readfile", Path: name, Err: fs.ErrInvalid}
	}
	data, op, err := readFile(filepath.Join(f.dir, filepath.FromSlash(name)))
	if err != nil {
		return nil, &fs.PathError{Op: op, Path: name, Err: err}
	}
	return data, nil
}
