package frontend

import (
	"context"
	"testing"

	"github.com/moby/buildkit/client/llb"
	"github.com/moby/buildkit/solver/pb"
	digest "github.com/opencontainers/go-digest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/proto"
)

// TestRerunDownstream: a copy and a merge of a step that ignores the cache
// ignore it too; a step beside it, with nothing re-run upstream, keeps
// its cache.
func TestRerunDownstream(t *testing.T) {
	base := llb.Image("docker.io/library/busybox:latest")
	rerun := base.Run(llb.Args([]string{"sh", "-c", "date >/out/stamp"}), llb.IgnoreCache, llb.WithCustomName("rerun")).AddMount("/out", llb.Scratch())
	cached := base.Run(llb.Args([]string{"sh", "-c", "echo x >/out/x"}), llb.WithCustomName("cached")).AddMount("/out", llb.Scratch())
	copied := llb.Scratch().File(llb.Copy(rerun, "/", "/"), llb.WithCustomName("copy"))
	merged := llb.Merge([]llb.State{copied, cached}, llb.WithCustomName("merge"))

	def, err := merged.Marshal(context.Background())
	require.NoError(t, err)
	require.NoError(t, RerunDownstream(def))

	ignores := map[string]bool{}
	for _, dt := range def.Def[:len(def.Def)-1] {
		var op pb.Op
		require.NoError(t, proto.Unmarshal(dt, &op))
		md := def.Metadata[digest.FromBytes(dt)]
		if name := md.Description["llb.customname"]; name != "" {
			ignores[name] = md.IgnoreCache
		}
	}
	assert.Equal(t, map[string]bool{"rerun": true, "copy": true, "merge": true, "cached": false}, ignores)
	term := def.Metadata[digest.FromBytes(def.Def[len(def.Def)-1])]
	assert.True(t, term.Caps[pb.CapMetaIgnoreCache], "the definition declares the capability it uses")
}
