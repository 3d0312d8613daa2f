package measure

import (
	"crypto/sha256"
	"strings"
)

// DefaultPhases are the boot phases systemd-measure signs by default:
// inside the initrd, after switching root, after sysinit.target and
// once the system is up. Each is a colon-separated list of the words
// systemd-pcrphase measures on the way.
var DefaultPhases = []string{
	"enter-initrd",
	"enter-initrd:leave-initrd",
	"enter-initrd:leave-initrd:sysinit",
	"enter-initrd:leave-initrd:sysinit:ready",
}

// Prediction is the expected PCR 11 value in one boot phase.
type Prediction struct {
	// Phase is the colon-separated phase path; "" is the value the stub
	// leaves (before systemd-pcrphase runs).
	Phase string
	// PCR is the value PCR 11 holds in that phase.
	PCR Digest
}

// PhaseEvents lists the measurements systemd-pcrphase makes for a phase
// path: the SHA-256 of each word (no terminator), in order.
func PhaseEvents(phase string) []Event {
	var ev []Event
	for _, w := range strings.Split(phase, ":") {
		if w == "" {
			continue
		}
		ev = append(ev, Event{Description: "phase " + w, Digest: sha256.Sum256([]byte(w))})
	}
	return ev
}

// PredictPhases extends base (the stub's result) with each phase path.
func PredictPhases(base Digest, phases []string) []Prediction {
	out := make([]Prediction, 0, len(phases))
	for _, ph := range phases {
		pcr := base
		for _, e := range PhaseEvents(ph) {
			pcr = Extend(pcr, e.Digest)
		}
		out = append(out, Prediction{Phase: ph, PCR: pcr})
	}
	return out
}
