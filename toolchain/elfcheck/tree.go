package elfcheck

import (
	"errors"
	"io/fs"
	"path"
	"strings"
)

// maxLinks bounds the symbolic links one lookup follows, as Linux does.
const maxLinks = 40

var errTooManyLinks = errors.New("too many levels of symbolic links")

// tree looks absolute paths up inside a file system as if it were the root
// directory of a running system: symbolic links are followed, an absolute
// link target starts again at the tree's root and ".." stops there. A lookup
// never leaves the tree (os.DirFS alone would follow "/usr/lib/libc.so" to
// the host's).
type tree struct {
	fsys  fs.FS
	files map[string]bool // isFile answers by absolute path
}

func newTree(fsys fs.FS) *tree {
	return &tree{fsys: fsys, files: map[string]bool{}}
}

// resolve returns the name in fsys ("." for the root) that the absolute
// path p leads to, every symbolic link on the way followed. File systems
// without fs.ReadLinkFS are taken as they present themselves.
func (t *tree) resolve(p string) (string, error) {
	todo := strings.Split(p, "/")
	cur, links := ".", 0
	for len(todo) > 0 {
		c := todo[0]
		todo = todo[1:]
		switch c {
		case "", ".":
			continue
		case "..":
			cur = path.Dir(cur) // the parent of "." is "."
			continue
		}
		next := path.Join(cur, c)
		fi, err := fs.Lstat(t.fsys, next)
		if err != nil {
			return "", err
		}
		if fi.Mode()&fs.ModeSymlink == 0 {
			cur = next
			continue
		}
		if links++; links > maxLinks {
			return "", &fs.PathError{Op: "resolve", Path: p, Err: errTooManyLinks}
		}
		target, err := fs.ReadLink(t.fsys, next)
		if err != nil {
			return "", err
		}
		if path.IsAbs(target) {
			cur = "."
		}
		todo = append(strings.Split(target, "/"), todo...)
	}
	return cur, nil
}

// isFile reports whether the absolute path p leads to a regular file of the
// tree.
func (t *tree) isFile(p string) bool {
	if ok, seen := t.files[p]; seen {
		return ok
	}
	ok := false
	if name, err := t.resolve(p); err == nil {
		fi, err := fs.Stat(t.fsys, name)
		ok = err == nil && fi.Mode().IsRegular()
	}
	t.files[p] = ok
	return ok
}

// readFile reads the file the absolute path p leads to.
func (t *tree) readFile(p string) ([]byte, error) {
	name, err := t.resolve(p)
	if err != nil {
		return nil, err
	}
	return fs.ReadFile(t.fsys, name)
}
