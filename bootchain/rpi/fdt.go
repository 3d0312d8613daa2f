package rpi

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"strings"
)

// Flattened device tree (devicetree specification, "DTB format") values
// that RootCompatible reads.
const (
	fdtMagic     = 0xd00dfeed
	fdtBeginNode = 1
	fdtEndNode   = 2
	fdtProp      = 3
	fdtNop       = 4
	fdtEnd       = 9
)

// RootCompatible returns the "compatible" strings of a DTB's root node:
// the machine it describes, most specific first ("raspberrypi,5-model-b",
// "brcm,bcm2712").
func RootCompatible(dtb []byte) ([]string, error) {
	be := binary.BigEndian
	if len(dtb) < 40 || be.Uint32(dtb) != fdtMagic {
		return nil, fmt.Errorf("not a flattened device tree (no 0xd00dfeed magic)")
	}
	total, structOff, stringsOff := be.Uint32(dtb[4:]), be.Uint32(dtb[8:]), be.Uint32(dtb[12:])
	stringsSize, structSize := be.Uint32(dtb[32:]), be.Uint32(dtb[36:])
	if uint64(total) > uint64(len(dtb)) || uint64(structOff)+uint64(structSize) > uint64(total) ||
		uint64(stringsOff)+uint64(stringsSize) > uint64(total) {
		return nil, fmt.Errorf("device tree header points past its %d bytes", len(dtb))
	}
	st := dtb[structOff : structOff+structSize]
	names := dtb[stringsOff : stringsOff+stringsSize]
	depth := 0
	for p := 0; p+4 <= len(st); {
		tok := be.Uint32(st[p:])
		p += 4
		switch tok {
		case fdtBeginNode:
			end := bytes.IndexByte(st[p:], 0)
			if end < 0 {
				return nil, fmt.Errorf("device tree: unterminated node name")
			}
			p += align4(end + 1)
			depth++
			if depth > 1 {
				return nil, fmt.Errorf("device tree: the root node has no compatible property")
			}
		case fdtEndNode:
			depth--
		case fdtProp:
			if p+8 > len(st) {
				return nil, fmt.Errorf("device tree: truncated property")
			}
			n, nameOff := int(be.Uint32(st[p:])), be.Uint32(st[p+4:])
			p += 8
			if p+n > len(st) || int(nameOff) >= len(names) {
				return nil, fmt.Errorf("device tree: property past the end of its block")
			}
			value := st[p : p+n]
			p += align4(n)
			name := names[nameOff:]
			if i := bytes.IndexByte(name, 0); i >= 0 {
				name = name[:i]
			}
			if depth == 1 && string(name) == "compatible" {
				return strings.Split(strings.TrimRight(string(value), "\x00"), "\x00"), nil
			}
		case fdtNop:
		case fdtEnd:
			return nil, fmt.Errorf("device tree: the root node has no compatible property")
		default:
			return nil, fmt.Errorf("device tree: unknown token %#x", tok)
		}
	}
	return nil, fmt.Errorf("device tree: structure block ends without FDT_END")
}

func align4(n int) int { return (n + 3) &^ 3 }
