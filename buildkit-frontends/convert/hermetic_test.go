package convert_test

import (
	"strings"
	"testing"

	"github.com/hadron-linux/hadron/internal/recipe"
	"github.com/moby/buildkit/solver/pb"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// layerClamp is the last line of every step that produces a layer.
const layerClamp = `find /out -exec touch -h -d "@$SOURCE_DATE_EPOCH" {} +`

// TestEveryStepIsHermetic walks every exec op of the marshalled
// definitions of a recipe graph (the mini image), a kernel build and a
// boot target: each runs without network, on a read-only root with a tmpfs
// /tmp, with the fixed PATH, locale, time zone and SOURCE_DATE_EPOCH, and
// each that produces a layer in /out clamps its timestamps.
func TestEveryStepIsHermetic(t *testing.T) {
	for _, tc := range []struct {
		target string
	}{
		{target: "mini"},
		{target: "linux@qemu-amd64"},
		{target: "tboot/boot"},
	} {
		t.Run(tc.target, func(t *testing.T) {
			o := opts()
			fsys := repoFS(t)
			switch {
			case strings.HasPrefix(tc.target, "linux@"):
				o = kernelOpts(recipe.ArchAMD64)
			case strings.HasSuffix(tc.target, "/boot"):
				fsys = bootFS(t)
			}
			vs := marshal(t, fsys, tc.target, o)
			execs := 0
			for _, v := range vs {
				op, ok := v.op.Op.(*pb.Op_Exec)
				if !ok {
					continue
				}
				execs++
				e := op.Exec
				assert.Equal(t, pb.NetMode_NONE, e.Network, "%s: network", v.name)
				env := map[string]string{}
				for _, kv := range e.Meta.Env {
					k, val, _ := strings.Cut(kv, "=")
					_, dup := env[k]
					assert.False(t, dup, "%s: %s set twice", v.name, k)
					env[k] = val
				}
				assert.Equal(t, "1700000000", env["SOURCE_DATE_EPOCH"], "%s: SOURCE_DATE_EPOCH", v.name)
				assert.Equal(t, "C", env["LC_ALL"], "%s: LC_ALL", v.name)
				assert.Equal(t, "UTC", env["TZ"], "%s: TZ", v.name)
				assert.Contains(t, env["PATH"], "/usr/bin:/sbin:/bin", "%s: PATH", v.name)
				var root, tmp, out *pb.Mount
				for _, m := range e.Mounts {
					switch m.Dest {
					case "/":
						root = m
					case "/tmp":
						tmp = m
					case "/out":
						out = m
					}
				}
				require.NotNil(t, root, v.name)
				assert.True(t, root.Readonly, "%s: read-only root", v.name)
				if assert.NotNil(t, tmp, "%s: /tmp", v.name) {
					assert.Equal(t, pb.MountType_TMPFS, tmp.MountType, "%s: /tmp is a tmpfs", v.name)
				}
				if out == nil || out.Output == int64(pb.SkipOutput) {
					continue
				}
				script := e.Meta.Args[len(e.Meta.Args)-1]
				if strings.HasPrefix(v.name, "substitute ") {
					// A substitute's /out is a source tree: only the
					// files its patches touched get the epoch.
					assert.Contains(t, script, `find /out -newer /work/unpacked -exec touch -h -d "@$SOURCE_DATE_EPOCH" {} +`, v.name)
					continue
				}
				assert.True(t, strings.HasSuffix(strings.TrimSpace(script), layerClamp), "%s: /out is clamped last", v.name)
			}
			assert.Greater(t, execs, 2)
		})
	}
}
