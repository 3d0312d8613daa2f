package e2e

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hadron-linux/hadron/buildkit-frontends/frontend"
	"github.com/hadron-linux/hadron/tests/gittest"
	intoto "github.com/in-toto/in-toto-golang/in_toto"
	"github.com/moby/buildkit/client"
	provenancetypes "github.com/moby/buildkit/solver/llbsolver/provenance/types"
	"github.com/moby/buildkit/util/attestation"
	ocispecs "github.com/opencontainers/image-spec/specs-go/v1"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/tonistiigi/fsutil"
)

// attestRemote is the origin remote of the attestation tests' tree.
const attestRemote = "https://git.example.invalid/hadron/tiny.git"

// attestImage names the exported image: the exporter makes the in-toto
// statements' subjects from it.
const attestImage = "hadron.example.invalid/tiny:attest"

// attestTree is tinyTree with a pinned source for tiny-a (served by a
// loopback server, so the provenance has an HTTP material) in a git work
// tree with one commit. It returns the tree, the mirror entry for the
// source, the source's sha256 and the commit.
func attestTree(t *testing.T) (dir string, mirrors map[string]string, srcSHA, commit string) {
	t.Helper()
	dir = tinyTree(t)
	// A fresh source each run: the build's steps run, nothing is assumed
	// about an earlier run's cache.
	src := fixture{path: "tiny/tiny-a-1.txt", data: []byte("tiny-a source " + strconv.FormatInt(time.Now().UnixNano(), 10) + "\n")}
	writeFile(t, dir, "recipes/tiny-a/recipe.yaml", `name: tiny-a
version: "1"
license: MIT
homepage: https://tiny.example.invalid/
sources:
  - url: `+fixtureHost+`tiny/tiny-a-${version}.txt
build:
  style: custom
  install: |
    mkdir -p /out/usr/share/tiny
    cp /build/tiny-a-1.txt /out/usr/share/tiny/a
`)
	writeFile(t, dir, "vendor-hashes/tiny-a.lock", src.lock("tiny-a", "1"))
	sum := sha256.Sum256(src.data)
	commit = gittest.Commit(t, dir, attestRemote)
	return dir, serveFixtures(t, src), hex.EncodeToString(sum[:]), commit
}

// statement is an in-toto statement as the exporters write it.
type statement struct {
	Type          string           `json:"_type"`
	PredicateType string           `json:"predicateType"`
	Subject       []intoto.Subject `json:"subject"`
	Predicate     json.RawMessage  `json:"predicate"`
}

// ociAttestations reads the OCI layout at dir: the image manifest's
// digest and the in-toto statements of its attestation manifest.
func ociAttestations(t *testing.T, dir string) (image string, stmts []statement) {
	t.Helper()
	blob := func(d ocispecs.Descriptor, v any) []byte {
		t.Helper()
		b, err := os.ReadFile(filepath.Join(dir, "blobs", d.Digest.Algorithm().String(), d.Digest.Encoded()))
		require.NoError(t, err)
		if v != nil {
			require.NoError(t, json.Unmarshal(b, v))
		}
		return b
	}
	var layout ocispecs.Index
	data, err := os.ReadFile(filepath.Join(dir, "index.json"))
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(data, &layout))
	require.Len(t, layout.Manifests, 1)
	require.Equal(t, ocispecs.MediaTypeImageIndex, layout.Manifests[0].MediaType, "an image with attestations is an index")
	var idx ocispecs.Index
	blob(layout.Manifests[0], &idx)
	var att *ocispecs.Descriptor
	for i, m := range idx.Manifests {
		if m.Annotations[attestation.DockerAnnotationReferenceType] == attestation.DockerAnnotationReferenceTypeDefault {
			att = &idx.Manifests[i]
			continue
		}
		require.Empty(t, image, "one image manifest")
		image = m.Digest.String()
	}
	require.NotNil(t, att, "an attestation manifest")
	assert.Equal(t, image, att.Annotations[attestation.DockerAnnotationReferenceDigest], "it attests the image")
	var m ocispecs.Manifest
	blob(*att, &m)
	for _, l := range m.Layers {
		var s statement
		blob(l, &s)
		assert.Equal(t, l.Annotations["in-toto.io/predicate-type"], s.PredicateType)
		stmts = append(stmts, s)
	}
	return image, stmts
}

// predicate returns the one statement of type typ, checking that it is
// about the image.
func predicate(t *testing.T, stmts []statement, typ, image string) json.RawMessage {
	t.Helper()
	var found []statement
	for _, s := range stmts {
		if s.PredicateType == typ {
			found = append(found, s)
		}
	}
	require.Len(t, found, 1, "one %s attestation", typ)
	require.Len(t, found[0].Subject, 1)
	assert.Contains(t, found[0].Subject[0].Name, "tiny@attest")
	assert.Equal(t, strings.TrimPrefix(image, "sha256:"), found[0].Subject[0].Digest["sha256"], "subject is the image manifest")
	return found[0].Predicate
}

// spdxOf decodes the parts of an SPDX predicate the test reads.
type spdxOf struct {
	CreationInfo struct {
		Comment string `json:"comment"`
	} `json:"creationInfo"`
	Packages []struct {
		Name      string `json:"name"`
		Download  string `json:"downloadLocation"`
		Checksums []struct {
			Algorithm string `json:"algorithm"`
			Value     string `json:"checksumValue"`
		} `json:"checksums"`
	} `json:"packages"`
}

// checkSBOM: the SPDX predicate names the packages, the pinned source and
// the tree's commit.
func checkSBOM(t *testing.T, raw json.RawMessage, srcSHA, commit string) {
	t.Helper()
	var doc spdxOf
	require.NoError(t, json.Unmarshal(raw, &doc))
	names := map[string]bool{}
	var srcDigest string
	for _, p := range doc.Packages {
		names[p.Name] = true
		if p.Download == fixtureHost+"tiny/tiny-a-1.txt" && len(p.Checksums) > 0 && p.Name == "tiny-a-1.txt" {
			srcDigest = p.Checksums[0].Algorithm + ":" + p.Checksums[0].Value
		}
	}
	for _, n := range []string{"tiny", "tiny-a", "tiny-b"} {
		assert.True(t, names[n], "SBOM names %s", n)
	}
	assert.Equal(t, "SHA256:"+srcSHA, srcDigest, "the source with its pin")
	assert.Contains(t, doc.CreationInfo.Comment, "Recipe tree: "+attestRemote+" at "+commit+".")
}

// checkMaterials: the provenance lists the pinned source and the stage-0
// image, each with its digest.
func checkMaterials(t *testing.T, pr *provenancetypes.ProvenancePredicateSLSA1, srcSHA, stage0 string) {
	t.Helper()
	var uris []string
	var src, img bool
	stage0Digest := stage0[strings.LastIndex(stage0, "@sha256:")+len("@sha256:"):]
	for _, m := range pr.BuildDefinition.ResolvedDependencies {
		uris = append(uris, m.URI)
		src = src || (strings.HasSuffix(m.URI, "/tiny/tiny-a-1.txt") && m.Digest["sha256"] == srcSHA)
		img = img || (strings.HasPrefix(m.URI, "pkg:docker/") && strings.Contains(m.URI, "hadron/stage0") && m.Digest["sha256"] == stage0Digest)
	}
	assert.True(t, src, "the pinned source is a material: %v", uris)
	assert.True(t, img, "stage 0 is a material: %v", uris)
	assert.Equal(t, provenancetypes.BuildKitBuildType1, pr.BuildDefinition.BuildType)
	assert.NotNil(t, pr.BuildDefinition.InternalParameters.BuildConfig, "mode=max: the build's steps")
}

// TestAttestations builds the tiny tree's image with --attest type=sbom
// and --attest type=provenance,mode=max to an OCI layout, once through
// the hadron binary (the frontend in-process) and once through the
// frontend image (gateway.v0, as buildctl and buildx run it), and reads
// the attestation manifest back: Hadron's SPDX SBOM (BuildKit's scanner
// image is never pulled: the engine is offline) and BuildKit's SLSA
// provenance with the pinned materials. Through the gateway the
// provenance also names the frontend and the tree's commit (vcs:*, as
// buildx passes them); an in-process frontend's request is recorded by no
// BuildKit release yet, so there the commit is in the SBOM.
func TestAttestations(t *testing.T) {
	e := setup(t)
	dir, fixtures, srcSHA, commit := attestTree(t)
	mirrors := maps.Clone(e.mirrors)
	maps.Copy(mirrors, fixtures)

	t.Run("cli", func(t *testing.T) {
		cfg := "stage0: " + e.stage0 + "\nsource-date-epoch: " + strconv.FormatInt(epoch, 10) + "\nmirrors:\n"
		for k, v := range mirrors {
			cfg += "  \"" + k + "\": \"" + v + "\"\n"
		}
		cfgPath := filepath.Join(t.TempDir(), "hadron.yaml")
		require.NoError(t, os.WriteFile(cfgPath, []byte(cfg), 0o644))
		oci, local := filepath.Join(t.TempDir(), "oci"), t.TempDir()
		bin := filepath.Join(e.tools, "hadron")
		start := time.Now()
		out, err := exec.Command(bin, "--config", cfgPath, "-C", dir, "build", "tiny", "--addr", e.addr, "--progress", "plain",
			"--attest", "type=sbom", "--attest", "type=provenance,mode=max",
			"-o", "type=oci,tar=false,name="+attestImage+",dest="+oci, "-o", "type=local,dest="+local).CombinedOutput()
		require.NoError(t, err, "%s", out)
		t.Logf("tiny with attestations (cli) in %s", time.Since(start).Round(time.Millisecond))
		assert.NotContains(t, string(out), "buildkit-syft-scanner", "no scanner step")

		image, stmts := ociAttestations(t, oci)
		sbom := predicate(t, stmts, intoto.PredicateSPDX, image)
		checkSBOM(t, sbom, srcSHA, commit)
		// The attestation is `hadron sbom`'s document; the image exporter
		// adds BuildKit as a creator of an image's core SBOM.
		want, err := exec.Command(bin, "--config", cfgPath, "-C", dir, "sbom", "tiny").Output()
		require.NoError(t, err)
		var got, printed map[string]any
		require.NoError(t, json.Unmarshal(sbom, &got))
		require.NoError(t, json.Unmarshal(want, &printed))
		creators := got["creationInfo"].(map[string]any)["creators"].([]any)
		require.Len(t, creators, 2)
		assert.Equal(t, "Tool: hadron", creators[0])
		assert.Contains(t, creators[1], "Tool: buildkit-")
		got["creationInfo"].(map[string]any)["creators"] = creators[:1]
		assert.Equal(t, printed, got, "hadron sbom prints the attached SBOM")

		var pr provenancetypes.ProvenancePredicateSLSA1
		require.NoError(t, json.Unmarshal(predicate(t, stmts, "https://slsa.dev/provenance/v1", image), &pr))
		checkMaterials(t, &pr, srcSHA, e.stage0)
		t.Logf("cli provenance: frontend %q, vcs %v (an in-process frontend's request is not recorded by BuildKit)",
			pr.BuildDefinition.ExternalParameters.Request.Frontend, pr.RunDetails.Metadata.BuildKitMetadata.VCS)

		// Next to the local output: the same two statements as files.
		for _, f := range []string{frontend.SBOMFile, "provenance.json"} {
			var s statement
			data, err := os.ReadFile(filepath.Join(local, f))
			require.NoError(t, err, "%s next to the root filesystem", f)
			require.NoError(t, json.Unmarshal(data, &s))
			assert.NotEmpty(t, s.Subject, "%s names the output's files", f)
		}
		_, err = os.Stat(filepath.Join(local, "usr/share/tiny/b"))
		require.NoError(t, err)
	})

	t.Run("gateway", func(t *testing.T) {
		ref, _ := pushFrontendImage(t, e)
		req := e.request(dir, "tiny")
		req.Substitutes = nil
		req.Mirrors = mirrors
		attrs := req.Attrs()
		attrs["source"] = ref
		// What buildctl --opt and buildx --sbom/--provenance send; buildx
		// adds vcs:source and vcs:revision for a git context.
		attrs["attest:sbom"] = ""
		attrs["attest:provenance"] = "mode=max"
		attrs[frontend.OptVCSSource] = attestRemote
		attrs[frontend.OptVCSRevision] = commit
		oci := filepath.Join(t.TempDir(), "oci")
		start := time.Now()
		_, err := e.client.Solve(context.Background(), nil, client.SolveOpt{
			Frontend:      "gateway.v0",
			FrontendAttrs: attrs,
			LocalMounts:   map[string]fsutil.FS{"context": mustFS(t, dir)},
			Exports:       []client.ExportEntry{{Type: client.ExporterOCI, OutputDir: oci, Attrs: map[string]string{"tar": "false", "name": attestImage}}},
		}, nil)
		require.NoError(t, err)
		t.Logf("tiny with attestations (gateway) in %s", time.Since(start).Round(time.Millisecond))

		image, stmts := ociAttestations(t, oci)
		checkSBOM(t, predicate(t, stmts, intoto.PredicateSPDX, image), srcSHA, commit)
		var pr provenancetypes.ProvenancePredicateSLSA1
		require.NoError(t, json.Unmarshal(predicate(t, stmts, "https://slsa.dev/provenance/v1", image), &pr))
		checkMaterials(t, &pr, srcSHA, e.stage0)
		rq := pr.BuildDefinition.ExternalParameters.Request
		assert.Equal(t, "gateway.v0", rq.Frontend, "the provenance names the frontend")
		assert.Equal(t, ref, rq.Args["source"], "and its image")
		assert.Equal(t, "tiny", rq.Args[frontend.OptTarget])
		vcs := pr.RunDetails.Metadata.BuildKitMetadata.VCS
		assert.Equal(t, commit, vcs["revision"], "the tree's commit")
		assert.Equal(t, attestRemote, vcs["source"])
	})
}
