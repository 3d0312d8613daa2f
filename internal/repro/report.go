// Package repro compares what two builds of the same target produced —
// OCI image layouts (index, manifests, configs, layer by layer), exported
// file trees, single files — and reports every difference down to the
// files that differ, with their sizes and sha256 digests, and diffoscope's
// account of them when diffoscope is installed. `hadron repro-check` builds a
// target twice and compares the two outputs with it.
package repro

import (
	"fmt"
	"io"
	"strings"
)

// Kind says what an Item compares.
type Kind string

// The kinds of compared artifact.
const (
	// KindIndex is an OCI layout's index.json.
	KindIndex Kind = "index"
	// KindManifest is an image manifest.
	KindManifest Kind = "manifest"
	// KindConfig is an image config.
	KindConfig Kind = "config"
	// KindLayer is a layer blob.
	KindLayer Kind = "layer"
	// KindFile is a file of an exported tree, or a file compared alone.
	KindFile Kind = "file"
)

// Item is one compared artifact and what differs in it.
type Item struct {
	// Kind is what is compared; Name says which one, as a report shows
	// it ("linux/amd64 layer 2/3 (package xz 5.6.3)", "EFI/BOOT/BOOTX64.EFI").
	Kind Kind
	Name string
	// Equal is true when both sides are identical.
	Equal bool
	// A and B are the two sides' digests ("" where the side is missing).
	A, B string
	// Details are further lines: the config fields that differ, what a
	// layer holds, notes on a signed binary.
	Details []string
	// Files are the files that differ inside a layer or for a file item.
	Files []FileDiff
	// Diffoscope is diffoscope's report on the two sides, when it ran.
	Diffoscope string
}

// Report is the comparison of two builds' outputs.
type Report struct {
	// Items are the compared artifacts, in the order compared.
	Items []Item
}

// Reproducible reports whether every item is identical (and there is at
// least one).
func (r *Report) Reproducible() bool {
	return len(r.Items) > 0 && len(r.Differing()) == 0
}

// Differing returns the items that differ.
func (r *Report) Differing() []Item {
	var out []Item
	for _, it := range r.Items {
		if !it.Equal {
			out = append(out, it)
		}
	}
	return out
}

// Write writes the report as text: each differing item with its details,
// differing files and diffoscope's output; with all, the identical items
// too (one line each); then one summary line.
func (r *Report) Write(w io.Writer, all bool) error {
	var b strings.Builder
	for _, it := range r.Items {
		if it.Equal {
			if all {
				fmt.Fprintf(&b, "identical  %s %s  %s\n", it.Kind, it.Name, it.A)
			}
			continue
		}
		fmt.Fprintf(&b, "DIFFERS    %s %s\n", it.Kind, it.Name)
		fmt.Fprintf(&b, "    a: %s\n    b: %s\n", orAbsent(it.A), orAbsent(it.B))
		for _, d := range it.Details {
			fmt.Fprintf(&b, "    %s\n", d)
		}
		for _, f := range it.Files {
			for _, l := range f.Lines() {
				fmt.Fprintf(&b, "    %s\n", l)
			}
		}
		if it.Diffoscope != "" {
			b.WriteString("    diffoscope:\n")
			for _, l := range strings.Split(strings.TrimRight(it.Diffoscope, "\n"), "\n") {
				fmt.Fprintf(&b, "        %s\n", l)
			}
		}
	}
	if n := len(r.Differing()); n > 0 {
		fmt.Fprintf(&b, "NOT REPRODUCIBLE: %d of %d compared artifacts differ\n", n, len(r.Items))
	} else {
		fmt.Fprintf(&b, "reproducible: all %d compared artifacts are identical\n", len(r.Items))
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func orAbsent(s string) string {
	if s == "" {
		return "(absent)"
	}
	return s
}
