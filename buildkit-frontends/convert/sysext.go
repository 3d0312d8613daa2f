package convert

import (
	"fmt"
	"strings"
	"time"

	"github.com/hadron-linux/hadron/bootchain/ddi"
	"github.com/hadron-linux/hadron/bootchain/toolcmd"
	"github.com/hadron-linux/hadron/buildkit-frontends/target"
	"github.com/hadron-linux/hadron/internal/graph"
	"github.com/hadron-linux/hadron/internal/imagedef"
	"github.com/hadron-linux/hadron/internal/recipe"
	"github.com/moby/buildkit/client/llb"
)

// The BuildKit secret ids of the key that signs system extensions' verity
// root hashes (see SecretDBKey for how secrets are handled). Its
// certificate is what a booted system trusts in /etc/verity.d (or the
// kernel's keyring).
const (
	SecretVerityKey  = "verity.key" // private key (PEM, unencrypted)
	SecretVerityCert = "verity.crt" // its certificate
)

// SysextSecrets are the secret ids a "<image>/sysext" target needs.
var SysextSecrets = []string{SecretVerityKey, SecretVerityCert}

// SecretsFor lists the secret ids target t needs, in the order errors
// name them; nil when it signs nothing (see target.NeedsSecrets: images
// holds the tree's images).
func SecretsFor(t target.Target, images map[string]*imagedef.Image) []string {
	switch {
	case !t.NeedsSecrets(images):
		return nil
	case t.Kind == target.Sysext:
		return SysextSecrets
	}
	return BootSecrets
}

// osReleaseID is os-release's ID= of every Hadron image.
const osReleaseID = "hadron"

// SysextRefs are the package outputs system extension img holds: the
// runtime closure of its packages (main outputs) minus every output its
// base image already holds, in build order. An extension never carries a
// file of the base: systemd-sysext would lay it over the base's own.
func (c *Converter) SysextRefs(img *imagedef.Image) ([]recipe.Ref, error) {
	base, ok := c.tree.Images[img.Extends]
	if !img.IsSysext() || !ok {
		return nil, fmt.Errorf("image %s: not a system extension of an image of this tree (%s)", img.Name, img.File)
	}
	refs := c.graph.ExtensionOutputs(img.Packages, base.Packages)
	if len(refs) == 0 {
		return nil, fmt.Errorf("image %s: every package is already in its base image %s: the extension would be empty", img.Name, base.Name)
	}
	return refs, nil
}

// ExtensionRelease is the extension-release file of system extension
// img: its base's ID and VERSION_ID (the tree's release, as the base's
// os-release has it; left out when not set) and the architecture,
// which systemd-sysext compares with the running system's before it
// merges the extension.
func ExtensionRelease(img *imagedef.Image, arch recipe.Arch, versionID string) string {
	lines := []string{"ID=" + osReleaseID}
	if versionID != "" {
		lines = append(lines, "VERSION_ID="+versionID)
	}
	if t, ok := ddi.Types[arch]; ok {
		lines = append(lines, "ARCHITECTURE="+t.Arch)
	}
	return strings.Join(append(lines, ""), "\n")
}

// sysextTree is the /usr tree of system extension img: the layers of
// SysextRefs and the extension-release file, merged, /usr only. It runs
// after every gate of those packages has passed.
func (c *Converter) sysextTree(img *imagedef.Image) (llb.State, error) {
	refs, err := c.SysextRefs(img)
	if err != nil {
		return llb.State{}, err
	}
	layers, err := c.outputLayers(refs)
	if err != nil {
		return llb.State{}, fmt.Errorf("image %s: %w", img.Name, err)
	}
	gates, err := c.gatesOf(graph.Recipes(refs))
	if err != nil {
		return llb.State{}, fmt.Errorf("image %s: %w", img.Name, err)
	}
	created := llb.WithCreatedTime(time.Unix(c.opts.SourceDateEpoch, 0).UTC())
	fa := llb.Mkdir("/"+ddi.ReleaseDir, 0o755, llb.WithParents(true), created).
		Mkfile("/"+ddi.ReleaseFile(img.Name), 0o644, []byte(ExtensionRelease(img, c.target.Arch, c.opts.VersionID)), created)
	release := llb.Scratch().File(restamp(requireGates(fa, gates), c.opts.SourceDateEpoch), llb.WithCustomNamef("%s: extension-release", img.Name))
	merged := llb.Merge(append(layers, release), llb.WithCustomNamef("%s: assemble extension", img.Name))
	epoch := time.Unix(c.opts.SourceDateEpoch, 0).UTC()
	return llb.Scratch().File(llb.Copy(merged, "/usr", "/usr", &llb.CopyInfo{CreateDestPath: true, CreatedTime: &epoch}),
		llb.WithCustomNamef("%s: /usr", img.Name)), nil
}

// Sysext returns the signed system extension image of img: one file,
// <image>.raw, a GPT disk image with the extension's /usr as erofs, its
// dm-verity hash tree and the root hash signed with the verity key (see
// bootchain/ddi). The file system is named, not left to what the step
// finds: stage 0 carries mkfs.erofs for the trusted root disk anyway, and
// one without it fails the step instead of silently giving squashfs, a
// different image from the same tree. The step runs
// hadron's `sysext build` on stage 0 with network disabled and the key as
// a BuildKit secret; like every signing step it is never cached.
func (c *Converter) Sysext(img *imagedef.Image) (llb.State, error) {
	if !img.IsSysext() {
		return llb.State{}, fmt.Errorf("image %s: target %s/%s needs kind: %s in %s",
			img.Name, img.Name, target.SysextOutput, imagedef.KindSysext, img.File)
	}
	tree, err := c.sysextTree(img)
	if err != nil {
		return llb.State{}, err
	}
	run := c.toolRun(img.Name+": sysext", "",
		toolcmd.SysextBuild{
			Name: img.Name, Arch: string(c.target.Arch), FS: string(ddi.EROFS),
			Key: secretPath(SecretVerityKey), Cert: secretPath(SecretVerityCert),
			Dir: "/tree", Out: "/out/" + img.Name + ".raw",
		},
		llb.IgnoreCache,
		llb.AddMount("/tree", tree, llb.Readonly),
		secretMount(SecretVerityKey), secretMount(SecretVerityCert))
	return outMount(run), nil
}
