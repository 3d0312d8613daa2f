package repro

import (
	"archive/tar"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"time"

	digest "github.com/opencontainers/go-digest"
)

// File types of a File.
const (
	TypeFile     = "file"
	TypeDir      = "dir"
	TypeSymlink  = "symlink"
	TypeHardlink = "hardlink"
	TypeChar     = "char"
	TypeBlock    = "block"
	TypeFIFO     = "fifo"
	TypeOther    = "other"
)

// File is one entry of a file tree (a layer or an exported directory) as
// the comparison sees it: everything that makes two trees differ.
type File struct {
	// Path is slash-separated and relative, without "./".
	Path string
	// Type is one of the Type* constants.
	Type string
	// Mode holds the permission bits and setuid, setgid and sticky.
	Mode     fs.FileMode
	UID, GID int
	// Size and Digest (sha256) are a regular file's content.
	Size   int64
	Digest digest.Digest
	// ModTime is the modification time, UTC.
	ModTime time.Time
	// Link is a symlink's or hardlink's target.
	Link string
}

// describe is f in a few words for a report: type, size and digest, mode,
// owner, time.
func (f *File) describe() string {
	var what string
	switch f.Type {
	case TypeFile:
		what = fmt.Sprintf("%d bytes %s", f.Size, f.Digest)
	case TypeSymlink, TypeHardlink:
		what = f.Type + " -> " + f.Link
	default:
		what = f.Type
	}
	return fmt.Sprintf("%s, mode %04o, owner %d:%d, mtime %s", what, unixMode(f.Mode), f.UID, f.GID, f.ModTime.Format(time.RFC3339Nano))
}

// unixMode is m as the octal mode ls and chmod show.
func unixMode(m fs.FileMode) uint32 {
	u := uint32(m.Perm())
	if m&fs.ModeSetuid != 0 {
		u |= 0o4000
	}
	if m&fs.ModeSetgid != 0 {
		u |= 0o2000
	}
	if m&fs.ModeSticky != 0 {
		u |= 0o1000
	}
	return u
}

// ListTar lists the entries of a tar stream, sorted by path; a path that
// occurs twice counts as its last entry. Regular files are hashed.
func ListTar(r io.Reader) ([]File, error) {
	byPath := map[string]File{}
	buf := make([]byte, 64<<10) // one copy buffer for every entry
	tr := tar.NewReader(r)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("read tar: %w", err)
		}
		f := File{
			Path:    cleanPath(h.Name),
			Mode:    tarMode(h.Mode),
			UID:     h.Uid,
			GID:     h.Gid,
			ModTime: h.ModTime.UTC(),
			Link:    h.Linkname,
		}
		switch h.Typeflag {
		case tar.TypeReg:
			f.Type = TypeFile
			d, n, err := hash(tr, buf)
			if err != nil {
				return nil, fmt.Errorf("read tar entry %s: %w", h.Name, err)
			}
			f.Size, f.Digest = n, d
		case tar.TypeDir:
			f.Type = TypeDir
		case tar.TypeSymlink:
			f.Type = TypeSymlink
		case tar.TypeLink:
			f.Type, f.Link = TypeHardlink, cleanPath(h.Linkname)
		case tar.TypeChar:
			f.Type = TypeChar
		case tar.TypeBlock:
			f.Type = TypeBlock
		case tar.TypeFifo:
			f.Type = TypeFIFO
		default:
			f.Type = TypeOther
		}
		if f.Path == "" {
			continue // the root itself
		}
		byPath[f.Path] = f
	}
	return sorted(byPath), nil
}

// ListDir lists the tree under root (root itself not included), sorted
// by path. Regular files are hashed; owners are read where the system
// has them.
func ListDir(root string) ([]File, error) {
	byPath := map[string]File{}
	buf := make([]byte, 64<<10)
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(root, p)
		if err != nil || rel == "." {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		f := File{Path: filepath.ToSlash(rel), Mode: fi.Mode() & (fs.ModePerm | fs.ModeSetuid | fs.ModeSetgid | fs.ModeSticky), ModTime: fi.ModTime().UTC()}
		if st, ok := fi.Sys().(*syscall.Stat_t); ok {
			f.UID, f.GID = int(st.Uid), int(st.Gid)
		}
		switch t := fi.Mode().Type(); {
		case t == 0:
			f.Type = TypeFile
			if f.Digest, f.Size, err = hashFile(p, buf); err != nil {
				return err
			}
		case t&fs.ModeDir != 0:
			f.Type = TypeDir
		case t&fs.ModeSymlink != 0:
			f.Type = TypeSymlink
			if f.Link, err = os.Readlink(p); err != nil {
				return err
			}
		case t&fs.ModeCharDevice != 0:
			f.Type = TypeChar
		case t&fs.ModeDevice != 0:
			f.Type = TypeBlock
		case t&fs.ModeNamedPipe != 0:
			f.Type = TypeFIFO
		default:
			f.Type = TypeOther
		}
		byPath[f.Path] = f
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list %s: %w", root, err)
	}
	return sorted(byPath), nil
}

// FileDiff is a path whose entries differ between two trees; A or B is
// nil where the path is missing.
type FileDiff struct {
	Path string
	A, B *File
}

// Changes names what differs: "only in a", "only in b", or any of
// "type", "content", "link", "mode", "owner", "mtime".
func (d FileDiff) Changes() []string {
	switch {
	case d.A == nil:
		return []string{"only in b"}
	case d.B == nil:
		return []string{"only in a"}
	}
	a, b := d.A, d.B
	var out []string
	if a.Type != b.Type {
		out = append(out, "type")
	}
	if a.Size != b.Size || a.Digest != b.Digest {
		out = append(out, "content")
	}
	if a.Link != b.Link {
		out = append(out, "link")
	}
	if a.Mode != b.Mode {
		out = append(out, "mode")
	}
	if a.UID != b.UID || a.GID != b.GID {
		out = append(out, "owner")
	}
	if !a.ModTime.Equal(b.ModTime) {
		out = append(out, "mtime")
	}
	return out
}

// Lines renders d for a report: the path and what differs, then each
// side's entry (size and sha256 for files).
func (d FileDiff) Lines() []string {
	out := []string{d.Path + ": " + strings.Join(d.Changes(), ", ")}
	for _, side := range []struct {
		name string
		f    *File
	}{{"a", d.A}, {"b", d.B}} {
		if side.f == nil {
			out = append(out, "    "+side.name+": (absent)")
			continue
		}
		out = append(out, "    "+side.name+": "+side.f.describe())
	}
	return out
}

// DiffFiles returns the paths whose entries differ between a and b (both
// sorted by path, as ListTar and ListDir return them), sorted by path.
func DiffFiles(a, b []File) []FileDiff {
	var out []FileDiff
	i, j := 0, 0
	for i < len(a) || j < len(b) {
		switch {
		case j == len(b) || (i < len(a) && a[i].Path < b[j].Path):
			out = append(out, FileDiff{Path: a[i].Path, A: &a[i]})
			i++
		case i == len(a) || b[j].Path < a[i].Path:
			out = append(out, FileDiff{Path: b[j].Path, B: &b[j]})
			j++
		default:
			if d := (FileDiff{Path: a[i].Path, A: &a[i], B: &b[j]}); len(d.Changes()) > 0 {
				out = append(out, d)
			}
			i++
			j++
		}
	}
	return out
}

// cleanPath makes a tar entry name relative and slash-clean ("" for the
// root).
func cleanPath(name string) string {
	p := path.Clean("/" + name)
	return strings.TrimPrefix(p, "/")
}

// tarMode keeps the permission bits and setuid, setgid and sticky of a
// tar header's mode, as fs.FileMode.
func tarMode(m int64) fs.FileMode {
	mode := fs.FileMode(m) & fs.ModePerm
	if m&0o4000 != 0 {
		mode |= fs.ModeSetuid
	}
	if m&0o2000 != 0 {
		mode |= fs.ModeSetgid
	}
	if m&0o1000 != 0 {
		mode |= fs.ModeSticky
	}
	return mode
}

// hash returns the sha256 digest and length of what r holds, copied
// through buf (nil: a new one).
func hash(r io.Reader, buf []byte) (digest.Digest, int64, error) {
	h := sha256.New()
	if buf == nil {
		buf = make([]byte, 64<<10)
	}
	n, err := io.CopyBuffer(h, r, buf)
	if err != nil {
		return "", 0, err
	}
	return digest.NewDigest(digest.SHA256, h), n, nil
}

func hashFile(p string, buf []byte) (digest.Digest, int64, error) {
	f, err := os.Open(p)
	if err != nil {
		return "", 0, err
	}
	defer f.Close()
	return hash(f, buf)
}

func sorted(m map[string]File) []File {
	out := make([]File, 0, len(m))
	for _, f := range m {
		out = append(out, f)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	return out
}
