// Package verity computes dm-verity hash trees in the on-disk format of
// veritysetup (cryptsetup): a 512-byte superblock in its own block, then
// the hash tree levels from the root-most level down to the level over the
// data blocks. Only what Hadron's images use is supported: format version
// 1, SHA-256, 4096-byte data and hash blocks, a salt given by the caller.
//
// It is written here because no maintained Go library produces the hash
// device: the existing ones verify or shell out to veritysetup, which
// Hadron's build steps do not have.
package verity

import (
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// BlockSize is the data and hash block size in bytes.
const BlockSize = 4096

// Algorithm is the hash algorithm, as the superblock names it.
const Algorithm = "sha256"

// HashType is the verity format version (1: the salt is hashed before the
// block, hash blocks are zero-padded).
const HashType = 1

// SuperblockSize is the size of the superblock; it is padded with zeros
// to one BlockSize on the hash device.
const SuperblockSize = 512

// MaxSalt is the largest salt the superblock holds.
const MaxSalt = 256

// hashesPerBlock is how many digests one hash block holds.
const hashesPerBlock = BlockSize / sha256.Size

// Tree is a computed hash tree.
type Tree struct {
	// RootHash is the digest of the top hash block: what the kernel is
	// given (roothash=, the signature's rootHash).
	RootHash []byte
	// Salt is the salt hashed before every block.
	Salt []byte
	// DataBlocks is the number of data blocks covered.
	DataBlocks uint64
	// Levels are the hash levels, Levels[0] over the data blocks and the
	// last one a single block; each is zero-padded to whole blocks. With
	// a single data block there is no level and RootHash is that block's
	// digest (as veritysetup does).
	Levels [][]byte
}

// Compute hashes the size bytes of data, which must be a positive
// multiple of BlockSize, with salt.
func Compute(data io.Reader, size int64, salt []byte) (*Tree, error) {
	if size <= 0 || size%BlockSize != 0 {
		return nil, fmt.Errorf("verity: data size %d is not a positive multiple of %d", size, BlockSize)
	}
	if len(salt) > MaxSalt {
		return nil, fmt.Errorf("verity: salt of %d bytes (at most %d)", len(salt), MaxSalt)
	}
	t := &Tree{Salt: append([]byte(nil), salt...), DataBlocks: uint64(size / BlockSize)}
	buf := make([]byte, BlockSize)
	level := make([]byte, 0, roundUp(int(t.DataBlocks)*sha256.Size))
	for i := uint64(0); i < t.DataBlocks; i++ {
		if _, err := io.ReadFull(data, buf); err != nil {
			return nil, fmt.Errorf("verity: read data block %d: %w", i, err)
		}
		level = t.hash(level, buf)
	}
	if t.DataBlocks == 1 {
		t.RootHash = level
		return t, nil
	}
	for {
		level = pad(level)
		t.Levels = append(t.Levels, level)
		if len(level) == BlockSize {
			t.RootHash = t.hash(nil, level)
			return t, nil
		}
		next := make([]byte, 0, roundUp(len(level)/BlockSize*sha256.Size))
		for off := 0; off < len(level); off += BlockSize {
			next = t.hash(next, level[off:off+BlockSize])
		}
		level = next
	}
}

// hash appends SHA-256(salt || block) to dst.
func (t *Tree) hash(dst, block []byte) []byte {
	h := sha256.New()
	h.Write(t.Salt)
	h.Write(block)
	return h.Sum(dst)
}

// HashSize is the size of the hash device: the superblock block and every
// level.
func (t *Tree) HashSize() int64 {
	n := int64(BlockSize)
	for _, l := range t.Levels {
		n += int64(len(l))
	}
	return n
}

// WriteHashDevice writes the hash device: the superblock (with uuid)
// padded to a block, then the levels from the top one down, as
// veritysetup lays them out.
func (t *Tree) WriteHashDevice(w io.Writer, uuid [16]byte) error {
	sb, err := t.Superblock(uuid).MarshalBinary()
	if err != nil {
		return err
	}
	if _, err := w.Write(pad(sb)); err != nil {
		return fmt.Errorf("verity: write superblock: %w", err)
	}
	for i := len(t.Levels) - 1; i >= 0; i-- {
		if _, err := w.Write(t.Levels[i]); err != nil {
			return fmt.Errorf("verity: write hash level %d: %w", i, err)
		}
	}
	return nil
}

// Superblock returns the tree's superblock with uuid.
func (t *Tree) Superblock(uuid [16]byte) Superblock {
	return Superblock{
		HashType:      HashType,
		UUID:          uuid,
		Algorithm:     Algorithm,
		DataBlockSize: BlockSize,
		HashBlockSize: BlockSize,
		DataBlocks:    t.DataBlocks,
		Salt:          t.Salt,
	}
}

// Superblock is veritysetup's on-disk header of a hash device (little
// endian, 512 bytes).
type Superblock struct {
	// HashType is the format version (1).
	HashType uint32
	// UUID identifies the device; veritysetup makes a random one.
	UUID [16]byte
	// Algorithm is the hash name ("sha256").
	Algorithm string
	// DataBlockSize and HashBlockSize are the block sizes in bytes.
	DataBlockSize, HashBlockSize uint32
	// DataBlocks is the number of data blocks.
	DataBlocks uint64
	// Salt is hashed before each block.
	Salt []byte
}

// superblockMagic opens every superblock.
var superblockMagic = [8]byte{'v', 'e', 'r', 'i', 't', 'y', 0, 0}

// Superblock field offsets.
const (
	offVersion       = 8
	offHashType      = 12
	offUUID          = 16
	offAlgorithm     = 32
	algorithmLen     = 32
	offDataBlockSize = 64
	offHashBlockSize = 68
	offDataBlocks    = 72
	offSaltSize      = 80
	offSalt          = 88 // after 6 bytes of padding
	superblockVer    = 1
)

// MarshalBinary encodes the superblock.
func (s Superblock) MarshalBinary() ([]byte, error) {
	if len(s.Algorithm) >= algorithmLen {
		return nil, fmt.Errorf("verity: algorithm name %q too long", s.Algorithm)
	}
	if len(s.Salt) > MaxSalt {
		return nil, fmt.Errorf("verity: salt of %d bytes (at most %d)", len(s.Salt), MaxSalt)
	}
	b := make([]byte, SuperblockSize)
	copy(b, superblockMagic[:])
	le := binary.LittleEndian
	le.PutUint32(b[offVersion:], superblockVer)
	le.PutUint32(b[offHashType:], s.HashType)
	copy(b[offUUID:], s.UUID[:])
	copy(b[offAlgorithm:offAlgorithm+algorithmLen], s.Algorithm)
	le.PutUint32(b[offDataBlockSize:], s.DataBlockSize)
	le.PutUint32(b[offHashBlockSize:], s.HashBlockSize)
	le.PutUint64(b[offDataBlocks:], s.DataBlocks)
	le.PutUint16(b[offSaltSize:], uint16(len(s.Salt)))
	copy(b[offSalt:], s.Salt)
	return b, nil
}

// UnmarshalBinary decodes a superblock (at least SuperblockSize bytes).
func (s *Superblock) UnmarshalBinary(b []byte) error {
	if len(b) < SuperblockSize {
		return fmt.Errorf("verity: superblock of %d bytes (want %d)", len(b), SuperblockSize)
	}
	if [8]byte(b[:8]) != superblockMagic {
		return errors.New("verity: no superblock (magic is not \"verity\")")
	}
	le := binary.LittleEndian
	if v := le.Uint32(b[offVersion:]); v != superblockVer {
		return fmt.Errorf("verity: superblock version %d (want %d)", v, superblockVer)
	}
	saltSize := int(le.Uint16(b[offSaltSize:]))
	if saltSize > MaxSalt {
		return fmt.Errorf("verity: salt size %d (at most %d)", saltSize, MaxSalt)
	}
	alg := b[offAlgorithm : offAlgorithm+algorithmLen]
	for i, c := range alg {
		if c == 0 {
			alg = alg[:i]
			break
		}
	}
	*s = Superblock{
		HashType:      le.Uint32(b[offHashType:]),
		UUID:          [16]byte(b[offUUID : offUUID+16]),
		Algorithm:     string(alg),
		DataBlockSize: le.Uint32(b[offDataBlockSize:]),
		HashBlockSize: le.Uint32(b[offHashBlockSize:]),
		DataBlocks:    le.Uint64(b[offDataBlocks:]),
		Salt:          append([]byte(nil), b[offSalt:offSalt+saltSize]...),
	}
	return nil
}

func roundUp(n int) int { return (n + BlockSize - 1) / BlockSize * BlockSize }

// pad zero-pads b to whole blocks.
func pad(b []byte) []byte {
	if n := roundUp(len(b)); n > len(b) {
		b = append(b, make([]byte, n-len(b))...)
	}
	return b
}
