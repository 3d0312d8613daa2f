package convert

import (
	"fmt"
	"path"
	"time"

	"github.com/hadron-linux/hadron/bootchain/toolcmd"
	"github.com/hadron-linux/hadron/buildkit-frontends/target"
	"github.com/hadron-linux/hadron/internal/imagedef"
	"github.com/hadron-linux/hadron/internal/recipe"
	"github.com/moby/buildkit/client/llb"
)

// DefaultToolsContext is the name of the llb.Local holding the hadron
// binary that tool steps run inside BuildKit (the ELF gate, UKI assembly,
// signing, initrd packing are Hadron's own Go code).
const DefaultToolsContext = "hadron-tools"

// The BuildKit secret ids of the signing keys. They reach the steps only as
// secret mounts under SecretsDir: never a layer, a cache key or a log line.
const (
	SecretDBKey  = "db.key"  // Secure Boot db private key (PEM, unencrypted)
	SecretDBCert = "db.crt"  // its certificate
	SecretPCRKey = "pcr.key" // RSA key signing the PCR 11 policy
)

// BootSecrets are the secret ids a trusted boot target needs, in the order
// errors name them.
var BootSecrets = []string{SecretDBKey, SecretDBCert, SecretPCRKey}

// Paths inside the boot and tool steps.
const (
	// SecretsDir is where secrets are mounted.
	SecretsDir = "/run/secrets"
	// ToolsDir is where tool steps find ToolBinary: the DefaultToolsContext
	// local is mounted there, and the frontend image carries the binary at
	// the same path (see Options.ToolsImage).
	ToolsDir = "/hadron-tools"
	// ToolBinary is the hadron binary's name in ToolsDir.
	ToolBinary = "hadron"
	// Stub is systemd-stub in stage 0 (Debian's systemd-boot-efi package,
	// until a systemd recipe builds it).
	Stub = "/usr/lib/systemd/boot/efi/linuxx64.efi.stub"
	// SystemdBoot is the systemd-boot EFI binary in stage 0.
	SystemdBoot = "/usr/lib/systemd/boot/efi/systemd-bootx64.efi"
	// KernelImage is where a kernel recipe's package puts the kernel.
	KernelImage = "boot/vmlinuz"
)

// Boot returns the boot artifacts of img. For boot: trusted that is an ESP
// tree: EFI/BOOT/BOOTX64.EFI (signed systemd-boot), EFI/Linux/<image>.efi
// (the UKI with .pcrsig/.pcrpkey, signed) and loader/loader.conf. The
// image's root filesystem is its initramfs. Every step runs on stage 0
// with network disabled; keys come in as BuildKit secrets.
func (c *Converter) Boot(img *imagedef.Image) (llb.State, error) {
	if !img.HasBoot() {
		return llb.State{}, fmt.Errorf("image %s: target %s/%s needs boot: %s in %s (boot is %q)",
			img.Name, img.Name, target.BootOutput, imagedef.BootTrusted, img.File, img.Boot)
	}
	if c.target.Arch != recipe.ArchAMD64 {
		return llb.State{}, fmt.Errorf("image %s: trusted boot is only built for amd64 so far, not %s", img.Name, c.target.Arch)
	}
	rootfs, err := c.Image(img)
	if err != nil {
		return llb.State{}, err
	}
	kernel, err := c.kernelLayer(img.Kernel)
	if err != nil {
		return llb.State{}, fmt.Errorf("image %s: kernel: %w", img.Name, err)
	}

	// initrd: the root filesystem as a newc cpio (gzip), packed by hadron.
	rd := c.toolRun(img.Name+": initrd", "",
		toolcmd.InitrdPack{Dir: "/rootfs", Out: "/out/initrd.cpio.gz", Gzip: true},
		llb.AddMount("/rootfs", rootfs, llb.Readonly))
	initrd := outMount(rd)

	// uki: stub + kernel + initrd + cmdline + os-release, PCR 11 policy
	// signed with the PCR key, Authenticode-signed with the db key.
	//
	// Signing steps are never cached: secrets are not part of cache keys,
	// so a cached result could carry a signature made with an earlier key.
	// Both steps take well under a second.
	uki := path.Join("EFI/Linux", img.Name+".efi")
	ukiCheck := needStage0(Stub) +
		fmt.Sprintf("test -f /kernel/%[1]s || { echo 'kernel recipe %[2]s has no %[1]s in its package' >&2; exit 1; }\n"+
			"mkdir -p /out/EFI/Linux\n", KernelImage, img.Kernel)
	u := c.toolRun(img.Name+": uki", ukiCheck,
		toolcmd.UKIBuild{
			Output:    "/out/" + uki,
			Stub:      Stub,
			Kernel:    "/kernel/" + KernelImage,
			Initrds:   []string{"/initrd/initrd.cpio.gz"},
			Cmdline:   img.Cmdline,
			OSRelease: "/rootfs/usr/lib/os-release",
			PCRKey:    secretPath(SecretPCRKey),
			SignKey:   secretPath(SecretDBKey),
			SignCert:  secretPath(SecretDBCert),
		},
		llb.IgnoreCache,
		llb.AddMount("/kernel", kernel, llb.Readonly),
		llb.AddMount("/initrd", initrd, llb.Readonly),
		llb.AddMount("/rootfs", rootfs, llb.Readonly),
		secretMount(SecretPCRKey), secretMount(SecretDBKey), secretMount(SecretDBCert))
	ukiOut := outMount(u)

	// sign: systemd-boot as the removable-media boot loader.
	s := c.toolRun(img.Name+": sign", needStage0(SystemdBoot)+"mkdir -p /out/EFI/BOOT\n",
		toolcmd.Sign{Key: secretPath(SecretDBKey), Cert: secretPath(SecretDBCert), In: SystemdBoot, Out: "/out/EFI/BOOT/BOOTX64.EFI"},
		llb.IgnoreCache,
		secretMount(SecretDBKey), secretMount(SecretDBCert))
	bootOut := outMount(s)

	// esp: the two signed binaries and loader.conf in one tree, every
	// time the epoch (see restamp).
	created := time.Unix(c.opts.SourceDateEpoch, 0).UTC()
	ct := llb.WithCreatedTime(created)
	cp := &llb.CopyInfo{CreateDestPath: true, CreatedTime: &created}
	fa := llb.Mkdir("/loader", 0o755, ct).
		Mkfile("/loader/loader.conf", 0o644, []byte(LoaderConf(img)), ct).
		Copy(bootOut, "/EFI/BOOT/BOOTX64.EFI", "/EFI/BOOT/BOOTX64.EFI", cp).
		Copy(ukiOut, "/"+uki, "/"+uki, cp)
	return llb.Scratch().File(restamp(fa, c.opts.SourceDateEpoch), llb.WithCustomName(img.Name+": esp")), nil
}

// LoaderConf is systemd-boot's loader/loader.conf for img: boot its UKI
// at once, and no command line editing (the UKI's is signed).
func LoaderConf(img *imagedef.Image) string {
	return "timeout 0\ndefault " + img.Name + ".efi\neditor no\n"
}

// ToolInvocations lists the command lines of hadron's own tools that the
// conversion so far runs inside BuildKit (ELF gates, boot steps), in the
// order they were made.
func (c *Converter) ToolInvocations() []toolcmd.Invocation {
	return append([]toolcmd.Invocation(nil), c.toolInvocations...)
}

// tools is the state whose ToolsDir holds the hadron binary: the frontend
// image when the gateway runs from one (Options.ToolsImage), else the
// ToolsContext local the client sends.
func (c *Converter) tools() llb.RunOption {
	if c.opts.ToolsImage != nil {
		return llb.AddMount(ToolsDir, *c.opts.ToolsImage, llb.SourcePath(ToolsDir), llb.Readonly)
	}
	local := []llb.LocalOption{
		llb.IncludePatterns([]string{ToolBinary}),
		llb.SharedKeyHint(c.opts.ToolsContext),
		llb.WithCustomName("hadron tools"),
	}
	if c.opts.SessionID != "" {
		local = append(local, llb.SessionID(c.opts.SessionID))
	}
	return llb.AddMount(ToolsDir, llb.Local(c.opts.ToolsContext, local...), llb.Readonly)
}

// toolRun runs check (shell that fails early with a clear message), then
// the hadron binary mounted at ToolsDir with tool's command line, in the
// hermetic sandbox; /out is the step's layer.
func (c *Converter) toolRun(name, check string, tool toolcmd.Tool, extra ...llb.RunOption) llb.ExecState {
	inv := tool.Invocation()
	c.toolInvocations = append(c.toolInvocations, inv)
	script := "set -eu\n" + check + inv.Shell(path.Join(ToolsDir, ToolBinary)) + "\n"
	return c.hermetic.layer(name, script, append([]llb.RunOption{c.tools()}, extra...)...)
}

// needStage0 is a shell check that stage 0 has file, with the package to
// install when it has not.
func needStage0(file string) string {
	return fmt.Sprintf("test -f %[1]s || { echo \"stage 0 has no %[1]s: it needs Debian's systemd-boot-efi package (until a systemd recipe builds it)\" >&2; exit 1; }\n", file)
}

func secretPath(id string) string { return path.Join(SecretsDir, id) }

// secretMount mounts secret id read-only for root at SecretsDir/id. A
// missing secret fails the step with BuildKit's "secret <id>: not found",
// which the frontend turns into a message naming the flag to pass.
func secretMount(id string) llb.RunOption {
	return llb.AddSecret(secretPath(id), llb.SecretID(id), llb.SecretFileOpt(0, 0, 0o400))
}
