package uki

import (
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"strings"

	"github.com/hadron-linux/hadron/bootchain/measure"
	"github.com/hadron-linux/hadron/bootchain/pe"
)

// SectionInfo describes one section of an image.
type SectionInfo struct {
	// Name, VirtualAddress and VirtualSize are as in the section header;
	// FileOffset and RawSize locate the section's data in the file.
	Name           string `json:"name"`
	VirtualAddress uint32 `json:"virtualAddress"`
	VirtualSize    uint32 `json:"virtualSize"`
	FileOffset     uint32 `json:"fileOffset"`
	RawSize        uint32 `json:"rawSize"`
	// SHA256 is the hash of the VirtualSize bytes a loader maps.
	SHA256 string `json:"sha256"`
	// Measured tells whether the stub measures it into PCR 11.
	Measured bool `json:"measured"`
}

// PhaseInfo is a predicted PCR 11 value for one boot phase.
type PhaseInfo struct {
	Phase string `json:"phase"` // colon-separated phase path, as in measure.Prediction
	PCR11 string `json:"pcr11"` // hex
	// Signed tells whether .pcrsig holds a signature for this value.
	Signed bool `json:"signed"`
	// Refs are the policy references (measure.InitrdPolicyRef) of the
	// further signatures .pcrsig holds for this value.
	Refs []string `json:"refs,omitempty"`
}

// Info is what Inspect finds in a UKI.
type Info struct {
	// Stub is the stub's version string from its .sdmagic section.
	Stub string `json:"stub"`
	// Profile names the measure.Profile used for the stub's version.
	Profile  string        `json:"profile"`
	Sections []SectionInfo `json:"sections"`
	// SizeOfImage and SizeOfHeaders are the optional header's fields.
	SizeOfImage   uint32 `json:"sizeOfImage"`
	SizeOfHeaders uint32 `json:"sizeOfHeaders"`
	// PCR11 is the value systemd-stub leaves in PCR 11 (before any
	// systemd-pcrphase measurement).
	PCR11 string `json:"pcr11"`
	// Phases are the predicted values for systemd-measure's boot phases.
	Phases []PhaseInfo `json:"phases"`
	// Signed tells whether the image carries an Authenticode signature.
	Signed bool `json:"signed"`
	// PCRSig is "valid", "invalid: …" or "absent".
	PCRSig string `json:"pcrsig"`
}

// Inspect reads a UKI's sections and predicts its PCR 11 values; when the
// image has .pcrsig and .pcrpkey it checks the signatures and which
// predicted phases they cover (default phases are predicted).
func Inspect(image []byte) (*Info, error) {
	f, err := pe.Parse(image)
	if err != nil {
		return nil, fmt.Errorf("uki: %w", err)
	}
	if _, ok := f.Section(".linux"); !ok {
		return nil, errors.New("uki: no .linux section: not a unified kernel image")
	}
	info := &Info{SizeOfImage: f.SizeOfImage(), SizeOfHeaders: f.SizeOfHeaders(), PCRSig: "absent"}
	if s, ok := f.Section(".sdmagic"); ok {
		info.Stub = strings.Trim(strings.TrimSpace(strings.TrimRight(string(f.SectionData(s)), "\x00")), "# ")
		info.Stub = strings.TrimPrefix(info.Stub, "LoaderInfo: ")
	}
	profile := measure.ProfileForStub(info.Stub)
	info.Profile = profile.Name
	data := map[string][]byte{}
	for _, s := range f.Sections {
		d := f.SectionData(s)
		sum := sha256.Sum256(d)
		info.Sections = append(info.Sections, SectionInfo{
			Name: s.Name, VirtualAddress: s.VirtualAddress, VirtualSize: s.VirtualSize,
			FileOffset: s.PointerToRawData, RawSize: s.SizeOfRawData,
			SHA256: hex.EncodeToString(sum[:]), Measured: profile.Measured(s.Name) && len(d) > 0,
		})
		if _, dup := data[s.Name]; !dup {
			data[s.Name] = d
		}
	}
	base := measure.PredictSections(profile, data)
	info.PCR11 = base.String()
	preds := measure.PredictPhases(base, measure.DefaultPhases)
	signed := map[measure.Digest]bool{}
	refs := map[measure.Digest][]string{}
	if sig, ok := data[".pcrsig"]; ok {
		pols, err := verifyPCRSig(sig, data[".pcrpkey"])
		if err != nil {
			info.PCRSig = "invalid: " + err.Error()
		} else {
			info.PCRSig = "valid"
			for _, p := range pols {
				if p.Ref == "" {
					signed[p.Policy] = true
				} else {
					refs[p.Policy] = append(refs[p.Policy], p.Ref)
				}
			}
		}
	}
	for _, p := range preds {
		pol := measure.PolicyPCRDigest(p.PCR)
		info.Phases = append(info.Phases, PhaseInfo{Phase: p.Phase, PCR11: p.PCR.String(), Signed: signed[pol], Refs: refs[pol]})
	}
	_, certSize := f.CertTable()
	info.Signed = certSize > 0
	return info, nil
}

func verifyPCRSig(sig, pkey []byte) ([]measure.SignedPolicy, error) {
	if len(pkey) == 0 {
		return nil, errors.New("no .pcrpkey section")
	}
	blk, _ := pem.Decode(pkey)
	if blk == nil {
		return nil, errors.New(".pcrpkey is not PEM")
	}
	pub, err := x509.ParsePKIXPublicKey(blk.Bytes)
	if err != nil {
		return nil, fmt.Errorf(".pcrpkey: %w", err)
	}
	return measure.Verify(sig, pub)
}
