package sbom

import (
	"bytes"
	"fmt"
	"path"
	"strings"
	"time"

	cdx "github.com/CycloneDX/cyclonedx-go"
	"github.com/google/uuid"
)

// Property names of Hadron's own CycloneDX properties.
const (
	cdxPropBuildDep  = "hadron:build-dependency"
	cdxPropToolchain = "hadron:toolchain"
	cdxPropHost      = "hadron:host-recipe"
	cdxPropPatch     = "hadron:patch"
	cdxPropVCS       = "hadron:recipe-tree"
	cdxPropPlatform  = "hadron:platform"
)

// CycloneDX encodes d as a CycloneDX 1.6 JSON BOM. Runtime dependencies
// are its dependency graph; CycloneDX has no build edges, so build
// dependencies and the toolchain are properties, and packages the
// artifact does not hold have scope "excluded".
func (d *Document) CycloneDX() ([]byte, error) {
	var b bytes.Buffer
	b.Grow(64 << 10)
	if err := cdx.NewBOMEncoder(&b, cdx.BOMFileFormatJSON).SetEscapeHTML(false).EncodeVersion(d.cdxBOM(), cdx.SpecVersion1_6); err != nil {
		return nil, fmt.Errorf("encode CycloneDX BOM: %w", err)
	}
	// The serial number is derived from the content, as the SPDX
	// namespace is: a name-based (SHA-1, version 5) UUID of the compact
	// BOM without it, put in right after the spec version.
	serial := "urn:uuid:" + uuid.NewSHA1(uuid.NameSpaceURL, b.Bytes()).String()
	compact, err := insertOnce(b.Bytes(), `"specVersion":"1.6",`, `"specVersion":"1.6","serialNumber":"`+serial+`",`)
	if err != nil {
		return nil, fmt.Errorf("encode CycloneDX BOM: %w", err)
	}
	return indent(compact)
}

func (d *Document) cdxBOM() *cdx.BOM {
	bom := cdx.NewBOM()
	props := []cdx.Property{{Name: cdxPropPlatform, Value: d.Platform}}
	if d.VCS.Revision != "" {
		props = append(props, cdx.Property{Name: cdxPropVCS, Value: orUnknown(d.VCS.Source) + "@" + d.VCS.Revision})
	}
	bom.Metadata = &cdx.Metadata{
		Timestamp:  d.Created.Format(time.RFC3339),
		Tools:      &cdx.ToolsChoice{Components: &[]cdx.Component{{Type: cdx.ComponentTypeApplication, Name: Tool}}},
		Properties: &props,
	}
	var comps []cdx.Component
	var deps []cdx.Dependency
	a := d.Artifact
	if a.Kind != KindPackage {
		typ := cdx.ComponentTypeContainer
		if a.Kind == KindBoot {
			typ = cdx.ComponentTypeOS
		}
		ref := "hadron:" + string(a.Kind) + ":" + a.Name
		bom.Metadata.Component = &cdx.Component{BOMRef: ref, Type: typ, Name: a.Name, Description: a.Comment}
		held := make([]string, 0, len(a.Contains))
		for _, n := range a.Contains {
			held = append(held, d.Package(n).PURL())
		}
		deps = append(deps, cdx.Dependency{Ref: ref, Dependencies: &held})
	}
	for _, p := range d.Packages {
		c := d.cdxComponent(p)
		if a.Kind == KindPackage && p.Name == a.Package {
			bom.Metadata.Component = &c
		} else {
			comps = append(comps, c)
		}
		dep := cdx.Dependency{Ref: p.PURL()}
		if len(p.Runtime) > 0 {
			on := make([]string, 0, len(p.Runtime))
			for _, r := range p.Runtime {
				on = append(on, d.Package(r).PURL())
			}
			dep.Dependencies = &on
		}
		deps = append(deps, dep)
	}
	bom.Components = &comps
	bom.Dependencies = &deps
	return bom
}

// cdxComponent describes recipe p.
func (d *Document) cdxComponent(p *Package) cdx.Component {
	c := cdx.Component{
		BOMRef:      p.PURL(),
		Type:        cdx.ComponentTypeLibrary,
		Name:        p.Name,
		Version:     p.Version,
		Description: p.Description,
		PackageURL:  p.PURL(),
		Scope:       cdx.ScopeRequired,
	}
	if !p.Installed {
		c.Scope = cdx.ScopeExcluded
	}
	if p.License != "" {
		c.Licenses = &cdx.Licenses{{Expression: p.License}}
	}
	var refs []cdx.ExternalReference
	if p.Homepage != "" {
		refs = append(refs, cdx.ExternalReference{Type: cdx.ERTypeWebsite, URL: p.Homepage})
	}
	var props []cdx.Property
	var patches []cdx.Patch
	var notes []string
	for _, s := range p.Sources {
		if s.Commit != "" {
			refs = append(refs, cdx.ExternalReference{Type: cdx.ERTypeVCS, URL: s.URL, Comment: "git commit " + s.Commit})
			continue
		}
		ref := cdx.ExternalReference{Type: cdx.ERTypeSourceDistribution, URL: s.URL, Hashes: cdxHashes(s.SHA256, s.SHA512)}
		sub := s.Substitute
		if sub == nil {
			refs = append(refs, ref)
			continue
		}
		ref.Comment = fmt.Sprintf("pinned upstream source, not fetched in this build: declared substitute %s stood in", sub.Name)
		refs = append(refs, ref)
		for _, f := range sub.Files {
			refs = append(refs, cdx.ExternalReference{
				Type:    cdx.ERTypeSourceDistribution,
				URL:     f.URL,
				Hashes:  cdxHashes(f.SHA256, f.SHA512),
				Comment: fmt.Sprintf("file of declared substitute %s (%s) for %s; origin: %s", sub.Name, sub.Declared, sub.Upstream, sub.Origin),
			})
		}
		for _, pt := range sub.Patches {
			patches = append(patches, cdx.Patch{Type: cdx.PatchTypeUnofficial, Diff: &cdx.Diff{URL: pt.Name}})
			props = append(props, cdx.Property{Name: cdxPropPatch, Value: pt.Name + " sha256:" + pt.SHA256})
		}
		notes = append(notes, fmt.Sprintf("%s is substituted by %s (%s): %s", path.Base(sub.Upstream), sub.Name, sub.Origin, sub.Differs))
	}
	for _, pt := range p.Patches {
		patches = append(patches, cdx.Patch{Type: cdx.PatchTypeUnofficial, Diff: &cdx.Diff{URL: pt.Name}})
		props = append(props, cdx.Property{Name: cdxPropPatch, Value: pt.Name + " sha256:" + pt.SHA256})
	}
	if len(refs) > 0 {
		c.ExternalReferences = &refs
	}
	if len(patches) > 0 || len(notes) > 0 {
		c.Pedigree = &cdx.Pedigree{Notes: strings.Join(notes, "\n")}
		if len(patches) > 0 {
			c.Pedigree.Patches = &patches
		}
	}
	if p.Host {
		props = append(props, cdx.Property{Name: cdxPropHost, Value: "true"})
	}
	for _, b := range p.Build {
		props = append(props, cdx.Property{Name: cdxPropBuildDep, Value: d.Package(b).PURL()})
	}
	for _, t := range p.Toolchain {
		props = append(props, cdx.Property{Name: cdxPropToolchain, Value: d.Package(t).PURL()})
	}
	if len(props) > 0 {
		c.Properties = &props
	}
	return c
}

func cdxHashes(sha256, sha512 string) *[]cdx.Hash {
	var out []cdx.Hash
	if sha256 != "" {
		out = append(out, cdx.Hash{Algorithm: cdx.HashAlgoSHA256, Value: sha256})
	}
	if sha512 != "" {
		out = append(out, cdx.Hash{Algorithm: cdx.HashAlgoSHA512, Value: sha512})
	}
	if len(out) == 0 {
		return nil
	}
	return &out
}
