package convert

import (
	"fmt"
	"path"
	"strconv"
	"time"

	"github.com/hadron-linux/hadron/buildkit-frontends/target"
	"github.com/hadron-linux/hadron/internal/imagedef"
	"github.com/hadron-linux/hadron/internal/recipe"
	"github.com/moby/buildkit/client/llb"
	"github.com/moby/buildkit/solver/pb"
)

// DefaultToolsContext is the name of the llb.Local holding the hadron
// binary that boot steps run inside BuildKit (UKI assembly, signing,
// initrd packing are Hadron's own Go code).
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

// Paths inside the boot steps.
const (
	// SecretsDir is where secrets are mounted.
	SecretsDir = "/run/secrets"
	// ToolsDir is where the DefaultToolsContext local is mounted.
	ToolsDir = "/hadron-tools"
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
	rd := c.toolRun(img.Name+": initrd",
		"/hadron-tools/hadron initrd pack --gzip /rootfs /out/initrd.cpio.gz\n",
		llb.AddMount("/rootfs", rootfs, llb.Readonly))
	initrd := rd.AddMount("/out", llb.Scratch())

	// uki: stub + kernel + initrd + cmdline + os-release, PCR 11 policy
	// signed with the PCR key, Authenticode-signed with the db key.
	//
	// Signing steps are never cached: secrets are not part of cache keys,
	// so a cached result could carry a signature made with an earlier key.
	// Both steps take well under a second.
	uki := path.Join("EFI/Linux", img.Name+".efi")
	ukiScript := needStage0(Stub) +
		fmt.Sprintf("test -f /kernel/%[1]s || { echo 'kernel recipe %[2]s has no %[1]s in its package' >&2; exit 1; }\n"+
			"mkdir -p /out/EFI/Linux\n"+
			"/hadron-tools/hadron uki build -o %[3]s --stub %[4]s --kernel /kernel/%[1]s --initrd /initrd/initrd.cpio.gz "+
			"--cmdline %[5]s --os-release /rootfs/usr/lib/os-release "+
			"--pcr-key %[6]s --sign-key %[7]s --sign-cert %[8]s\n",
			KernelImage, img.Kernel, shellQuote("/out/"+uki), Stub, shellQuote(img.Cmdline),
			secretPath(SecretPCRKey), secretPath(SecretDBKey), secretPath(SecretDBCert))
	u := c.toolRun(img.Name+": uki", ukiScript, llb.IgnoreCache,
		llb.AddMount("/kernel", kernel, llb.Readonly),
		llb.AddMount("/initrd", initrd, llb.Readonly),
		llb.AddMount("/rootfs", rootfs, llb.Readonly),
		secretMount(SecretPCRKey), secretMount(SecretDBKey), secretMount(SecretDBCert))
	ukiOut := u.AddMount("/out", llb.Scratch())

	// sign: systemd-boot as the removable-media boot loader.
	signScript := needStage0(SystemdBoot) + fmt.Sprintf("mkdir -p /out/EFI/BOOT\n/hadron-tools/hadron sign --key %s --cert %s %s /out/EFI/BOOT/BOOTX64.EFI\n",
		secretPath(SecretDBKey), secretPath(SecretDBCert), SystemdBoot)
	s := c.toolRun(img.Name+": sign", signScript, llb.IgnoreCache,
		secretMount(SecretDBKey), secretMount(SecretDBCert))
	bootOut := s.AddMount("/out", llb.Scratch())

	// esp: the two signed binaries and loader.conf in one tree.
	created := time.Unix(c.opts.SourceDateEpoch, 0).UTC()
	ct := llb.WithCreatedTime(created)
	cp := &llb.CopyInfo{CreateDestPath: true, CreatedTime: &created}
	fa := llb.Mkdir("/loader", 0o755, ct).
		Mkfile("/loader/loader.conf", 0o644, []byte(LoaderConf(img)), ct).
		Copy(bootOut, "/EFI/BOOT/BOOTX64.EFI", "/EFI/BOOT/BOOTX64.EFI", cp).
		Copy(ukiOut, "/"+uki, "/"+uki, cp)
	return llb.Scratch().File(fa, llb.WithCustomName(img.Name+": esp")), nil
}

// LoaderConf is systemd-boot's loader/loader.conf for img: boot its UKI
// at once, and no command line editing (the UKI's is signed).
func LoaderConf(img *imagedef.Image) string {
	return "timeout 0\ndefault " + img.Name + ".efi\neditor no\n"
}

// toolRun runs script on stage 0 with the hadron binary mounted at
// ToolsDir, network disabled, a read-only root and /out timestamps
// clamped to SOURCE_DATE_EPOCH afterwards.
func (c *Converter) toolRun(name, script string, extra ...llb.RunOption) llb.ExecState {
	tools := []llb.LocalOption{
		llb.IncludePatterns([]string{"hadron"}),
		llb.SharedKeyHint(c.opts.ToolsContext),
		llb.WithCustomName("hadron tools"),
	}
	if c.opts.SessionID != "" {
		tools = append(tools, llb.SessionID(c.opts.SessionID))
	}
	ro := []llb.RunOption{
		llb.Args([]string{"/bin/sh", "-c", "set -eu\n" + script + "find /out -exec touch -h -d \"@$SOURCE_DATE_EPOCH\" {} +\n"}),
		llb.ReadonlyRootFS(),
		llb.Network(pb.NetMode_NONE),
		llb.AddMount("/tmp", llb.Scratch(), llb.Tmpfs()),
		llb.AddEnv("PATH", "/usr/sbin:/usr/bin:/sbin:/bin"),
		llb.AddEnv("HOME", "/tmp"),
		llb.AddEnv("TZ", "UTC"),
		llb.AddEnv("LC_ALL", "C"),
		llb.AddEnv("SOURCE_DATE_EPOCH", strconv.FormatInt(c.opts.SourceDateEpoch, 10)),
		llb.AddMount(ToolsDir, llb.Local(c.opts.ToolsContext, tools...), llb.Readonly),
		llb.Dir("/tmp"),
		llb.WithCustomName(name),
	}
	if c.opts.NoCache {
		ro = append(ro, llb.IgnoreCache)
	}
	return c.stage0.Run(append(ro, extra...)...)
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
