package convert

import (
	"fmt"
	"strings"
	"time"

	"github.com/hadron-linux/hadron/internal/recipe"
	"github.com/moby/buildkit/client/llb"
)

// StepOutput names the step that cuts one output out of a package's
// install layer: "<recipe>: output" for the main output, "<recipe>:
// output dev" for the dev output.
const StepOutput = "output"

// Output returns the layer of one output of a recipe (see
// recipe.SplitOutputs): a file step on the recipe's install layer (see
// Package) that copies the files the output holds, one layer per output.
//
//   - The main output copies the install layer without the patterns of
//     every other output (ExcludePatterns): what no output claims. Copies
//     keep owners, modes and times, so it is the install layer, clamped
//     to SOURCE_DATE_EPOCH, less some files. What the package installs
//     in /usr/sbin lands in /usr/bin (the sbin merge: in an image
//     /usr/sbin is a link to bin, see usrMergeLinks), then the result is
//     restamped like the other outputs'.
//   - Another output copies the files its patterns match
//     (IncludePatterns) and then copies that result once more with every
//     time set to SOURCE_DATE_EPOCH (see restamp): an include copy makes
//     the folders above a match (usr, usr/lib) with the time of the build.
//     The files' own times are SOURCE_DATE_EPOCH already (the install
//     step clamps them).
//
// Outputs that match nothing are empty layers. A host recipe has only its
// main output: its install layer, mounted whole at /toolchain.
func (c *Converter) Output(ref recipe.Ref) (llb.State, error) {
	key := ref.String()
	if st, ok := c.outputs[key]; ok {
		return st, nil
	}
	r, ok := c.tree.Recipes[ref.Recipe]
	if !ok {
		return llb.State{}, fmt.Errorf("no recipe or image named %q", ref.Recipe)
	}
	if !r.HasOutput(ref.Output) {
		return llb.State{}, fmt.Errorf("recipe %s has no output %q (outputs: %s)", r.Name, ref.Output, strings.Join(r.OutputNames(), ", "))
	}
	pkg, err := c.Package(r.Name)
	if err != nil {
		return llb.State{}, err
	}
	outs := r.SplitOutputs()
	if len(outs) == 0 {
		return pkg, nil // a host recipe
	}
	var st llb.State
	if ref.Main() {
		others := []string{sbinDir}
		for _, o := range outs {
			others = append(others, o.Paths...)
		}
		// What no other output claims, with /usr/sbin's entries in
		// /usr/bin (sbin merge); restamped, as the second copy changes
		// the time of /usr/bin.
		moved := llb.Copy(pkg, "/", "/", &llb.CopyInfo{CopyDirContentsOnly: true, ExcludePatterns: others}).
			Copy(pkg, sbinEntries, "/usr/bin/", &llb.CopyInfo{AllowWildcard: true, AllowEmptyWildcard: true, CreateDestPath: true})
		st = llb.Scratch().File(restamp(moved, c.opts.SourceDateEpoch),
			llb.WithCustomNamef("%s: %s", r.Name, StepOutput))
	} else {
		var paths []string
		for _, o := range outs {
			if o.Name == ref.Output {
				paths = o.Paths
			}
		}
		selected := llb.Copy(pkg, "/", "/", &llb.CopyInfo{CopyDirContentsOnly: true, IncludePatterns: paths})
		st = llb.Scratch().File(restamp(selected, c.opts.SourceDateEpoch),
			llb.WithCustomNamef("%s: %s %s", r.Name, StepOutput, ref.Output))
	}
	c.outputs[key] = st
	return st, nil
}

// restamp returns a copy of what the actions fa make (on scratch) with
// every time set to epoch, to end the same file step with. A file step
// that adds entries to a folder after making it (a Mkdir then a Mkfile
// inside, or a copy with include patterns, which makes the folders above
// a match when it meets the match) leaves that folder with the time of
// the build; the copy puts it back, keeping modes and owners.
func restamp(fa *llb.FileAction, epoch int64) *llb.FileAction {
	t := time.Unix(epoch, 0).UTC()
	return llb.Copy(fa.WithState(llb.Scratch()), "/", "/", &llb.CopyInfo{CopyDirContentsOnly: true, CreatedTime: &t})
}

// outputLayers returns the layers of refs, in order.
func (c *Converter) outputLayers(refs []recipe.Ref) ([]llb.State, error) {
	layers := make([]llb.State, 0, len(refs))
	for _, ref := range refs {
		st, err := c.Output(ref)
		if err != nil {
			return nil, err
		}
		layers = append(layers, st)
	}
	return layers, nil
}

// sbinDir is the folder a main output moves into /usr/bin (the sbin
// merge): packages may install there, images have one bin folder.
const sbinDir = "usr/sbin"

// sbinEntries is the wildcard source that copies sbinDir's entries. Its
// first part is a wildcard too ([u]sr): BuildKit resolves a wildcard
// below the longest literal prefix and fails when that prefix does not
// exist, and most packages have no usr/sbin (many no usr); from "/"
// nothing matching is an empty copy (AllowEmptyWildcard).
const sbinEntries = "/[u]sr/sbin/*"

// usrMergeLinks are the links an image's finalize step makes: Hadron
// images are usr-merged (/bin, /sbin and /lib point into /usr) and
// sbin-merged (/usr/sbin is /usr/bin, as on Fedora and Arch): one folder
// of programs, so that PATH order cannot pick a busybox applet in sbin
// over the full tool in bin, the kernel's /sbin/init is systemd, and
// systemd's service PATH (no sbin with split-bin=false) finds every tool.
var usrMergeLinks = []struct{ dir, target string }{
	{"bin", "usr/bin"},
	{"sbin", "usr/bin"},
	{"lib", "usr/lib"},
	{"usr/sbin", "bin"},
}

// usrMergeDirs are the top-level folders a package must not install
// into: the usrMergeLinks, which would hide them in an image, and lib64,
// which no Hadron arch uses.
var usrMergeDirs = []string{"bin", "sbin", "lib", "lib64"}

// usrMergeCheck is the end of recipe name's install script (before the
// clamp): it fails the step, naming the recipe and the folder, when the
// package installs into one of usrMergeDirs.
func usrMergeCheck(name string) string {
	return "for d in " + strings.Join(usrMergeDirs, " ") + "; do\n" +
		"  if [ -e \"" + outDir + "/$d\" ] || [ -L \"" + outDir + "/$d\" ]; then\n" +
		"    echo " + shellQuote(name+": installs into /") + "\"$d\"" +
		shellQuote(": Hadron images are usr-merged (/bin, /sbin and /lib are links into /usr); install under /usr instead") + " >&2\n" +
		"    exit 1\n" +
		"  fi\n" +
		"done\n"
}

// stripELF is the end of recipe name's install script (before the clamp)
// in trees with a cross toolchain: executables and shared libraries in
// /out that are ELF files lose their debug information and unneeded
// symbols ($STRIP --strip-unneeded), so no image carries them. Relocatable
// objects, static archives and kernel modules are left alone (neither
// executable nor *.so). A recipe opts out with env HADRON_STRIP=0; a file
// strip cannot handle is named and left as it is.
func stripELF(name string) string {
	return "if [ -n \"${STRIP:-}\" ] && [ \"${HADRON_STRIP:-1}\" != 0 ]; then\n" +
		"  elf=$(printf '\\177ELF')\n" +
		"  find " + outDir + " -type f \\( -perm -0100 -o -name '*.so' -o -name '*.so.*' \\) | LC_ALL=C sort | while IFS= read -r f; do\n" +
		"    [ \"$(head -c 4 \"$f\")\" = \"$elf\" ] || continue\n" +
		"    \"$STRIP\" --strip-unneeded \"$f\" || echo " + shellQuote(name+": not stripped: ") + "\"$f\" >&2\n" +
		"  done\n" +
		"fi\n"
}
