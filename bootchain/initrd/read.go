package initrd

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"strconv"
)

// Read parses a newc archive (as written by Write) back into entries, in
// archive order. Mtimes and owners are not returned. It exists for tests
// and for inspecting initrds; it reads contents into memory.
func Read(r io.Reader) ([]Entry, error) {
	br := bufio.NewReader(r)
	var out []Entry
	var off int64
	for {
		var hdr [110]byte
		if _, err := io.ReadFull(br, hdr[:]); err != nil {
			return nil, fmt.Errorf("initrd: header at %d: %w", off, err)
		}
		if string(hdr[:6]) != newcMagic {
			return nil, fmt.Errorf("initrd: bad magic %q at %d", hdr[:6], off)
		}
		field := func(i int) (uint32, error) {
			v, err := strconv.ParseUint(string(hdr[6+8*i:14+8*i]), 16, 32)
			return uint32(v), err
		}
		var f [13]uint32
		for i := range f {
			v, err := field(i)
			if err != nil {
				return nil, fmt.Errorf("initrd: header field %d at %d: %w", i, off, err)
			}
			f[i] = v
		}
		mode, size, rmaj, rmin, namesize := f[1], f[6], f[9], f[10], f[11]
		if namesize == 0 || namesize > 4096 {
			return nil, fmt.Errorf("initrd: bad name size %d at %d", namesize, off)
		}
		name := make([]byte, namesize+uint32((4-(110+int(namesize))%4)%4))
		if _, err := io.ReadFull(br, name); err != nil {
			return nil, fmt.Errorf("initrd: name at %d: %w", off, err)
		}
		n := string(name[:namesize-1])
		data := make([]byte, size+uint32((4-int(size)%4)%4))
		if _, err := io.ReadFull(br, data); err != nil {
			return nil, fmt.Errorf("initrd: %s: data: %w", n, err)
		}
		data = data[:size]
		off += int64(110 + len(name) + len(data))
		if n == trailer {
			return out, nil
		}
		e := Entry{Path: n, Mode: fs.FileMode(mode & 0o777)}
		switch mode &^ 0o7777 {
		case typeDir:
			e.Mode |= fs.ModeDir
		case typeLink:
			e.Mode |= fs.ModeSymlink
			e.LinkTarget = string(data)
		case typeChar:
			e.Mode |= fs.ModeDevice | fs.ModeCharDevice
			e.DevMajor, e.DevMinor = rmaj, rmin
		case typeBlock:
			e.Mode |= fs.ModeDevice
			e.DevMajor, e.DevMinor = rmaj, rmin
		case typeFifo:
			e.Mode |= fs.ModeNamedPipe
		case typeSocket:
			e.Mode |= fs.ModeSocket
		case typeReg:
			e.Data = data
		default:
			return nil, errors.New("initrd: " + n + ": unknown file type")
		}
		if mode&0o4000 != 0 {
			e.Mode |= fs.ModeSetuid
		}
		if mode&0o2000 != 0 {
			e.Mode |= fs.ModeSetgid
		}
		if mode&0o1000 != 0 {
			e.Mode |= fs.ModeSticky
		}
		out = append(out, e)
	}
}
