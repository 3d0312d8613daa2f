// Package initrd writes reproducible initramfs archives: cpio "newc"
// (SVR4, no CRC) as the Linux kernel unpacks it, optionally gzip-compressed.
//
// The same entries and epoch always give the same bytes: entries are sorted
// by path, parent directories are implied, owners are root (0:0), every
// mtime is the epoch and inode numbers are assigned in path order.
//
// The writer is small and written here rather than taken from
// github.com/cavaliergopher/cpio because that library always writes zero
// rdevmajor/rdevminor fields, so it cannot produce device nodes such as
// /dev/console, which an initramfs needs for init's first console.
package initrd

import (
	"bufio"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"sort"
	"strings"
)

// Entry is one file, directory, symlink or device node in an archive.
type Entry struct {
	// Path is the slash-separated path inside the archive, with or
	// without a leading "/" ("init", "/bin/busybox").
	Path string
	// Mode holds the permission bits and the type: fs.ModeDir for a
	// directory, fs.ModeSymlink for a symlink, fs.ModeDevice (plus
	// fs.ModeCharDevice for a character device) for a device node,
	// otherwise a regular file.
	Mode fs.FileMode
	// Data is the content of a regular file.
	Data []byte
	// LinkTarget is the target of a symlink.
	LinkTarget string
	// DevMajor and DevMinor are the device numbers of a device node.
	DevMajor, DevMinor uint32
}

// newc header field values (octal type bits as the kernel's stat.h has them).
const (
	newcMagic  = "070701"
	typeFifo   = 0o010000
	typeChar   = 0o020000
	typeDir    = 0o040000
	typeBlock  = 0o060000
	typeReg    = 0o100000
	typeLink   = 0o120000
	typeSocket = 0o140000
	trailer    = "TRAILER!!!"
	maxFile    = 1<<32 - 1
)

// ErrDuplicate is returned when two entries have the same path.
var ErrDuplicate = errors.New("duplicate path")

// Write writes entries as a newc cpio archive to w. Entries are sorted by
// path, missing parent directories are added with mode 0755, uid and gid
// are 0 and every mtime is epoch (seconds since 1970, normally
// SOURCE_DATE_EPOCH).
func Write(w io.Writer, entries []Entry, epoch int64) error {
	list, err := normalise(entries)
	if err != nil {
		return err
	}
	bw := bufio.NewWriterSize(w, 1<<16)
	for i, e := range list {
		if err := writeEntry(bw, e, uint32(i+1), epoch); err != nil {
			return fmt.Errorf("initrd: write %s: %w", e.Path, err)
		}
	}
	if err := writeHeader(bw, trailer, 0, 0, 1, 0, 0, 0, 0); err != nil {
		return fmt.Errorf("initrd: write trailer: %w", err)
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("initrd: flush: %w", err)
	}
	return nil
}

// normalise cleans paths, rejects duplicates and escapes, adds implied
// parent directories and sorts.
func normalise(entries []Entry) ([]Entry, error) {
	byPath := make(map[string]Entry, len(entries))
	for _, e := range entries {
		p, err := cleanPath(e.Path)
		if err != nil {
			return nil, err
		}
		e.Path = p
		if old, ok := byPath[p]; ok {
			// The same directory named twice is harmless; anything else
			// would silently lose one of the two.
			if !(old.Mode.IsDir() && e.Mode.IsDir() && old.Mode == e.Mode) {
				return nil, fmt.Errorf("initrd: %s: %w", p, ErrDuplicate)
			}
		}
		byPath[p] = e
	}
	for p := range byPath {
		for dir := path.Dir(p); dir != "."; dir = path.Dir(dir) {
			if parent, ok := byPath[dir]; ok {
				if !parent.Mode.IsDir() {
					return nil, fmt.Errorf("initrd: %s: parent %s is not a directory", p, dir)
				}
				continue
			}
			byPath[dir] = Entry{Path: dir, Mode: fs.ModeDir | 0o755}
		}
	}
	list := make([]Entry, 0, len(byPath))
	for _, e := range byPath {
		list = append(list, e)
	}
	sort.Slice(list, func(i, j int) bool { return list[i].Path < list[j].Path })
	return list, nil
}

// cleanPath turns p into a relative archive path and refuses paths that
// leave the archive root.
func cleanPath(p string) (string, error) {
	trimmed := strings.TrimLeft(p, "/")
	if trimmed == "" {
		return "", fmt.Errorf("initrd: empty path %q", p)
	}
	for _, part := range strings.Split(trimmed, "/") {
		if part == ".." {
			return "", fmt.Errorf("initrd: path %q leaves the archive root", p)
		}
	}
	c := path.Clean(trimmed)
	if c == "." {
		return "", fmt.Errorf("initrd: empty path %q", p)
	}
	return c, nil
}

func writeEntry(w io.Writer, e Entry, ino uint32, epoch int64) error {
	perm := uint32(e.Mode.Perm())
	if e.Mode&fs.ModeSetuid != 0 {
		perm |= 0o4000
	}
	if e.Mode&fs.ModeSetgid != 0 {
		perm |= 0o2000
	}
	if e.Mode&fs.ModeSticky != 0 {
		perm |= 0o1000
	}
	var (
		mode  uint32
		data  []byte
		nlink uint32 = 1
		maj   uint32
		min   uint32
	)
	switch {
	case e.Mode.IsDir():
		mode, nlink = typeDir, 2
	case e.Mode&fs.ModeSymlink != 0:
		if e.LinkTarget == "" {
			return errors.New("symlink without a target")
		}
		mode, data = typeLink, []byte(e.LinkTarget)
	case e.Mode&(fs.ModeDevice|fs.ModeCharDevice) != 0:
		mode, maj, min = typeBlock, e.DevMajor, e.DevMinor
		if e.Mode&fs.ModeCharDevice != 0 {
			mode = typeChar
		}
	case e.Mode&fs.ModeNamedPipe != 0:
		mode = typeFifo
	case e.Mode&fs.ModeSocket != 0:
		mode = typeSocket
	case e.Mode.IsRegular():
		mode, data = typeReg, e.Data
	default:
		return fmt.Errorf("unsupported file type %v", e.Mode.Type())
	}
	if int64(len(data)) > maxFile {
		return fmt.Errorf("%d bytes is larger than newc allows", len(data))
	}
	if epoch < 0 || epoch > maxFile {
		return fmt.Errorf("epoch %d out of range", epoch)
	}
	if err := writeHeader(w, e.Path, ino, mode|perm, nlink, uint32(epoch), uint32(len(data)), maj, min); err != nil {
		return err
	}
	if _, err := w.Write(data); err != nil {
		return err
	}
	return pad4(w, len(data))
}

// writeHeader writes one 110-byte newc header, the NUL-terminated name and
// the padding to a 4-byte boundary.
func writeHeader(w io.Writer, name string, ino, mode, nlink, mtime, size, rmaj, rmin uint32) error {
	hdr := fmt.Sprintf("%s%08x%08x%08x%08x%08x%08x%08x%08x%08x%08x%08x%08x%08x",
		newcMagic, ino, mode, 0, 0, nlink, mtime, size, 0, 0, rmaj, rmin, len(name)+1, 0)
	if _, err := io.WriteString(w, hdr); err != nil {
		return err
	}
	if _, err := io.WriteString(w, name+"\x00"); err != nil {
		return err
	}
	return pad4(w, len(hdr)+len(name)+1)
}

func pad4(w io.Writer, n int) error {
	var zero [3]byte
	if p := (4 - n%4) % 4; p > 0 {
		_, err := w.Write(zero[:p])
		return err
	}
	return nil
}

// NewGzipWriter returns a gzip writer with a reproducible header: no file
// name, no modification time, default compression. Close it to flush.
func NewGzipWriter(w io.Writer) *gzip.Writer {
	// gzip.NewWriter leaves Name empty and ModTime zero, so the header
	// bytes depend on nothing but the compression level.
	return gzip.NewWriter(w)
}

// WriteGzip writes entries like Write, gzip-compressed with a reproducible
// header.
func WriteGzip(w io.Writer, entries []Entry, epoch int64) error {
	zw := NewGzipWriter(w)
	if err := Write(zw, entries, epoch); err != nil {
		return err
	}
	if err := zw.Close(); err != nil {
		return fmt.Errorf("initrd: gzip: %w", err)
	}
	return nil
}
