package verity

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

// testData is n blocks of a SHA-256 chain seeded with "hadron": fixed
// bytes that every block differs in.
func testData(n int) []byte {
	out := make([]byte, 0, n*BlockSize)
	h := []byte("hadron")
	for len(out) < n*BlockSize {
		s := sha256.Sum256(h)
		h = s[:]
		out = append(out, h...)
	}
	return out[:n*BlockSize]
}

var testSalt = func() []byte { s := sha256.Sum256([]byte("hadron-test-salt")); return s[:] }()

var testUUID = [16]byte{0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef, 0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef}

// refRoot is an independent computation of the root hash: digest every
// block, then recursively digest groups of 128 digests (one zero-padded
// block each) until one block is left.
func refRoot(salt []byte, blocks [][]byte) []byte {
	digest := func(b []byte) []byte {
		s := sha256.Sum256(append(append([]byte(nil), salt...), b...))
		return s[:]
	}
	var up func(digests [][]byte) []byte
	up = func(digests [][]byte) []byte {
		var parents [][]byte
		for i := 0; i < len(digests); i += 128 {
			block := make([]byte, 4096)
			for j, d := range digests[i:min(i+128, len(digests))] {
				copy(block[j*32:], d)
			}
			parents = append(parents, block)
		}
		if len(parents) == 1 {
			return digest(parents[0])
		}
		var ds [][]byte
		for _, p := range parents {
			ds = append(ds, digest(p))
		}
		return up(ds)
	}
	var ds [][]byte
	for _, b := range blocks {
		ds = append(ds, digest(b))
	}
	if len(ds) == 1 {
		return ds[0]
	}
	return up(ds)
}

func TestRootHashMatchesReference(t *testing.T) {
	for _, n := range []int{1, 2, 127, 128, 129, 300, 128*128 + 1} {
		data := testData(n)
		tree, err := Compute(bytes.NewReader(data), int64(len(data)), testSalt)
		require.NoError(t, err)
		var blocks [][]byte
		for off := 0; off < len(data); off += BlockSize {
			blocks = append(blocks, data[off:off+BlockSize])
		}
		require.Equal(t, hex.EncodeToString(refRoot(testSalt, blocks)), hex.EncodeToString(tree.RootHash), "%d blocks", n)
		require.EqualValues(t, n, tree.DataBlocks)
	}
}

// The golden values were made with veritysetup 2.6.1:
//
//	veritysetup format --hash=sha256 --data-block-size=4096 --hash-block-size=4096 \
//	  --salt=<testSalt> --uuid=01234567-89ab-cdef-0123-456789abcdef DATA HASH
//
// on the 300 blocks of testData(300).
const (
	goldenRoot    = "d246b1836218a21f94494bad0564a8fd3dfd578e027698be0f8ad2d1a83b0dd9"
	goldenHashDev = "5dc36491bfd98e3929d97ccb17cc5acf5a5822ce446c9d3b079b870ad20f8249"
)

func TestGoldenHashDevice(t *testing.T) {
	data := testData(300)
	tree, err := Compute(bytes.NewReader(data), int64(len(data)), testSalt)
	require.NoError(t, err)
	require.Equal(t, goldenRoot, hex.EncodeToString(tree.RootHash))
	require.Len(t, tree.Levels, 2)
	var dev bytes.Buffer
	require.NoError(t, tree.WriteHashDevice(&dev, testUUID))
	require.EqualValues(t, 20480, tree.HashSize())
	require.Equal(t, int(tree.HashSize()), dev.Len())
	sum := sha256.Sum256(dev.Bytes())
	require.Equal(t, goldenHashDev, hex.EncodeToString(sum[:]))
}

// TestVeritysetupVerifies has veritysetup itself check a tree of other
// sizes, where it is installed (cryptsetup-bin).
func TestVeritysetupVerifies(t *testing.T) {
	if _, err := exec.LookPath("veritysetup"); err != nil {
		t.Skip("veritysetup not installed (apt-get install cryptsetup-bin)")
	}
	for _, n := range []int{1, 2, 129, 1000} {
		dir := t.TempDir()
		data := testData(n)
		tree, err := Compute(bytes.NewReader(data), int64(len(data)), testSalt)
		require.NoError(t, err)
		var dev bytes.Buffer
		require.NoError(t, tree.WriteHashDevice(&dev, testUUID))
		dataFile, hashFile := filepath.Join(dir, "data"), filepath.Join(dir, "hash")
		require.NoError(t, os.WriteFile(dataFile, data, 0o644))
		require.NoError(t, os.WriteFile(hashFile, dev.Bytes(), 0o644))
		out, err := exec.Command("veritysetup", "verify", dataFile, hashFile, hex.EncodeToString(tree.RootHash)).CombinedOutput()
		require.NoError(t, err, "%d blocks: %s", n, out)

		// One flipped data byte is refused.
		data[BlockSize*(n-1)+7] ^= 1
		require.NoError(t, os.WriteFile(dataFile, data, 0o644))
		_, err = exec.Command("veritysetup", "verify", dataFile, hashFile, hex.EncodeToString(tree.RootHash)).CombinedOutput()
		require.Error(t, err, "%d blocks: tampered data verified", n)
	}
}

func TestSuperblockLayout(t *testing.T) {
	tree, err := Compute(bytes.NewReader(testData(3)), 3*BlockSize, testSalt)
	require.NoError(t, err)
	b, err := tree.Superblock(testUUID).MarshalBinary()
	require.NoError(t, err)
	require.Len(t, b, SuperblockSize)
	require.Equal(t, "verity\x00\x00", string(b[0:8]))
	require.Equal(t, []byte{1, 0, 0, 0}, b[8:12], "version")
	require.Equal(t, []byte{1, 0, 0, 0}, b[12:16], "hash type")
	require.Equal(t, testUUID[:], b[16:32])
	require.Equal(t, "sha256", string(bytes.TrimRight(b[32:64], "\x00")))
	require.Equal(t, []byte{0, 0x10, 0, 0}, b[64:68], "data block size")
	require.Equal(t, []byte{0, 0x10, 0, 0}, b[68:72], "hash block size")
	require.Equal(t, []byte{3, 0, 0, 0, 0, 0, 0, 0}, b[72:80], "data blocks")
	require.Equal(t, []byte{32, 0}, b[80:82], "salt size")
	require.Equal(t, testSalt, b[88:120])
	require.Equal(t, make([]byte, SuperblockSize-120), b[120:])

	var back Superblock
	require.NoError(t, back.UnmarshalBinary(b))
	require.Equal(t, tree.Superblock(testUUID), back)
	require.ErrorContains(t, back.UnmarshalBinary(make([]byte, SuperblockSize)), "no superblock")
}

func TestComputeRefusesBadInput(t *testing.T) {
	_, err := Compute(bytes.NewReader(nil), 0, nil)
	require.ErrorContains(t, err, "not a positive multiple of 4096")
	_, err = Compute(bytes.NewReader(make([]byte, 5000)), 5000, nil)
	require.ErrorContains(t, err, "not a positive multiple")
	_, err = Compute(bytes.NewReader(make([]byte, 4096)), 8192, nil)
	require.ErrorContains(t, err, "read data block 1")
	_, err = Compute(bytes.NewReader(make([]byte, 4096)), 4096, make([]byte, 257))
	require.ErrorContains(t, err, "salt of 257 bytes")
}

func BenchmarkCompute64MiB(b *testing.B) {
	data := make([]byte, 64<<20)
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		if _, err := Compute(bytes.NewReader(data), int64(len(data)), testSalt); err != nil {
			b.Fatal(err)
		}
	}
}
