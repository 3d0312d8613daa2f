package uki

import (
	"bytes"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"debug/pe"
	"encoding/hex"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hadron-linux/hadron/bootchain/measure"
	hpe "github.com/hadron-linux/hadron/bootchain/pe"
	"github.com/hadron-linux/hadron/bootchain/secureboot"
)

const stubPath = "/usr/lib/systemd/boot/efi/linuxx64.efi.stub"

var testOSRelease = []byte("ID=hadron\nVERSION_ID=0.1\n")

func loadStub(t testing.TB) []byte {
	t.Helper()
	b, err := os.ReadFile(stubPath)
	if os.IsNotExist(err) {
		t.Skipf("%s not installed (apt-get install systemd-boot-efi)", stubPath)
	}
	require.NoError(t, err)
	return b
}

func fakeKernel(n int) []byte {
	k := make([]byte, n)
	_, _ = rand.Read(k)
	copy(k, "MZ")
	return k
}

func fullConfig(t testing.TB) Config {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	require.NoError(t, err)
	return Config{
		Stub:      loadStub(t),
		Kernel:    fakeKernel(300_001),
		Initrds:   [][]byte{[]byte("first-initrd-odd"), []byte("second")},
		Cmdline:   "console=ttyS0 quiet\n",
		OSRelease: testOSRelease,
		Uname:     "6.1.0-hadron",
		SBAT:      "hadron,1,Hadron,hadron,1,https://example.invalid/hadron\n",
		Splash:    []byte("BM fake splash"),
		DTB:       []byte{0xd0, 0x0d, 0xfe, 0xed},
		PCRKey:    key,
	}
}

// TestBuildLayout checks the section layout with Go's debug/pe, a parser
// independent of the one that wrote the image.
func TestBuildLayout(t *testing.T) {
	cfg := fullConfig(t)
	res, err := Build(cfg)
	require.NoError(t, err)
	assert.Positive(t, res.Layout.HeaderGrowth, "17 sections do not fit the stub's 0x400 header bytes")

	f, err := pe.NewFile(bytes.NewReader(res.Image))
	require.NoError(t, err)
	oh := f.OptionalHeader.(*pe.OptionalHeader64)

	want := map[string][]byte{
		".linux":   cfg.Kernel,
		".initrd":  []byte("first-initrd-oddsecond"), // 16 bytes: no padding needed
		".cmdline": []byte("console=ttyS0 quiet"),
		".osrel":   cfg.OSRelease,
		".uname":   []byte("6.1.0-hadron"),
		".splash":  cfg.Splash,
		".dtb":     cfg.DTB,
	}
	added := map[string]bool{".pcrsig": true, ".pcrpkey": true, ".sbat": true}
	for n := range want {
		added[n] = true
	}
	var names []string
	type span struct{ va, end uint32 }
	var spans []span
	for _, s := range f.Sections {
		names = append(names, s.Name)
		data, err := s.Data()
		require.NoError(t, err)
		data = data[:min(uint32(len(data)), s.VirtualSize)]
		if w, ok := want[s.Name]; ok {
			assert.Equal(t, w, data, s.Name)
		}
		assert.Zero(t, s.Offset%oh.FileAlignment, "%s file offset", s.Name)
		if added[s.Name] {
			// (The stub's own .sdmagic is not SectionAlignment-aligned.)
			assert.Zero(t, s.VirtualAddress%4096, "%s RVA is page-aligned", s.Name)
		}
		assert.GreaterOrEqual(t, s.VirtualAddress, oh.SizeOfHeaders)
		spans = append(spans, span{s.VirtualAddress, s.VirtualAddress + s.VirtualSize})
	}
	for _, n := range []string{".linux", ".initrd", ".cmdline", ".osrel", ".uname", ".sbat", ".splash", ".dtb", ".pcrsig", ".pcrpkey", ".text", ".sdmagic"} {
		assert.Contains(t, names, n)
	}
	sbatCount := 0
	for _, n := range names {
		if n == ".sbat" {
			sbatCount++
		}
	}
	assert.Equal(t, 1, sbatCount, "the stub's .sbat is replaced, not duplicated")
	sbat, err := f.Section(".sbat").Data()
	require.NoError(t, err)
	assert.Contains(t, string(sbat), "sbat,1,SBAT Version")
	assert.Contains(t, string(sbat), "hadron,1,Hadron")

	// New sections do not overlap each other or the stub's; SizeOfImage
	// covers them all.
	sort.Slice(spans, func(i, j int) bool { return spans[i].va < spans[j].va })
	for i := 1; i < len(spans); i++ {
		if spans[i-1].end > spans[i].va {
			// The stub itself overlaps .sbat/.sdmagic by its raw size only;
			// virtual sizes must not overlap.
			t.Errorf("sections overlap: [%#x,%#x) and [%#x,%#x)", spans[i-1].va, spans[i-1].end, spans[i].va, spans[i].end)
		}
	}
	last := spans[len(spans)-1]
	assert.GreaterOrEqual(t, oh.SizeOfImage, last.end)
	assert.Zero(t, oh.SizeOfImage%oh.SectionAlignment)
	assert.GreaterOrEqual(t, oh.SizeOfHeaders, uint32(0x80+4+20+240+40*len(f.Sections)), "section headers fit the header area")
}

func TestBuildPredictionMatchesInspect(t *testing.T) {
	cfg := fullConfig(t)
	res, err := Build(cfg)
	require.NoError(t, err)
	info, err := Inspect(res.Image)
	require.NoError(t, err)
	assert.Equal(t, res.PCR11.String(), info.PCR11)
	assert.Equal(t, "valid", info.PCRSig)
	assert.Equal(t, measure.Stub252.Name, info.Profile)
	require.Len(t, info.Phases, len(measure.DefaultPhases))
	for i, p := range info.Phases {
		assert.True(t, p.Signed, p.Phase)
		assert.Equal(t, res.Predictions[i].PCR.String(), p.PCR11)
	}
	for _, s := range info.Sections {
		switch s.Name {
		case ".linux":
			sum := sha256.Sum256(cfg.Kernel)
			assert.Equal(t, hex.EncodeToString(sum[:]), s.SHA256)
			assert.True(t, s.Measured)
		case ".pcrsig", ".uname", ".sbat", ".text":
			assert.False(t, s.Measured, "%s is not measured by systemd-stub 252", s.Name)
		case ".pcrpkey":
			assert.True(t, s.Measured)
		}
	}

	// A different command line gives a different PCR 11.
	cfg.Cmdline = "console=ttyS0"
	res2, err := Build(cfg)
	require.NoError(t, err)
	assert.NotEqual(t, res.PCR11, res2.PCR11)
}

// stubAs returns the test stub with its .sdmagic saying version: the
// measuring rules follow the stub's version (measure.ProfileForStub).
func stubAs(t *testing.T, version string) []byte {
	t.Helper()
	f, err := hpe.Parse(loadStub(t))
	require.NoError(t, err)
	b, _, err := f.AppendSections([]hpe.NewSection{{Name: ".sdmagic", Data: []byte("#### LoaderInfo: systemd-stub " + version + " ####\x00")}}, ".sdmagic")
	require.NoError(t, err)
	return b
}

// TestBuildPredictsStubSBAT: systemd-stub 256+ measures .sbat, and a UKI
// built without extra SBAT lines keeps the stub's own .sbat, which the
// prediction and so the signed policy must include (they did not: every
// signed PCR 11 value of such a UKI was wrong, seen as "Couldn't find
// signature for this PCR bank" when systemd unsealed at boot).
func TestBuildPredictsStubSBAT(t *testing.T) {
	cfg := fullConfig(t)
	cfg.Stub = stubAs(t, "262.1")
	cfg.SBAT = ""
	res, err := Build(cfg)
	require.NoError(t, err)
	require.Equal(t, measure.Stub256.Name, res.Profile.Name)
	info, err := Inspect(res.Image)
	require.NoError(t, err)
	measuredSBAT := false
	for _, s := range info.Sections {
		if s.Name == ".sbat" {
			measuredSBAT = s.Measured
		}
	}
	require.True(t, measuredSBAT, "the stub's .sbat is in the UKI and measured")
	assert.Equal(t, info.PCR11, res.PCR11.String())
	for i, p := range info.Phases {
		assert.True(t, p.Signed, "phase %s: .pcrsig signs the value the stub will measure", p.Phase)
		assert.Equal(t, res.Predictions[i].PCR.String(), p.PCR11)
	}
}

func TestBuildIsReproducible(t *testing.T) {
	cfg := fullConfig(t)
	cfg.PCRKey = nil
	a, err := Build(cfg)
	require.NoError(t, err)
	b, err := Build(cfg)
	require.NoError(t, err)
	assert.Equal(t, sha256.Sum256(a.Image), sha256.Sum256(b.Image))
}

func TestBuildErrors(t *testing.T) {
	stub := loadStub(t)
	tests := []struct {
		name string
		cfg  Config
		want string
	}{
		{"no kernel", Config{Stub: stub, OSRelease: testOSRelease}, "no kernel"},
		{"kernel not PE", Config{Stub: stub, Kernel: []byte("ELF"), OSRelease: testOSRelease}, "not an EFI-stub image"},
		{"stub not PE", Config{Stub: []byte("nope"), Kernel: fakeKernel(100), OSRelease: testOSRelease}, "not a PE/COFF image"},
		{"no os-release", Config{Stub: stub, Kernel: fakeKernel(100)}, "no os-release (.osrel)"},
		{"blank os-release", Config{Stub: stub, Kernel: fakeKernel(100), OSRelease: []byte("\n  \n")}, "no os-release (.osrel)"},
		{"os-release not KEY=VALUE", Config{Stub: stub, Kernel: fakeKernel(100), OSRelease: []byte("ID=hadron\nhello world\n")},
			`os-release line 2: "hello world" is not KEY=VALUE`},
		{"os-release without name", Config{Stub: stub, Kernel: fakeKernel(100), OSRelease: []byte("VERSION_ID=1\n")},
			"names no system"},
		{"os-release without version", Config{Stub: stub, Kernel: fakeKernel(100), OSRelease: []byte("# comment\nID=hadron\nNAME=\"\"\n")},
			"has no version"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Build(tc.cfg)
			assert.ErrorContains(t, err, tc.want)
		})
	}
	res, err := Build(Config{Stub: stub, Kernel: fakeKernel(100), OSRelease: []byte("NAME=Hadron\nBUILD_ID=1700000000\n")})
	require.NoError(t, err)
	_, err = Build(Config{Stub: res.Image, Kernel: fakeKernel(100), OSRelease: testOSRelease})
	assert.ErrorContains(t, err, "already has a .linux section")
}

// TestSignedUKIWithSbverify signs a UKI and checks it with sbverify.
func TestSignedUKIWithSbverify(t *testing.T) {
	if _, err := exec.LookPath("sbverify"); err != nil {
		t.Skip("sbverify not installed (apt-get install sbsigntool)")
	}
	res, err := Build(fullConfig(t))
	require.NoError(t, err)
	keys := filepath.Join(t.TempDir(), "keys")
	require.NoError(t, secureboot.Generate(keys, secureboot.GenerateOptions{}))
	kp, err := secureboot.LoadKeyPair(secureboot.KeyFile(keys, "db"), secureboot.CertFile(keys, "db"))
	require.NoError(t, err)
	signed, err := secureboot.SignPE(res.Image, kp)
	require.NoError(t, err)
	p := filepath.Join(t.TempDir(), "uki.efi")
	require.NoError(t, os.WriteFile(p, signed, 0o644))
	out, err := exec.Command("sbverify", "--cert", secureboot.CertFile(keys, "db"), p).CombinedOutput()
	require.NoError(t, err, string(out))

	info, err := Inspect(signed)
	require.NoError(t, err)
	assert.True(t, info.Signed)
	assert.Equal(t, res.PCR11.String(), info.PCR11, "signing must not change the prediction")

	signed[len(signed)/3] ^= 1 // inside .linux
	require.NoError(t, os.WriteFile(p, signed, 0o644))
	out, err = exec.Command("sbverify", "--cert", secureboot.CertFile(keys, "db"), p).CombinedOutput()
	require.Error(t, err, string(out))
}

func BenchmarkBuildAndSign(b *testing.B) {
	stub := loadStub(b)
	kernel := fakeKernel(10 << 20)
	initrd := make([]byte, 20<<20)
	_, _ = rand.Read(initrd)
	keys := filepath.Join(b.TempDir(), "keys")
	require.NoError(b, secureboot.Generate(keys, secureboot.GenerateOptions{}))
	kp, err := secureboot.LoadKeyPair(secureboot.KeyFile(keys, "db"), secureboot.CertFile(keys, "db"))
	require.NoError(b, err)
	pcrKey, err := secureboot.LoadKey(secureboot.KeyFile(keys, "pcr"))
	require.NoError(b, err)
	b.SetBytes(30 << 20)
	for b.Loop() {
		res, err := Build(Config{Stub: stub, Kernel: kernel, Initrds: [][]byte{initrd}, Cmdline: "console=ttyS0",
			OSRelease: testOSRelease, PCRKey: pcrKey})
		if err != nil {
			b.Fatal(err)
		}
		if _, err := secureboot.SignPE(res.Image, kp); err != nil {
			b.Fatal(err)
		}
	}
}
