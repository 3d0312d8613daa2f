package convert_test

import (
	"strings"
	"testing"

	"github.com/moby/buildkit/solver/pb"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hadron-linux/hadron/buildkit-frontends/convert"
	"github.com/hadron-linux/hadron/buildkit-frontends/target"
	"github.com/hadron-linux/hadron/internal/imagedef"
	"github.com/hadron-linux/hadron/internal/project"
	"github.com/hadron-linux/hadron/internal/recipe"
)

// TestSysextSteps converts the real tree's debug-tools/sysext: libcap
// only (musl is in base), the extension-release file with base's ID and
// VERSION_ID, one hermetic, uncached `hadron sysext build` step holding
// the verity key as secrets, and none of base's packages built.
func TestSysextSteps(t *testing.T) {
	o := opts()
	o.VersionID = "0.1"
	for _, arch := range []recipe.Arch{recipe.ArchAMD64, recipe.ArchARM64} {
		t.Run(string(arch), func(t *testing.T) {
			o.Arch = arch
			tree, err := project.Load(repoFS(t))
			require.NoError(t, err)
			tg, err := target.Lookup(tree, "debug-tools/sysext")
			require.NoError(t, err)
			c, err := convert.New(tree, o, tg.Roots(tree.Images)...)
			require.NoError(t, err)
			refs, err := c.SysextRefs(tree.Images["debug-tools"])
			require.NoError(t, err)
			assert.Equal(t, []recipe.Ref{{Recipe: "libcap"}}, refs)
			st, err := c.State(tg)
			require.NoError(t, err)
			invs := c.ToolInvocations()
			require.NotEmpty(t, invs)
			last := invs[len(invs)-1]
			assert.Equal(t, "sysext build", last.String())
			assert.Contains(t, strings.Join(last.Argv(), " "), "--name debug-tools --arch "+string(arch))
			assert.Contains(t, strings.Join(last.Argv(), " "), "--fs erofs", "the file system is named, never picked by what stage 0 has")

			vs := marshalState(t, st)
			n := names(vs)
			for _, want := range []string{"debug-tools: sysext", "debug-tools: extension-release", "debug-tools: /usr", "libcap: install"} {
				assert.Contains(t, n, want)
			}
			for _, not := range []string{"systemd: install", "util-linux: install", "busybox: install", "base: finalize"} {
				assert.NotContains(t, n, not, "a system extension holds none of its base's packages")
			}
			archName := map[recipe.Arch]string{recipe.ArchAMD64: "x86-64", recipe.ArchARM64: "arm64"}[arch]
			for _, v := range vs {
				switch op := v.op.Op.(type) {
				case *pb.Op_Exec:
					if v.name != "debug-tools: sysext" {
						continue
					}
					assert.Equal(t, pb.NetMode_NONE, op.Exec.Network)
					assert.True(t, v.ignoreCache, "a signing step is never cached")
					var secrets []string
					for _, m := range op.Exec.Mounts {
						if m.MountType == pb.MountType_SECRET {
							secrets = append(secrets, m.SecretOpt.ID)
							assert.False(t, m.SecretOpt.Optional)
						}
					}
					assert.ElementsMatch(t, convert.SysextSecrets, secrets)
					assert.Contains(t, strings.Join(op.Exec.Meta.Args, " "), "sysext build --name debug-tools")
				case *pb.Op_File:
					for _, a := range op.File.Actions {
						if mk := a.GetMkfile(); mk != nil && v.name == "debug-tools: extension-release" {
							assert.Equal(t, "/usr/lib/extension-release.d/extension-release.debug-tools", mk.Path)
							assert.Equal(t, "ID=hadron\nVERSION_ID=0.1\nARCHITECTURE="+archName+"\n", string(mk.Data))
						}
					}
				}
			}
		})
	}
}

// TestSysextErrors: a sysext target of a root filesystem image, and an
// extension whose packages are all in its base.
func TestSysextErrors(t *testing.T) {
	fsys := repoFS(t)
	tree, err := project.Load(fsys)
	require.NoError(t, err)
	c, err := convert.New(tree, opts(), "busybox", "systemd", "util-linux")
	require.NoError(t, err)
	_, err = c.Sysext(tree.Images["base"])
	require.ErrorContains(t, err, "image base: target base/sysext needs kind: sysext in images/base.yaml")

	dbg := *tree.Images["debug-tools"]
	dbg.Packages = []string{"busybox"}
	_, err = c.Sysext(&dbg)
	require.ErrorContains(t, err, "image debug-tools: every package is already in its base image base")
	assert.Equal(t, []string{"db.key", "db.crt", "pcr.key"}, convert.SecretsFor(target.Target{Kind: target.Boot}, nil))
	assert.Equal(t, []string{"verity.key", "verity.crt"}, convert.SecretsFor(target.Target{Kind: target.Sysext}, nil))
	assert.Nil(t, convert.SecretsFor(target.Target{Kind: target.Image}, nil))
	pi := map[string]*imagedef.Image{"pi": {Name: "pi", Boot: imagedef.BootRPi}}
	assert.Nil(t, convert.SecretsFor(target.Target{Kind: target.Disk, Name: "pi"}, pi), "a Pi disk signs nothing")
}
