// Package measure predicts the TPM PCR 11 values systemd-stub and
// systemd-pcrphase produce when a unified kernel image boots, and signs
// them into the .pcrsig JSON that systemd-stub passes on and
// systemd-cryptsetup/systemd-creds use to unlock TPM2-sealed secrets
// (what `systemd-measure sign` does).
//
// Only the SHA-256 bank is computed.
package measure

import (
	"crypto/sha256"
	"encoding/hex"
	"regexp"
	"strconv"
)

// PCR is the register systemd-stub measures UKI sections into.
const PCR = 11

// Digest is one SHA-256 PCR value.
type Digest [sha256.Size]byte

// String is the lower-case hex form, as /sys/class/tpm/tpm0/pcr-sha256/11
// prints it (upper-case there; compare case-insensitively).
func (d Digest) String() string { return hex.EncodeToString(d[:]) }

// Extend returns the PCR value after extending pcr with a measurement
// whose digest is m: SHA-256(pcr || m).
func Extend(pcr Digest, m Digest) Digest {
	h := sha256.New()
	h.Write(pcr[:])
	h.Write(m[:])
	var out Digest
	copy(out[:], h.Sum(nil))
	return out
}

// ExtendData extends pcr with the SHA-256 of data.
func ExtendData(pcr Digest, data []byte) Digest { return Extend(pcr, sha256.Sum256(data)) }

// Profile is the list of UKI sections a systemd-stub version measures,
// in its measuring order. .pcrsig is never measured: it signs the result.
type Profile struct {
	Name     string   // the stub versions it applies to, e.g. "systemd-stub 256+"
	Sections []string // section names, e.g. ".linux"
}

// Profiles of the systemd-stub versions that differ.
var (
	// Stub252 is systemd 252 (Debian 12): no .uname, no .sbat.
	Stub252 = Profile{Name: "systemd-stub 252", Sections: []string{".linux", ".osrel", ".cmdline", ".initrd", ".splash", ".dtb", ".pcrpkey"}}
	// Stub254 is systemd 253..255: adds .uname and .sbat.
	Stub254 = Profile{Name: "systemd-stub 253-255", Sections: []string{".linux", ".osrel", ".cmdline", ".initrd", ".splash", ".dtb", ".uname", ".sbat", ".pcrpkey"}}
	// Stub256 is systemd 256 and later: adds .ucode (after .initrd).
	Stub256 = Profile{Name: "systemd-stub 256+", Sections: []string{".linux", ".osrel", ".cmdline", ".initrd", ".ucode", ".splash", ".dtb", ".uname", ".sbat", ".pcrpkey"}}
)

var stubVersion = regexp.MustCompile(`systemd-stub (\d+)`)

// ProfileForStub picks the profile from a stub's .sdmagic text ("####
// LoaderInfo: systemd-stub 252.39-1~deb12u2 ####"). Unknown or missing
// versions get the newest profile.
func ProfileForStub(sdmagic string) Profile {
	m := stubVersion.FindStringSubmatch(sdmagic)
	if m == nil {
		return Stub256
	}
	v, _ := strconv.Atoi(m[1])
	switch {
	case v <= 252:
		return Stub252
	case v < 256:
		return Stub254
	default:
		return Stub256
	}
}

// Measured tells whether profile p measures section name.
func (p Profile) Measured(name string) bool {
	for _, s := range p.Sections {
		if s == name {
			return true
		}
	}
	return false
}

// Event is one extension of PCR 11.
type Event struct {
	// Description says what was measured (a section name or a phase word).
	Description string
	// Digest is the measurement (SHA-256 of the measured bytes).
	Digest Digest
}

// SectionEvents lists the measurements systemd-stub makes for a UKI
// whose sections are given by name: for each measured section in the
// profile's order, present and not empty, first the section name with its
// terminating NUL, then the section's content.
func SectionEvents(p Profile, sections map[string][]byte) []Event {
	var ev []Event
	for _, name := range p.Sections {
		data, ok := sections[name]
		if !ok || len(data) == 0 {
			continue
		}
		ev = append(ev,
			Event{Description: name + " (name)", Digest: sha256.Sum256(append([]byte(name), 0))},
			Event{Description: name, Digest: sha256.Sum256(data)})
	}
	return ev
}

// Replay extends a zero PCR with every event.
func Replay(events []Event) Digest {
	var pcr Digest
	for _, e := range events {
		pcr = Extend(pcr, e.Digest)
	}
	return pcr
}

// PredictSections is Replay(SectionEvents(p, sections)): PCR 11 when the
// stub hands over to the kernel.
func PredictSections(p Profile, sections map[string][]byte) Digest {
	return Replay(SectionEvents(p, sections))
}
