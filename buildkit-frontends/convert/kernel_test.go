package convert_test

import (
	"strings"
	"testing"

	"github.com/hadron-linux/hadron/buildkit-frontends/convert"
	"github.com/hadron-linux/hadron/internal/golden"
	"github.com/hadron-linux/hadron/internal/project"
	"github.com/hadron-linux/hadron/internal/recipe"
	"github.com/moby/buildkit/solver/pb"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func kernelOpts(arch recipe.Arch) convert.Options {
	o := opts()
	o.Arch = arch
	o.Substitutes = []string{"linux-7.2.8-debian"}
	return o
}

// TestKernelGolden pins the LLB of Hadron's kernel for the qemu-amd64
// board, built offline through the declared Debian substitute.
func TestKernelGolden(t *testing.T) {
	golden.Assert(t, "kernel-qemu-amd64.golden", []byte(goldenText(marshal(t, repoFS(t), "linux@qemu-amd64", kernelOpts(recipe.ArchAMD64)))))
}

// TestKernelConfigTarget: the config output stops before any compile and
// carries the files the frontend's check reads.
func TestKernelConfigTarget(t *testing.T) {
	vs := marshal(t, repoFS(t), "linux@qemu-amd64/config", kernelOpts(recipe.ArchAMD64))
	n := names(vs)
	assert.Contains(t, n, "linux@qemu-amd64: configure")
	assert.Contains(t, n, "linux@qemu-amd64: config")
	assert.NotContains(t, n, "linux@qemu-amd64: compile")
	assert.NotContains(t, n, "linux@qemu-amd64: install")
}

// TestKernelBoardsConvert converts every board for its arch: every board
// is compiled by Hadron's cross toolchain on the amd64 stage 0, and arm64
// boards ship their DTBs.
func TestKernelBoardsConvert(t *testing.T) {
	for _, tc := range []struct {
		board string
		arch  recipe.Arch
		want  string // in the build or install phase
	}{
		{"qemu-amd64", recipe.ArchAMD64, "kmake -j\"$JOBS\" bzImage"},
		{"amd64-generic", recipe.ArchAMD64, "kmake -j\"$JOBS\" bzImage"},
		{"qemu-arm64", recipe.ArchARM64, "kmake -j\"$JOBS\" Image"},
		{"arm64-generic", recipe.ArchARM64, "kmake -j\"$JOBS\" Image"},
		{"rpi4", recipe.ArchARM64, "boot/dtbs/broadcom/bcm2711-rpi-4-b.dtb"},
		{"rpi5", recipe.ArchARM64, "boot/dtbs/broadcom/bcm2712-rpi-5-b.dtb"},
	} {
		t.Run(tc.board, func(t *testing.T) {
			vs := marshal(t, repoFS(t), "linux@"+tc.board, kernelOpts(tc.arch))
			var scripts []string
			for _, v := range vs {
				if e, ok := v.op.Op.(*pb.Op_Exec); ok {
					scripts = append(scripts, strings.Join(e.Exec.Meta.Args, " "))
					if strings.HasPrefix(v.name, "linux@") {
						triplet := map[recipe.Arch]string{recipe.ArchAMD64: "x86_64", recipe.ArchARM64: "aarch64"}[tc.arch] + "-hadron-linux-musl"
						assert.Contains(t, e.Exec.Meta.Env, "CROSS_COMPILE="+triplet+"-", v.name)
						assert.Contains(t, e.Exec.Meta.Env, "HOSTCC=gcc", v.name)
					}
				}
			}
			assert.Contains(t, strings.Join(scripts, "\n"), tc.want)
		})
	}
}

// TestRaspberryPiBoardsShareOneCompile: rpi4 and rpi5 list the same
// fragments, so the configure and compile steps are the same vertices (one
// kernel compile builds both boards); the install step, which builds and
// ships each board's DTB, is the board's own.
func TestRaspberryPiBoardsShareOneCompile(t *testing.T) {
	rpi4 := names(marshal(t, repoFS(t), "linux@rpi4", kernelOpts(recipe.ArchARM64)))
	rpi5 := names(marshal(t, repoFS(t), "linux@rpi5", kernelOpts(recipe.ArchARM64)))
	for _, phase := range []string{"configure", "compile"} {
		d4, d5 := rpi4["linux@rpi4: "+phase], rpi5["linux@rpi5: "+phase]
		require.NotEmpty(t, d4, phase)
		assert.Equal(t, d4, d5, "the %s step differs between rpi4 and rpi5", phase)
	}
	assert.NotEqual(t, rpi4["linux@rpi4: install"], rpi5["linux@rpi5: install"])
}

// TestKernelTargetErrors: a board for the other arch, an unknown board and
// a recipe that is not the kernel are clear errors.
func TestKernelTargetErrors(t *testing.T) {
	tree, err := project.Load(repoFS(t))
	require.NoError(t, err)
	for _, tc := range []struct {
		target string
		arch   recipe.Arch
		want   string
	}{
		{"linux@qemu-arm64", recipe.ArchAMD64, "board qemu-arm64 is for arm64, not amd64"},
		{"linux@qemu-amd65", recipe.ArchAMD64, "no board \"qemu-amd65\" in kernel/boards; did you mean `qemu-amd64`? (boards: amd64-generic, arm64-generic, qemu-amd64, qemu-arm64, rpi4, rpi5)"},
		{"xz@qemu-amd64", recipe.ArchAMD64, "recipe xz (recipes/xz/recipe.yaml) is not the kernel recipe (kernel/recipe.yaml)"},
		{"linux@qemu-amd64/boot", recipe.ArchAMD64, `kernel linux@qemu-amd64 has no output "boot" (only "config")`},
	} {
		t.Run(tc.target, func(t *testing.T) {
			c, err := convert.New(tree, kernelOpts(tc.arch), roots(t, tree, tc.target)...)
			require.NoError(t, err)
			_, err = c.Target(tc.target)
			require.ErrorContains(t, err, tc.want)
		})
	}
}
