package frontend

import (
	"context"
	"fmt"
	"maps"

	"github.com/moby/buildkit/client/llb"
	"github.com/moby/buildkit/solver/pb"
	"github.com/moby/buildkit/util/apicaps"
	digest "github.com/opencontainers/go-digest"
	ocispecs "github.com/opencontainers/image-spec/specs-go/v1"
	"google.golang.org/protobuf/proto"
)

// PlanLocalID is the unique id a planned definition gives its local
// sources (the tree's recipe files, the tools). State.Marshal draws a
// random one per call, which would make every digest of a target with
// local files differ from run to run; BuildKit uses it only to tell
// transfers of the same local apart, never as content.
const PlanLocalID = "hadron-plan"

// Marshaler marshals many states for one platform with one set of
// constraints. llb caches each vertex's marshalled op per constraints, so
// vertices shared by several targets (a recipe and everything it depends
// on) are marshalled once; State.Marshal makes new constraints, and so
// marshals every vertex again, on each call. Its definitions are those
// State.Marshal makes with llb.Platform(p), but with PlanLocalID for local
// sources.
type Marshaler struct {
	c *llb.Constraints
}

// NewMarshaler returns a Marshaler for platform p.
func NewMarshaler(p ocispecs.Platform) *Marshaler {
	return &Marshaler{c: llb.NewConstraints(llb.Platform(p), llb.LocalUniqueID(PlanLocalID))}
}

// MarshalOptions are the options that make State.Marshal give the same
// definition as a Marshaler for p.
func MarshalOptions(p ocispecs.Platform) []llb.ConstraintsOpt {
	return []llb.ConstraintsOpt{llb.Platform(p), llb.LocalUniqueID(PlanLocalID)}
}

// Marshal marshals st as State.Marshal does (see Marshaler).
func (m *Marshaler) Marshal(ctx context.Context, st llb.State) (*llb.Definition, error) {
	c := m.c
	def := &llb.Definition{Metadata: map[digest.Digest]llb.OpMetadata{}, Constraints: c}
	out := st.Output()
	if out == nil || out.Vertex(ctx, c) == nil {
		return def, nil
	}
	// As llb's source map collector: an entry per vertex, empty without
	// source maps.
	src := &pb.Source{Locations: map[string]*pb.Locations{}}
	seenOps := map[digest.Digest]bool{}
	seen := map[llb.Vertex]bool{}
	var walk func(v llb.Vertex) error
	walk = func(v llb.Vertex) error {
		if seen[v] {
			return nil
		}
		for _, in := range v.Inputs() {
			if err := walk(in.Vertex(ctx, c)); err != nil {
				return err
			}
		}
		dgst, dt, md, locs, err := v.Marshal(ctx, c)
		if err != nil {
			return err
		}
		if len(locs) > 0 {
			return fmt.Errorf("vertex %s has source locations, which plans do not record", dgst)
		}
		seen[v] = true
		src.Locations[dgst.String()] = &pb.Locations{}
		if md != nil {
			def.Metadata[dgst] = mergeMetadata(def.Metadata[dgst], llb.NewOpMetadata(md))
		}
		if !seenOps[dgst] {
			seenOps[dgst] = true
			def.Def = append(def.Def, dt)
		}
		return nil
	}
	if err := walk(out.Vertex(ctx, c)); err != nil {
		return nil, err
	}
	// The terminal entry names the output, with the caps the definition uses.
	in, err := out.ToInput(ctx, c)
	if err != nil {
		return nil, err
	}
	dt, err := (&pb.Op{Inputs: []*pb.Input{in}}).MarshalVT()
	if err != nil {
		return nil, err
	}
	def.Def = append(def.Def, dt)
	dgst := digest.FromBytes(dt)
	md := def.Metadata[dgst]
	md.Caps = map[apicaps.CapID]bool{pb.CapConstraints: true, pb.CapPlatform: true}
	for _, m := range def.Metadata {
		if m.IgnoreCache {
			md.Caps[pb.CapMetaIgnoreCache] = true
		}
		if m.Description != nil {
			md.Caps[pb.CapMetaDescription] = true
		}
		if m.ExportCache != nil {
			md.Caps[pb.CapMetaExportCache] = true
		}
	}
	def.Metadata[dgst] = md
	def.Source = src
	return def, nil
}

// mergeMetadata adds b to a: what llb does when one op is reached twice.
func mergeMetadata(a, b llb.OpMetadata) llb.OpMetadata {
	if b.IgnoreCache {
		a.IgnoreCache = true
	}
	if len(b.Description) > 0 {
		if a.Description == nil {
			a.Description = map[string]string{}
		}
		maps.Copy(a.Description, b.Description)
	}
	if b.ExportCache != nil {
		a.ExportCache = b.ExportCache
	}
	for k := range b.Caps {
		if a.Caps == nil {
			a.Caps = make(map[apicaps.CapID]bool, len(b.Caps))
		}
		a.Caps[k] = true
	}
	if b.ProgressGroup != nil {
		a.ProgressGroup = b.ProgressGroup
	}
	if b.LinuxResources != nil {
		a.LinuxResources = b.LinuxResources
	}
	return a
}

// MarshalDefinition returns def as the protobuf bytes of its pb.Definition,
// what `buildctl debug dump-llb` reads on stdin. Map entries (the
// vertices' metadata) are written in sorted order, so the same LLB always
// gives the same bytes; BuildKit's own Marshal writes them in map order.
func MarshalDefinition(def *llb.Definition) ([]byte, error) {
	b, err := proto.MarshalOptions{Deterministic: true}.Marshal(def.ToPB())
	if err != nil {
		return nil, fmt.Errorf("marshal LLB definition: %w", err)
	}
	return b, nil
}

// DefinitionDigest is the sha256 digest of MarshalDefinition(def): equal
// for equal LLB, across runs and machines.
func DefinitionDigest(def *llb.Definition) (digest.Digest, error) {
	b, err := MarshalDefinition(def)
	if err != nil {
		return "", err
	}
	return digest.FromBytes(b), nil
}

// VertexCount is the number of LLB operations in def (sources, execs, file
// ops, merges...), not counting the terminal entry that only names the
// definition's output.
func VertexCount(def *llb.Definition) int {
	if len(def.Def) == 0 {
		return 0
	}
	return len(def.Def) - 1
}

// RerunDownstream marks every vertex of def that depends, directly or
// not, on a vertex that ignores the cache as ignoring it too. BuildKit
// keys a vertex by its inputs' definitions, not by their results, so a
// merge or copy of a re-run step's result would otherwise come from the
// cache, stale: a --no-cache rebuild kept the old package layer, and a
// re-signed boot loader would keep the old ESP. def's ops come inputs
// first, as llb marshals them.
func RerunDownstream(def *llb.Definition) error {
	if def == nil || len(def.Def) == 0 {
		return nil
	}
	// Most plans re-run nothing: no op needs reading then.
	none := true
	for _, md := range def.Metadata {
		if md.IgnoreCache {
			none = false
			break
		}
	}
	if none {
		return nil
	}
	rerun := map[digest.Digest]bool{}
	marked := false
	for _, dt := range def.Def[:len(def.Def)-1] {
		var op pb.Op
		if err := proto.Unmarshal(dt, &op); err != nil {
			return fmt.Errorf("read LLB op: %w", err)
		}
		d := digest.FromBytes(dt)
		md, ok := def.Metadata[d]
		upstream := false
		for _, in := range op.Inputs {
			upstream = upstream || rerun[digest.Digest(in.Digest)]
		}
		if upstream && !md.IgnoreCache {
			md.IgnoreCache = true
			ok = true
		}
		if ok {
			def.Metadata[d] = md
		}
		rerun[d] = md.IgnoreCache
		marked = marked || md.IgnoreCache
	}
	if marked {
		term := digest.FromBytes(def.Def[len(def.Def)-1])
		md := def.Metadata[term]
		if md.Caps == nil {
			md.Caps = map[apicaps.CapID]bool{}
		}
		md.Caps[pb.CapMetaIgnoreCache] = true
		def.Metadata[term] = md
	}
	return nil
}
