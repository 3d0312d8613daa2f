package convert_test

import (
	"strings"
	"testing"
	"testing/fstest"

	"github.com/hadron-linux/hadron/buildkit-frontends/convert"
	"github.com/hadron-linux/hadron/internal/golden"
	"github.com/hadron-linux/hadron/internal/project"
	"github.com/hadron-linux/hadron/internal/project/projecttest"
	"github.com/hadron-linux/hadron/internal/recipe"
	"github.com/moby/buildkit/client/llb"
	"github.com/moby/buildkit/solver/pb"
	digest "github.com/opencontainers/go-digest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// bootFS is the real tree plus a kernel recipe and a trusted image "tboot"
// holding mini's packages.
func bootFS(t testing.TB) fstest.MapFS {
	t.Helper()
	fsys := repoFS(t)
	projecttest.Add(fsys, projecttest.Spec{Name: "linux-test", Style: recipe.StyleCustom})
	fsys["images/tboot.yaml"] = &fstest.MapFile{Data: []byte("name: tboot\npackages: [busybox, xz]\n" +
		"boot: trusted\nkernel: linux-test\ncmdline: \"console=ttyS0 rdinit=/init it's\"\n")}
	return fsys
}

// bootVertices are the vertices only the boot target adds.
func bootVertices(vs []vertex) []vertex {
	var out []vertex
	for _, v := range vs {
		switch v.name {
		case "tboot: initrd", "tboot: uki", "tboot: sign", "tboot: esp", "hadron tools":
			out = append(out, v)
		}
	}
	return out
}

// TestBootGolden pins the boot steps: names, mounts (secrets as secret
// mounts), network and scripts. Regenerate with -update.
func TestBootGolden(t *testing.T) {
	vs := marshal(t, bootFS(t), "tboot/boot", opts())
	golden.Assert(t, "boot.golden", []byte(goldenText(bootVertices(vs))))
}

// TestBootSteps checks the properties of the boot steps one by one.
func TestBootSteps(t *testing.T) {
	vs := marshal(t, bootFS(t), "tboot/boot", opts())
	n := names(vs)
	for _, want := range []string{"tboot: initrd", "tboot: uki", "tboot: sign", "tboot: esp", "tboot: assemble image", "linux-test: install"} {
		assert.Contains(t, n, want)
	}
	wantSecrets := map[string][]string{
		"tboot: initrd": nil,
		"tboot: uki":    {"db.key", "db.crt", "pcr.key"},
		"tboot: sign":   {"db.key", "db.crt"},
	}
	for _, v := range vs {
		switch op := v.op.Op.(type) {
		case *pb.Op_Exec:
			assert.Equal(t, pb.NetMode_NONE, op.Exec.Network, "%s runs without network", v.name)
			want, isBoot := wantSecrets[v.name]
			var got []string
			for _, m := range op.Exec.Mounts {
				if strings.HasPrefix(m.Dest, convert.SecretsDir) {
					assert.Equal(t, pb.MountType_SECRET, m.MountType, "%s: %s is a secret mount", v.name, m.Dest)
					assert.Equal(t, int64(pb.Empty), m.Input, "%s: a secret mount has no layer input", v.name)
					require.NotNil(t, m.SecretOpt)
					assert.Equal(t, convert.SecretsDir+"/"+m.SecretOpt.ID, m.Dest)
					assert.Equal(t, uint32(0o400), m.SecretOpt.Mode)
					assert.False(t, m.SecretOpt.Optional, "a missing key must fail the step")
					got = append(got, m.SecretOpt.ID)
				}
				if m.Dest == convert.ToolsDir {
					assert.True(t, m.Readonly, "%s: tools mounted read-only", v.name)
				}
			}
			if isBoot {
				assert.ElementsMatch(t, want, got, v.name)
				// A step holding a secret must never be served from the
				// cache: the secret is not part of its key.
				assert.Equal(t, len(want) > 0, v.ignoreCache, "%s: cache only without secrets", v.name)
				assert.True(t, op.Exec.Mounts[0].Readonly, "%s: read-only root", v.name)
			} else {
				assert.Empty(t, got, "%s sees no secret", v.name)
			}
		case *pb.Op_File:
			for _, a := range op.File.Actions {
				if mk := a.GetMkfile(); mk != nil {
					assert.NotContains(t, mk.Path, "secrets", "%s writes no key file", v.name)
					assert.NotContains(t, string(mk.Data), "PRIVATE KEY", v.name)
				}
				if cp := a.GetCopy(); cp != nil {
					assert.NotContains(t, cp.Src, "secrets", "%s copies no key file", v.name)
				}
			}
			if v.name == "tboot: esp" {
				var paths []string
				for _, a := range op.File.Actions {
					switch {
					case a.GetMkfile() != nil:
						paths = append(paths, a.GetMkfile().Path)
						assert.Equal(t, "timeout 0\ndefault tboot.efi\neditor no\n", string(a.GetMkfile().Data))
					case a.GetCopy() != nil:
						paths = append(paths, a.GetCopy().Dest)
					}
				}
				// "/": restamp's copy of the whole tree, times at the epoch.
				assert.ElementsMatch(t, []string{"/loader/loader.conf", "/EFI/BOOT/BOOTX64.EFI", "/EFI/Linux/tboot.efi", "/"}, paths)
			}
		case *pb.Op_Source:
			if strings.HasPrefix(op.Source.Identifier, "local://") && v.name == "hadron tools" {
				assert.Equal(t, "local://"+convert.DefaultToolsContext, op.Source.Identifier)
				assert.Contains(t, op.Source.Attrs[pb.AttrIncludePatterns], `"hadron"`)
			}
		}
	}
	// The image's own layers are shared with the plain image target.
	plain := names(marshal(t, bootFS(t), "tboot", opts()))
	assert.Equal(t, plain["tboot: assemble image"], n["tboot: assemble image"])
}

// TestBootToolsContext: the tools local follows Options.ToolsContext.
func TestBootToolsContext(t *testing.T) {
	o := opts()
	o.ToolsContext = "my-tools"
	for _, v := range marshal(t, bootFS(t), "tboot/boot", o) {
		if src, ok := v.op.Op.(*pb.Op_Source); ok && v.name == "hadron tools" {
			assert.Equal(t, "local://my-tools", src.Source.Identifier)
			return
		}
	}
	t.Fatal("no hadron tools source")
}

// TestBootToolsImage: with the frontend image given (the gateway path),
// every tool step mounts its /hadron-tools, pinned by digest, and no step
// needs a tools local from the client.
func TestBootToolsImage(t *testing.T) {
	frontend := "registry.invalid/hadron/frontend@sha256:" + strings.Repeat("b", 64)
	o := opts()
	img := llb.Image(frontend)
	o.ToolsImage = &img
	vs := marshal(t, bootFS(t), "tboot/boot", o)
	byDigest := map[digest.Digest]vertex{}
	for _, v := range vs {
		byDigest[v.digest] = v
		if src, ok := v.op.Op.(*pb.Op_Source); ok {
			assert.NotContains(t, src.Source.Identifier, "local://"+convert.DefaultToolsContext, "no tools local")
		}
	}
	tools := 0
	for _, v := range vs {
		e, ok := v.op.Op.(*pb.Op_Exec)
		if !ok {
			continue
		}
		for _, m := range e.Exec.Mounts {
			if m.Dest != convert.ToolsDir {
				continue
			}
			tools++
			assert.True(t, m.Readonly, v.name)
			assert.Equal(t, convert.ToolsDir, m.Selector, "%s: only the image's %s", v.name, convert.ToolsDir)
			src := byDigest[digest.Digest(v.op.Inputs[m.Input].Digest)]
			if s, ok := src.op.Op.(*pb.Op_Source); assert.True(t, ok, v.name) {
				assert.Equal(t, "docker-image://"+frontend, s.Source.Identifier, v.name)
			}
		}
	}
	assert.Equal(t, 7, tools, "initrd, uki, sign and the gates of musl, busybox, xz and systemd (systemd:efi) run the image's hadron")
}

// TestBootTargetErrors: bad boot targets fail at conversion time.
func TestBootTargetErrors(t *testing.T) {
	tests := []struct {
		name   string
		target string
		arch   recipe.Arch
		want   string
	}{
		{"image without boot", "mini/boot", recipe.ArchAMD64, "targets mini/boot and mini/uki need boot: trusted in images/mini.yaml"},
		{"unknown output", "tboot/esp", recipe.ArchAMD64, `image tboot has no output "esp" (only "boot", "disk", "uki" or "sysext")`},
		{"disk without initrd", "tboot/disk", recipe.ArchAMD64, "target tboot/disk needs boot: trusted and initrd:, boot: grub or boot: rpi, in images/tboot.yaml"},
		{"unknown image", "nope/boot", recipe.ArchAMD64, `no image named "nope"`},
		{"image not for arm64", "base-trusted/boot", recipe.ArchARM64, "image base-trusted is not built for arm64"},
		{"kernel board of another arch", "tboard/boot", recipe.ArchARM64, "board qemu-amd64 is for amd64, not arm64"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fsys := bootFS(t)
			fsys["images/tboard.yaml"] = &fstest.MapFile{Data: []byte("name: tboard\npackages: [busybox]\n" +
				"boot: trusted\nkernel: linux@qemu-amd64\ncmdline: console=ttyAMA0\n")}
			tree, err := project.Load(fsys)
			require.NoError(t, err)
			o := opts()
			o.Arch = tt.arch
			c, err := convert.New(tree, o, roots(t, tree, "tboot/boot")...)
			require.NoError(t, err)
			_, err = c.Target(tt.target)
			assert.ErrorContains(t, err, tt.want)
		})
	}
}

// TestBootArm64 converts a trusted image for arm64: the ESP holds
// systemd-boot as the arm64 removable-media loader (BOOTAA64.EFI), and the
// UKI and sign steps take the aa64 stub and loader from the EFI package.
func TestBootArm64(t *testing.T) {
	o := opts()
	o.Arch = recipe.ArchARM64
	vs := marshal(t, bootFS(t), "tboot/boot", o)
	var esp []string
	scripts := map[string]string{}
	for _, v := range vs {
		switch op := v.op.Op.(type) {
		case *pb.Op_Exec:
			scripts[v.name] = strings.Join(op.Exec.Meta.Args, " ")
		case *pb.Op_File:
			if v.name != "tboot: esp" {
				continue
			}
			for _, a := range op.File.Actions {
				if a.GetCopy() != nil {
					esp = append(esp, a.GetCopy().Dest)
				}
			}
		}
	}
	assert.ElementsMatch(t, []string{"/EFI/BOOT/BOOTAA64.EFI", "/EFI/Linux/tboot.efi", "/"}, esp)
	assert.Contains(t, scripts["tboot: uki"], "--stub /efi/usr/lib/systemd/boot/efi/linuxaa64.efi.stub")
	assert.Contains(t, scripts["tboot: sign"], "/efi/usr/lib/systemd/boot/efi/systemd-bootaa64.efi")
	assert.NotContains(t, scripts["tboot: uki"]+scripts["tboot: sign"], "x64.efi", "no amd64 EFI binary")
}

func TestTargetRoots(t *testing.T) {
	tree, err := project.Load(bootFS(t))
	require.NoError(t, err)
	tests := []struct {
		target string
		roots  []string
	}{
		{"tboot", []string{"busybox", "xz"}},
		{"tboot/boot", []string{"busybox", "xz", "linux-test", "systemd"}},
		{"xz", []string{"xz"}},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.roots, roots(t, tree, tt.target))
	}
}

// diskFS is bootFS plus an initrd image and a trusted image booted
// through it, whose target tdisk/disk is a whole disk.
func diskFS(t testing.TB) fstest.MapFS {
	t.Helper()
	fsys := bootFS(t)
	fsys["images/trd.yaml"] = &fstest.MapFile{Data: []byte("name: trd\nkind: initrd\npackages: [busybox]\n")}
	fsys["images/tdisk.yaml"] = &fstest.MapFile{Data: []byte("name: tdisk\npackages: [busybox, xz]\n" +
		"boot: trusted\nkernel: linux-test\ninitrd: trd\ncmdline: \"console=ttyS0 root=/dev/mapper/root\"\n")}
	return fsys
}

// diskVertices are the vertices only the disk target adds.
func diskVertices(vs []vertex) []vertex {
	var out []vertex
	for _, v := range vs {
		if strings.HasPrefix(v.name, "tdisk: ") && v.name != "tdisk: assemble image" && !strings.Contains(v.name, "finalize") &&
			!strings.Contains(v.name, "setup") {
			out = append(out, v)
		}
	}
	return out
}

// TestDiskGolden pins the disk steps: the verity root from the image's
// root filesystem, the initrd from the initrd image, the UKI with the
// root hash and a boot counter, the disk. Regenerate with -update.
func TestDiskGolden(t *testing.T) {
	vs := marshal(t, diskFS(t), "tdisk/disk", opts())
	golden.Assert(t, "disk.golden", []byte(goldenText(diskVertices(vs))))
	n := names(vs)
	for _, want := range []string{"tdisk: verity root", "tdisk: initrd", "tdisk: uki", "tdisk: sign", "tdisk: esp", "tdisk: disk", "trd: assemble image"} {
		assert.Contains(t, n, want)
	}
}

func TestLoaderConfAndUKIFile(t *testing.T) {
	tree, err := project.Load(diskFS(t))
	require.NoError(t, err)
	assert.Equal(t, "tboot.efi", convert.UKIFile(tree.Images["tboot"]))
	assert.Equal(t, "timeout 0\ndefault tboot.efi\neditor no\n", convert.LoaderConf(tree.Images["tboot"]))
	assert.Equal(t, "tdisk+3.efi", convert.UKIFile(tree.Images["tdisk"]), "boot counting on a disk image")
	assert.Equal(t, "timeout 0\ndefault tdisk*.efi\neditor no\n", convert.LoaderConf(tree.Images["tdisk"]),
		"the default matches the UKI whatever its counter says")
}
