// Package uki assembles Unified Kernel Images: a systemd-stub EFI binary
// with the kernel, initrd, command line, os-release and friends appended
// as PE sections (UAPI Group "Unified Kernel Image" specification), plus
// the signed PCR 11 policy (.pcrsig) and its public key (.pcrpkey).
package uki

import (
	"bytes"
	"crypto"
	"errors"
	"fmt"
	"strings"

	"github.com/hadron-linux/hadron/bootchain/measure"
	"github.com/hadron-linux/hadron/bootchain/pe"
	"github.com/hadron-linux/hadron/bootchain/secureboot"
)

// Config is what goes into a UKI.
type Config struct {
	// Stub is the systemd-stub EFI binary (linuxx64.efi.stub).
	Stub []byte
	// Kernel is the EFI-stub kernel image (bzImage / vmlinuz).
	Kernel []byte
	// Initrds are concatenated, in order, into .initrd (each padded to 4
	// bytes, as the kernel expects of concatenated cpio archives).
	Initrds [][]byte
	// Cmdline is the kernel command line (.cmdline).
	Cmdline string
	// OSRelease is the os-release file (.osrel), required: it must name
	// the system (ID, NAME, …) and its version (VERSION_ID, BUILD_ID, …).
	OSRelease []byte
	// Uname is the kernel release, `uname -r` (.uname).
	Uname string
	// SBAT lines to add to the stub's own SBAT data (.sbat); empty keeps
	// the stub's .sbat untouched.
	SBAT string
	// Splash is an optional BMP boot splash (.splash).
	Splash []byte
	// DTB is an optional device tree (.dtb).
	DTB []byte
	// PCRKey, when set, signs the PCR 11 predictions into .pcrsig and its
	// public key goes into .pcrpkey.
	PCRKey crypto.Signer
	// Phases to sign for; nil means measure.DefaultPhases.
	Phases []string
}

// Result is a built UKI.
type Result struct {
	// Image is the unsigned UKI.
	Image []byte
	// Profile is the measuring rule of the stub found in the image.
	Profile measure.Profile
	// PCR11 is the value systemd-stub leaves in PCR 11.
	PCR11 measure.Digest
	// Predictions are PCR 11 for each signed boot phase.
	Predictions []measure.Prediction
	// Layout is where the appended sections went.
	Layout pe.Layout
}

// ErrNoKernel is returned when Config.Kernel is empty.
var ErrNoKernel = errors.New("uki: no kernel")

// Build assembles a UKI from cfg.
func Build(cfg Config) (*Result, error) {
	if len(cfg.Kernel) == 0 {
		return nil, ErrNoKernel
	}
	if len(cfg.Kernel) < 2 || cfg.Kernel[0] != 'M' || cfg.Kernel[1] != 'Z' {
		return nil, errors.New("uki: kernel is not an EFI-stub image (no MZ header); build it with CONFIG_EFI_STUB")
	}
	if err := checkOSRelease(cfg.OSRelease); err != nil {
		return nil, err
	}
	stub, err := pe.Parse(cfg.Stub)
	if err != nil {
		return nil, fmt.Errorf("uki: stub: %w", err)
	}
	magic, ok := stub.Section(".sdmagic")
	if !ok {
		return nil, errors.New("uki: stub has no .sdmagic section; is it systemd-stub (linuxx64.efi.stub)?")
	}
	if _, ok := stub.Section(".linux"); ok {
		return nil, errors.New("uki: stub already has a .linux section (pass the bare stub, not a UKI)")
	}
	profile := measure.ProfileForStub(string(stub.SectionData(magic)))

	sections := map[string][]byte{
		".linux":  cfg.Kernel,
		".initrd": concatInitrds(cfg.Initrds),
		".osrel":  cfg.OSRelease,
		".splash": cfg.Splash,
		".dtb":    cfg.DTB,
	}
	if cfg.Cmdline != "" {
		sections[".cmdline"] = []byte(strings.TrimRight(cfg.Cmdline, "\n"))
	}
	if cfg.Uname != "" {
		sections[".uname"] = []byte(strings.TrimSpace(cfg.Uname))
	}
	var drop []string
	if cfg.SBAT != "" {
		sections[".sbat"] = mergeSBAT(stub, cfg.SBAT)
		drop = append(drop, ".sbat")
	}
	res := &Result{Profile: profile}
	if cfg.PCRKey != nil {
		pub, err := secureboot.PublicKeyPEM(cfg.PCRKey.Public())
		if err != nil {
			return nil, fmt.Errorf("uki: %w", err)
		}
		sections[".pcrpkey"] = pub
	}
	// The stub measures contents, not layout, so predict first; .pcrsig
	// is not measured and can be added afterwards.
	res.PCR11 = measure.PredictSections(profile, withStubSections(stub, profile, sections))
	phases := cfg.Phases
	if phases == nil {
		phases = measure.DefaultPhases
	}
	res.Predictions = measure.PredictPhases(res.PCR11, phases)
	if cfg.PCRKey != nil {
		sig, err := measure.Sign(res.Predictions, cfg.PCRKey)
		if err != nil {
			return nil, fmt.Errorf("uki: %w", err)
		}
		sections[".pcrsig"] = sig
	}

	// Small sections first, the kernel last.
	var add []pe.NewSection
	for _, name := range []string{".osrel", ".cmdline", ".uname", ".sbat", ".dtb", ".splash", ".pcrpkey", ".pcrsig", ".initrd", ".linux"} {
		if data := sections[name]; len(data) > 0 {
			add = append(add, pe.NewSection{Name: name, Data: data})
		}
	}
	img, lay, err := stub.AppendSections(add, drop...)
	if err != nil {
		return nil, fmt.Errorf("uki: %w", err)
	}
	res.Image, res.Layout = img, lay
	return res, nil
}

// withStubSections returns sections plus the measured sections that the
// stub itself carries and the UKI keeps (systemd-stub 253+ measures
// .sbat, and without Config.SBAT the stub's own .sbat stays): the stub
// measures every section of the image it runs from, its own included.
func withStubSections(stub *pe.File, profile measure.Profile, sections map[string][]byte) map[string][]byte {
	all := make(map[string][]byte, len(sections))
	for name, data := range sections {
		all[name] = data
	}
	for _, s := range stub.Sections {
		if profile.Measured(s.Name) && len(all[s.Name]) == 0 {
			all[s.Name] = stub.SectionData(s)
		}
	}
	return all
}

// concatInitrds joins initrds, padding each but the last to 4 bytes.
func concatInitrds(rds [][]byte) []byte {
	if len(rds) == 1 {
		return rds[0]
	}
	var buf bytes.Buffer
	for i, rd := range rds {
		buf.Write(rd)
		if i < len(rds)-1 {
			buf.Write(make([]byte, (4-len(rd)%4)%4))
		}
	}
	return buf.Bytes()
}

// mergeSBAT appends extra SBAT CSV lines to the stub's own (minus its NUL
// padding), skipping lines already present.
func mergeSBAT(stub *pe.File, extra string) []byte {
	var lines []string
	seen := map[string]bool{}
	add := func(text string) {
		for _, l := range strings.Split(text, "\n") {
			l = strings.TrimSpace(strings.TrimRight(l, "\x00"))
			if l == "" || seen[l] {
				continue
			}
			seen[l] = true
			lines = append(lines, l)
		}
	}
	if s, ok := stub.Section(".sbat"); ok {
		add(string(stub.SectionData(s)))
	}
	add(extra)
	return []byte(strings.Join(lines, "\n") + "\n")
}
