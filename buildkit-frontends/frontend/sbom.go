package frontend

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/containerd/platforms"
	"github.com/hadron-linux/hadron/buildkit-frontends/target"
	"github.com/hadron-linux/hadron/internal/graph"
	"github.com/hadron-linux/hadron/internal/imagedef"
	"github.com/hadron-linux/hadron/internal/project"
	"github.com/hadron-linux/hadron/internal/sbom"
	"github.com/hadron-linux/hadron/internal/substitute"
	"github.com/hadron-linux/hadron/toolchain"
	intoto "github.com/in-toto/in-toto-golang/in_toto"
	"github.com/moby/buildkit/client/llb"
	gwclient "github.com/moby/buildkit/frontend/gateway/client"
	gatewaypb "github.com/moby/buildkit/frontend/gateway/pb"
	"github.com/moby/buildkit/solver/result"
	ocispecs "github.com/opencontainers/image-spec/specs-go/v1"
)

// SBOMFile is the SBOM attestation's file name: the local exporter writes
// it next to the output under this name, as it does BuildKit's own
// scanner's.
const SBOMFile = "sbom.spdx.json"

// SBOM describes target t of tree as a build with opts makes it for
// platform pl: the recipes of its resolved graph, the substitutes opts
// selects, opts' epoch and VCS. It is a walk of the recipe graph, no
// BuildKit; `hadron sbom` prints it and builds asking for attest:sbom
// attach it. A kernel configuration target holds no software and has none.
func SBOM(tree *project.Tree, opts Options, t target.Target, pl ocispecs.Platform) (*sbom.Document, error) {
	arch, err := toolchain.ArchForPlatform(pl)
	if err != nil {
		return nil, fmt.Errorf("sbom of %s: platform %s: %w", t, platforms.Format(pl), err)
	}
	g, err := graph.Resolve(tree, arch, t.Roots(tree.Images))
	if err != nil {
		return nil, fmt.Errorf("sbom of %s: %w", t, err)
	}
	subs, err := substitute.Select(tree.Substitutes, opts.Substitutes)
	if err != nil {
		return nil, fmt.Errorf("sbom of %s: %w", t, err)
	}
	a := sbom.Artifact{Name: t.String()}
	img, isImage := tree.Images[t.Name]
	switch {
	case t.Kind == target.KernelConfig:
		return nil, fmt.Errorf("sbom of %s: a kernel configuration holds no packages; ask for the SBOM of %s%s%s", t, t.Name, target.BoardSep, t.Board)
	case t.Kind == target.Kernel:
		a.Kind, a.Package = sbom.KindPackage, t.Name
		a.Comment = "Kernel built for board " + t.Board + "."
	case (t.Kind == target.Boot || t.Kind == target.Disk || t.Kind == target.UKI) && isImage:
		// The target's roots: the image's packages, its kernel, the
		// package with systemd-boot and systemd-stub, the initrd
		// image's packages, GRUB, and dracut (whose dracut-util goes
		// into the initramfs).
		a.Kind = sbom.KindBoot
		a.Contains = g.RuntimeClosure(t.Roots(tree.Images)...)
		a.Comment = "Boot artifacts (" + img.Boot + ")"
		if img.Kernel != "" {
			a.Comment += " with kernel " + img.Kernel
		}
		if img.Initrd != "" {
			a.Comment += " and initrd image " + img.Initrd
		}
		if img.Initramfs != "" {
			a.Comment += " and a " + img.Initramfs + " initramfs made from the image's root"
		}
		a.Comment += "."
		if t.Kind == target.Disk {
			a.Comment += " Whole disk: " + diskContent[img.Boot] + "."
		}
	case isImage && img.IsSysext() && (t.Kind == target.Sysext || t.Kind == target.Image || t.Kind == target.Named):
		// What the extension holds: its packages' runtime closure less
		// what its base image already holds (as the conversion does).
		base, ok := tree.Images[img.Extends]
		if !ok {
			return nil, fmt.Errorf("sbom of %s: image %s extends %q, which is not an image of this tree (%s)", t, img.Name, img.Extends, img.File)
		}
		a.Kind = sbom.KindImage
		a.Contains = graph.Recipes(g.ExtensionOutputs(img.Packages, base.Packages))
		a.Comment = "System extension of image " + base.Name + ": the packages it adds to its base."
	case isImage && (t.Kind == target.Image || t.Kind == target.Named):
		a.Kind = sbom.KindImage
		a.Contains = g.RuntimeClosure(img.Packages...)
	default:
		a.Kind, a.Package = sbom.KindPackage, t.Name
	}
	doc, err := sbom.New(sbom.Input{
		Tree:        tree,
		Graph:       g,
		Artifact:    a,
		Platform:    platforms.Format(platforms.Normalize(pl)),
		Substitutes: subs,
		Epoch:       opts.SourceDateEpoch,
		VCS:         opts.VCS,
	})
	if err != nil {
		return nil, fmt.Errorf("sbom of %s: %w", t, err)
	}
	return doc, nil
}

// SBOM describes the plan's first target for platform pl (see SBOM).
func (p *Plan) SBOM(pl ocispecs.Platform) (*sbom.Document, error) {
	if p.tree == nil || len(p.Targets) == 0 {
		return nil, fmt.Errorf("sbom: the plan has no tree or target")
	}
	return SBOM(p.tree, p.Options, p.Targets[0], pl)
}

// sbomAttestation is the SPDX SBOM of the plan's target for pl as an
// in-toto attestation of the result, the way BuildKit's scanner attaches
// one: its predicate type tells BuildKit's SBOM processor that the result
// has an SBOM already, so no scanner runs; the exporters wrap it in an
// in-toto statement (an attestation manifest of an image, a file next to
// a local output).
func (p *Plan) sbomAttestation(ctx context.Context, c gwclient.Client, pl ocispecs.Platform) (gwclient.Attestation, error) {
	caps := c.BuildOpts().Caps
	if err := caps.Supports(gatewaypb.CapAttestations); err != nil {
		return gwclient.Attestation{}, fmt.Errorf("attest:sbom: this BuildKit takes no attestations from frontends: %w", err)
	}
	doc, err := p.SBOM(pl)
	if err != nil {
		return gwclient.Attestation{}, err
	}
	data, err := doc.SPDX()
	if err != nil {
		return gwclient.Attestation{}, err
	}
	created := llb.WithCreatedTime(time.Unix(p.Options.SourceDateEpoch, 0).UTC())
	st := llb.Scratch().File(llb.Mkfile("/"+SBOMFile, 0o644, data, created),
		llb.WithCustomNamef("%s: sbom (%s)", p.Targets[0], platforms.Format(pl)))
	ref, err := solveRef(ctx, c, st, "write the SBOM")
	if err != nil {
		return gwclient.Attestation{}, err
	}
	return gwclient.Attestation{
		Kind: gatewaypb.AttestationKind_InToto,
		Metadata: map[string][]byte{
			result.AttestationReasonKey: []byte(result.AttestationReasonSBOM),
			result.AttestationSBOMCore:  []byte(strings.TrimSuffix(SBOMFile, ".spdx.json")),
		},
		Ref:    ref,
		Path:   SBOMFile,
		InToto: result.InTotoAttestation{PredicateType: intoto.PredicateSPDX},
	}, nil
}

// diskContent says what the disk of an image with each boot variant
// holds, for the SBOM's comment.
var diskContent = map[string]string{
	imagedef.BootTrusted: "ESP and the root filesystem on dm-verity",
	imagedef.BootGRUB:    "GRUB (EFI and BIOS on amd64), ESP and the root filesystem in A/B slots",
	imagedef.BootRPi:     "Raspberry Pi boot partition and the root filesystem",
}
