package frontend

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"sync"

	"github.com/hadron-linux/hadron/internal/parallel"
	"github.com/moby/buildkit/client/llb"
	"github.com/moby/buildkit/solver/pb"
	"github.com/moby/buildkit/util/apicaps"
	digest "github.com/opencontainers/go-digest"
	ocispecs "github.com/opencontainers/image-spec/specs-go/v1"
	"google.golang.org/protobuf/encoding/protowire"
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
	// background is closed when the Background worker has finished.
	background chan struct{}
}

// Background starts a worker that marshals, on another core, the states
// given to feed, so that Marshal later finds them in llb's per-vertex
// cache. Call done once no more states come; Marshal waits for the worker
// to finish first, so vertices are never marshalled by the worker and the
// walk at once. The worker only marshals: errors are left to Marshal,
// which meets them again in its fixed order. With one core, feed does
// nothing.
func (m *Marshaler) Background() (feed func(llb.State), done func()) {
	if parallel.Workers() < 2 {
		return func(llb.State) {}, func() {}
	}
	queue := make(chan llb.State, 1024)
	finished := make(chan struct{})
	m.background = finished
	ctx := context.Background()
	go func() {
		defer close(finished)
		for st := range queue {
			if out := st.Output(); out != nil {
				if v := out.Vertex(ctx, m.c); v != nil {
					_, _, _, _, _ = v.Marshal(ctx, m.c)
				}
			}
		}
	}()
	var once sync.Once
	return func(st llb.State) {
			select {
			case queue <- st:
			default: // the worker is behind: Marshal does this one
			}
		}, func() {
			once.Do(func() { close(queue) })
		}
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
	if m.background != nil {
		<-m.background
	}
	m.prewarm(ctx, out.Vertex(ctx, c))
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
			if prev, ok := def.Metadata[dgst]; ok {
				def.Metadata[dgst] = mergeMetadata(prev, llb.NewOpMetadata(md))
			} else {
				// NewOpMetadata makes Caps anew but shares Description
				// with llb's cached op: the entry gets its own, as
				// a later merge writes into it.
				first := llb.NewOpMetadata(md)
				first.Description = maps.Clone(first.Description)
				def.Metadata[dgst] = first
			}
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

// prewarm marshals the vertices under root on every core, so that the
// walk in Marshal finds each one in llb's per-vertex cache. llb marshals a
// vertex under its own lock and marshals its inputs first, taking their
// locks in turn: locks are only ever taken from a vertex towards its
// inputs, so workers meeting on a shared dependency wait, never deadlock,
// and each vertex is marshalled once. Errors are left to the walk, which
// meets them again in a fixed order.
func (m *Marshaler) prewarm(ctx context.Context, root llb.Vertex) {
	if parallel.Workers() < 2 {
		return
	}
	// Vertices by height (leaves 0): one height's vertices never depend
	// on each other, so a height is marshalled in parallel once the
	// heights below it are done.
	height := map[llb.Vertex]int{}
	var levels [][]llb.Vertex
	var visit func(v llb.Vertex) int
	visit = func(v llb.Vertex) int {
		if h, ok := height[v]; ok {
			return h
		}
		h := 0
		for _, in := range v.Inputs() {
			h = max(h, visit(in.Vertex(ctx, m.c))+1)
		}
		height[v] = h
		for len(levels) <= h {
			levels = append(levels, nil)
		}
		levels[h] = append(levels[h], v)
		return h
	}
	visit(root)
	// Validate sets a flag on every vertex below the one validated:
	// done once here, before the workers, they only read it.
	if err := root.Validate(ctx, m.c); err != nil {
		return
	}
	for _, level := range levels {
		parallel.For(len(level), func(i int) {
			_, _, _, _, _ = level[i].Marshal(ctx, m.c)
		})
	}
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
// for equal LLB, across runs and machines. It hashes the same bytes as
// they are made, field by field (ops, then each metadata entry in key
// order, then the source map), instead of building the whole message and
// its one large buffer first: planning a big tree spends its time in
// allocation, and this step was a tenth of `hadron plan`.
func DefinitionDigest(def *llb.Definition) (digest.Digest, error) {
	h := digest.SHA256.Digester()
	w := h.Hash()
	var buf []byte
	for _, op := range def.Def {
		// Field 1 (def), wire type 2 (length-delimited).
		buf = protowire.AppendTag(buf[:0], 1, protowire.BytesType)
		buf = protowire.AppendVarint(buf, uint64(len(op)))
		w.Write(buf)
		w.Write(op)
	}
	keys := slices.Sorted(maps.Keys(def.Metadata))
	det := proto.MarshalOptions{Deterministic: true}
	var val []byte
	for _, k := range keys {
		// One entry of the metadata map (field 2): a message of the key
		// (field 1) and the op's metadata (field 2). The deterministic
		// encoding of a map is its entries in key order.
		md := def.Metadata[k]
		var err error
		val, err = det.MarshalAppend(val[:0], md.ToPB())
		if err != nil {
			return "", fmt.Errorf("marshal LLB metadata of %s: %w", k, err)
		}
		n := protowire.SizeTag(1) + protowire.SizeBytes(len(k)) + protowire.SizeTag(2) + protowire.SizeBytes(len(val))
		buf = protowire.AppendTag(buf[:0], 2, protowire.BytesType)
		buf = protowire.AppendVarint(buf, uint64(n))
		buf = protowire.AppendTag(buf, 1, protowire.BytesType)
		buf = protowire.AppendString(buf, string(k))
		buf = protowire.AppendTag(buf, 2, protowire.BytesType)
		buf = protowire.AppendVarint(buf, uint64(len(val)))
		w.Write(buf)
		w.Write(val)
	}
	if def.Source != nil {
		b, err := det.MarshalAppend(buf[:0], &pb.Definition{Source: def.Source})
		if err != nil {
			return "", fmt.Errorf("marshal LLB source map: %w", err)
		}
		w.Write(b)
	}
	return h.Digest(), nil
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
