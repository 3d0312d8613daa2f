package pe

import (
	"bytes"
	"crypto/sha256"
	dpe "debug/pe"
	"os"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const stubPath = "/usr/lib/systemd/boot/efi/linuxx64.efi.stub"

func loadStub(t *testing.T) []byte {
	t.Helper()
	b, err := os.ReadFile(stubPath)
	if os.IsNotExist(err) {
		t.Skipf("%s not installed (apt-get install systemd-boot-efi)", stubPath)
	}
	require.NoError(t, err)
	return b
}

func TestParseStub(t *testing.T) {
	b := loadStub(t)
	f, err := Parse(b)
	require.NoError(t, err)
	ref, err := dpe.NewFile(bytes.NewReader(b))
	require.NoError(t, err)
	oh := ref.OptionalHeader.(*dpe.OptionalHeader64)
	assert.True(t, f.Plus)
	assert.Equal(t, oh.SectionAlignment, f.SectionAlignment())
	assert.Equal(t, oh.FileAlignment, f.FileAlignment())
	assert.Equal(t, oh.SizeOfImage, f.SizeOfImage())
	assert.Equal(t, oh.SizeOfHeaders, f.SizeOfHeaders())
	require.Len(t, f.Sections, len(ref.Sections))
	for i, s := range ref.Sections {
		assert.Equal(t, s.Name, f.Sections[i].Name)
		assert.Equal(t, s.VirtualAddress, f.Sections[i].VirtualAddress)
		assert.Equal(t, s.Offset, f.Sections[i].PointerToRawData)
	}
	// The linker stored a checksum; ours must reproduce it.
	assert.Equal(t, oh.CheckSum, f.Checksum())
}

func TestParseErrors(t *testing.T) {
	stub := loadStub(t)
	badSig := bytes.Clone(stub)
	copy(badSig[0x80:], "XX")
	truncated := stub[:0x100]
	tests := []struct {
		name string
		in   []byte
	}{
		{"empty", nil},
		{"text", []byte("hello, this is not a portable executable file, not at all, no sir")},
		{"bad PE signature", badSig},
		{"truncated", truncated},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse(tc.in)
			assert.ErrorIs(t, err, ErrNotPE)
		})
	}
}

func TestAppendSections(t *testing.T) {
	stub := loadStub(t)
	f, err := Parse(stub)
	require.NoError(t, err)
	big := bytes.Repeat([]byte{0xab}, 70000)
	out, lay, err := f.AppendSections([]NewSection{{Name: ".osrel", Data: []byte("ID=x\n")}, {Name: ".linux", Data: big}}, ".sbat")
	require.NoError(t, err)
	require.Len(t, lay.Sections, 2)

	ref, err := dpe.NewFile(bytes.NewReader(out))
	require.NoError(t, err)
	assert.Nil(t, ref.Section(".sbat"), "dropped")
	linux := ref.Section(".linux")
	require.NotNil(t, linux)
	data, err := linux.Data()
	require.NoError(t, err)
	assert.Equal(t, big, data[:linux.VirtualSize])
	// The stub's code is unchanged, only moved on disk if headers grew.
	text := ref.Section(".text")
	got, err := text.Data()
	require.NoError(t, err)
	of, _ := f.Section(".text")
	assert.Equal(t, sha256.Sum256(stub[of.PointerToRawData:of.PointerToRawData+of.SizeOfRawData]), sha256.Sum256(got))

	nf, err := Parse(out)
	require.NoError(t, err)
	assert.Equal(t, nf.Checksum(), ref.OptionalHeader.(*dpe.OptionalHeader64).CheckSum)
	off, size := nf.CertTable()
	assert.Zero(t, off+size)

	_, _, err = f.AppendSections([]NewSection{{Name: ".toolongname", Data: []byte("x")}})
	assert.ErrorContains(t, err, "1 to 8 bytes")
}

func TestAppendSectionsNoHeaderRoom(t *testing.T) {
	f, err := Parse(loadStub(t))
	require.NoError(t, err)
	// 0x4000 bytes of header room hold about 400 section headers.
	var many []NewSection
	for i := 0; i < 500; i++ {
		many = append(many, NewSection{Name: ".x", Data: []byte{1}})
	}
	_, _, err = f.AppendSections(many)
	assert.ErrorContains(t, err, "no room")
}
