package frontend

import (
	"fmt"

	"github.com/moby/buildkit/client/llb"
	digest "github.com/opencontainers/go-digest"
	"google.golang.org/protobuf/proto"
)

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
