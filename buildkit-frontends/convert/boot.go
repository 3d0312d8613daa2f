package convert

import (
	"fmt"
	"path"
	"strings"
	"time"

	"github.com/hadron-linux/hadron/bootchain/disk/trusted"
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
	// KernelImage is where a kernel recipe's package puts the kernel.
	KernelImage = "boot/vmlinuz"
)

// efiArch is the architecture suffix of EFI file names (BOOTX64.EFI,
// linuxx64.efi.stub) by Hadron architecture.
var efiArch = map[recipe.Arch]string{recipe.ArchAMD64: "x64", recipe.ArchARM64: "aa64"}

// Stub is systemd-stub's path in a package holding the EFI binaries
// (imagedef.EFIDir), for EFI architecture suffix arch.
func Stub(arch string) string { return path.Join(imagedef.EFIDir, "linux"+arch+".efi.stub") }

// SystemdBoot is systemd-boot's path in a package holding the EFI
// binaries, for EFI architecture suffix arch.
func SystemdBoot(arch string) string { return path.Join(imagedef.EFIDir, "systemd-boot"+arch+".efi") }

// bootBuild is what the boot steps of a trusted image make.
type bootBuild struct {
	// esp is the ESP tree.
	esp llb.State
	// uki holds the signed UKI alone, at EFI/Linux/<UKIFile>.
	uki llb.State
	// root holds the verity root (see bootchain/disk/trusted.BuildRoot)
	// when the image boots through an initrd image; nil otherwise.
	root *llb.State
}

// Boot returns the boot artifacts of img. For boot: trusted that is an ESP
// tree: EFI/BOOT/BOOTX64.EFI (signed systemd-boot), EFI/Linux/<image>.efi
// (the UKI with .pcrsig/.pcrpkey, signed) and loader/loader.conf.
// systemd-boot and systemd-stub come from the package output the image's
// efi: names (systemd:efi by default). With initrd: the UKI carries that
// initrd image and the root hash of the image's verity-protected root
// (see Disk); otherwise the image's root filesystem is its initramfs.
// Every step runs on stage 0 with network disabled; keys come in as
// BuildKit secrets.
func (c *Converter) Boot(img *imagedef.Image) (llb.State, error) {
	if img.Boot == imagedef.BootRPi {
		b, err := c.rpiBoot(img)
		if err != nil {
			return llb.State{}, err
		}
		return b.boot, nil
	}
	if img.Boot == imagedef.BootGRUB {
		b, err := c.grubDisk(img)
		if err != nil {
			return llb.State{}, err
		}
		return b.esp, nil
	}
	b, err := c.boot(img)
	if err != nil {
		return llb.State{}, err
	}
	return b.esp, nil
}

func (c *Converter) boot(img *imagedef.Image) (*bootBuild, error) {
	if img.Boot == imagedef.BootRPi {
		return nil, fmt.Errorf("image %s boots with the Raspberry Pi firmware, which loads no UKI: build %s/%s (the boot partition) or %s/%s (%s)",
			img.Name, img.Name, target.BootOutput, img.Name, target.DiskOutput, img.File)
	}
	if img.Boot == imagedef.BootGRUB {
		return nil, fmt.Errorf("image %s boots with GRUB, which loads no UKI: build %s/%s (the ESP's files) or %s/%s (%s)",
			img.Name, img.Name, target.BootOutput, img.Name, target.DiskOutput, img.File)
	}
	if !img.HasBoot() {
		return nil, fmt.Errorf("image %s: targets %s/%s and %s/%s need boot: %s in %s (boot is %q)",
			img.Name, img.Name, target.BootOutput, img.Name, target.UKIOutput, imagedef.BootTrusted, img.File, img.Boot)
	}
	arch, ok := efiArch[c.target.Arch]
	if !ok {
		return nil, fmt.Errorf("image %s: trusted boot is built for amd64 and arm64, not %s", img.Name, c.target.Arch)
	}
	rootfs, kernel, err := c.bootRoot(img)
	if err != nil {
		return nil, err
	}
	efiRef := img.EFIRef()
	efi, err := c.gatedOutput(efiRef)
	if err != nil {
		return nil, fmt.Errorf("image %s: efi: %w", img.Name, err)
	}
	b := &bootBuild{}

	// initrd: the initrd image, or the root filesystem itself, as a newc
	// cpio (gzip), packed by hadron.
	initrdTree := rootfs
	if img.Initrd != "" {
		if initrdTree, err = c.initrdTree(img, kernel); err != nil {
			return nil, err
		}
		// The root: erofs + dm-verity hash device + root hash.
		vr := c.toolRun(img.Name+": verity root", "",
			toolcmd.VerityRoot{Name: img.Name, Dir: "/rootfs", Out: "/out"},
			llb.AddMount("/rootfs", rootfs, llb.Readonly))
		root := outMount(vr)
		b.root = &root
	}
	initrd := c.packInitrd(img, initrdTree)

	// uki: stub + kernel + initrd + cmdline (+ roothash=) + os-release,
	// PCR 11 policy signed with the PCR key, Authenticode-signed with the
	// db key.
	//
	// Signing steps are never cached: secrets are not part of cache keys,
	// so a cached result could carry a signature made with an earlier key.
	// Both steps take well under a second.
	uki := path.Join("EFI/Linux", UKIFile(img))
	ukiCheck := needEFI(efiRef, Stub(arch)) + needKernel(img) + "mkdir -p /out/EFI/Linux\n"
	ukiTool := toolcmd.UKIBuild{
		Output:    "/out/" + uki,
		Stub:      "/efi/" + Stub(arch),
		Kernel:    "/kernel/" + KernelImage,
		Initrds:   []string{"/initrd/initrd.cpio.gz"},
		Cmdline:   img.Cmdline,
		OSRelease: "/rootfs/usr/lib/os-release",
		PCRKey:    secretPath(SecretPCRKey),
		SignKey:   secretPath(SecretDBKey),
		SignCert:  secretPath(SecretDBCert),
	}
	ukiMounts := []llb.RunOption{llb.IgnoreCache,
		llb.AddMount("/kernel", kernel, llb.Readonly),
		llb.AddMount("/initrd", initrd, llb.Readonly),
		llb.AddMount("/rootfs", rootfs, llb.Readonly),
		llb.AddMount("/efi", efi, llb.Readonly),
		secretMount(SecretPCRKey), secretMount(SecretDBKey), secretMount(SecretDBCert)}
	if b.root != nil {
		ukiTool.RootHashFile = "/root/" + trusted.RootHashFile
		ukiMounts = append(ukiMounts, llb.AddMount("/root", *b.root, llb.Readonly))
	}
	ukiOut := outMount(c.toolRun(img.Name+": uki", ukiCheck, ukiTool, ukiMounts...))
	b.uki = ukiOut

	// sign: systemd-boot as the removable-media boot loader.
	bootEFI := "/EFI/BOOT/BOOT" + strings.ToUpper(arch) + ".EFI"
	s := c.toolRun(img.Name+": sign", needEFI(efiRef, SystemdBoot(arch))+"mkdir -p /out/EFI/BOOT\n",
		toolcmd.Sign{Key: secretPath(SecretDBKey), Cert: secretPath(SecretDBCert), In: "/efi/" + SystemdBoot(arch), Out: "/out" + bootEFI},
		llb.IgnoreCache,
		llb.AddMount("/efi", efi, llb.Readonly),
		secretMount(SecretDBKey), secretMount(SecretDBCert))
	bootOut := outMount(s)

	// esp: the two signed binaries and loader.conf in one tree, every
	// time the epoch (see restamp).
	created := time.Unix(c.opts.SourceDateEpoch, 0).UTC()
	ct := llb.WithCreatedTime(created)
	cp := &llb.CopyInfo{CreateDestPath: true, CreatedTime: &created}
	fa := llb.Mkdir("/loader", 0o755, ct).
		Mkfile("/loader/loader.conf", 0o644, []byte(LoaderConf(img)), ct).
		Copy(bootOut, bootEFI, bootEFI, cp).
		Copy(ukiOut, "/"+uki, "/"+uki, cp)
	b.esp = llb.Scratch().File(restamp(fa, c.opts.SourceDateEpoch), llb.WithCustomName(img.Name+": esp"))
	return b, nil
}

// Disk returns the disk image of a trusted image booted through its
// initrd: one file, <image>.raw, a GPT disk with the ESP of Boot, the
// image's root filesystem as erofs and its dm-verity hash partition (see
// bootchain/disk/trusted). The step runs hadron's `disk trusted` on stage
// 0 with network disabled. A boot: grub image's disk is grubDisk's, a
// boot: rpi image's rpiDisk's.
func (c *Converter) Disk(img *imagedef.Image) (llb.State, error) {
	if !img.HasDisk() {
		return llb.State{}, fmt.Errorf("image %s: target %s/%s needs boot: %s and initrd:, boot: %s or boot: %s, in %s",
			img.Name, img.Name, target.DiskOutput, imagedef.BootTrusted, imagedef.BootGRUB, imagedef.BootRPi, img.File)
	}
	switch img.Boot {
	case imagedef.BootRPi:
		return c.rpiDisk(img)
	case imagedef.BootGRUB:
		b, err := c.grubDisk(img)
		if err != nil {
			return llb.State{}, err
		}
		return b.disk, nil
	}
	b, err := c.boot(img)
	if err != nil {
		return llb.State{}, err
	}
	run := c.toolRun(img.Name+": disk", "",
		toolcmd.TrustedDisk{Name: img.Name, Arch: string(c.target.Arch), ESP: "/esp", Root: "/root", Out: "/out/" + img.Name + ".raw"},
		llb.AddMount("/esp", b.esp, llb.Readonly),
		llb.AddMount("/root", *b.root, llb.Readonly))
	return outMount(run), nil
}

// bootRoot returns the root file system a boot variant of img puts on its
// disk (the image with its kernel's modules, see withModules) and the
// kernel's package layer.
func (c *Converter) bootRoot(img *imagedef.Image) (root, kernel llb.State, err error) {
	rootfs, err := c.Image(img)
	if err != nil {
		return llb.State{}, llb.State{}, err
	}
	kernel, err = c.kernelLayer(img.Kernel)
	if err != nil {
		return llb.State{}, llb.State{}, fmt.Errorf("image %s: kernel: %w", img.Name, err)
	}
	return c.withModules(img, kernel, rootfs, "root"), kernel, nil
}

// initrdTree returns the tree of img's initrd image with the modules of
// img's kernel (see withModules).
func (c *Converter) initrdTree(img *imagedef.Image, kernel llb.State) (llb.State, error) {
	rd, ok := c.tree.Images[img.Initrd]
	if !ok {
		return llb.State{}, fmt.Errorf("image %s: initrd: no image %s in this tree (%s)", img.Name, img.Initrd, img.File)
	}
	tree, err := c.Image(rd)
	if err != nil {
		return llb.State{}, err
	}
	return c.withModules(img, kernel, tree, "initrd"), nil
}

// packInitrd packs tree as img's initrd, a newc cpio (gzip) at
// /initrd.cpio.gz of the result, with hadron's `initrd pack`.
func (c *Converter) packInitrd(img *imagedef.Image, tree llb.State) llb.State {
	return outMount(c.toolRun(img.Name+": initrd", "",
		toolcmd.InitrdPack{Dir: "/rootfs", Out: "/out/initrd.cpio.gz", Gzip: true},
		llb.AddMount("/rootfs", tree, llb.Readonly)))
}

// withModules returns tree (img's root, or its initrd: what) with the
// modules of img's kernel merged in, where udev finds and loads them, when
// the kernel is a board build (<recipe>@<board>: Hadron's kernel package,
// modules under usr/lib/modules/<release>, none when the board builds
// none). A plain kernel recipe's package is taken as it is.
func (c *Converter) withModules(img *imagedef.Image, kernel, tree llb.State, what string) llb.State {
	if !strings.Contains(img.Kernel, target.BoardSep) {
		return tree
	}
	created := time.Unix(c.opts.SourceDateEpoch, 0).UTC()
	// An include pattern, not a path: a board without modules has no
	// usr/lib/modules, which makes the copy empty rather than an error.
	cp := llb.Copy(kernel, "/", "/", &llb.CopyInfo{
		CopyDirContentsOnly: true, IncludePatterns: []string{"usr/lib/modules"}, CreatedTime: &created})
	modules := llb.Scratch().File(restamp(cp, c.opts.SourceDateEpoch), llb.WithCustomNamef("%s: kernel modules", img.Name))
	return llb.Merge([]llb.State{tree, modules}, llb.WithCustomNamef("%s: %s with the kernel's modules", img.Name, what))
}

// LoaderConf is systemd-boot's loader/loader.conf for img: boot its UKI
// at once, and no command line editing (the UKI's is signed).
//
// A disk image's UKI is boot-counted (see UKIFile), so its file name
// changes from boot to boot: the default is a pattern that matches every
// name it takes.
func LoaderConf(img *imagedef.Image) string {
	def := img.Name + ".efi"
	if img.HasDisk() {
		def = img.Name + "*.efi"
	}
	return "timeout 0\ndefault " + def + "\neditor no\n"
}

// BootTries is how many boots a disk image's new UKI gets to reach
// boot-complete.target before systemd-boot stops choosing it.
const BootTries = 3

// UKIFile is the file name of img's UKI in EFI/Linux. On a disk image it
// carries systemd-boot's boot counter, "<image>+3.efi": each boot
// attempt counts one try down (+2-1, +1-2, ...), and once the system
// reaches boot-complete.target systemd-bless-boot renames it to
// "<image>.efi", good for good; an entry with no tries left sorts last,
// so a previous UKI boots instead.
func UKIFile(img *imagedef.Image) string {
	if img.HasDisk() {
		return fmt.Sprintf("%s+%d.efi", img.Name, BootTries)
	}
	return img.Name + ".efi"
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

// needKernel is a shell check that img's kernel package, mounted at
// /kernel, has the kernel image.
func needKernel(img *imagedef.Image) string {
	return fmt.Sprintf("test -f /kernel/%[1]s || { echo 'kernel recipe %[2]s has no %[1]s in its package' >&2; exit 1; }\n",
		KernelImage, img.Kernel)
}

// needEFI is a shell check that the EFI package output ref, mounted at
// /efi, has file.
func needEFI(ref recipe.Ref, file string) string {
	return fmt.Sprintf("test -f /efi/%[1]s || { echo \"efi: package output %[2]s has no %[1]s (it holds systemd-boot and systemd-stub: systemd built with -Dbootloader=enabled)\" >&2; exit 1; }\n", file, ref)
}

func secretPath(id string) string { return path.Join(SecretsDir, id) }

// secretMount mounts secret id read-only for root at SecretsDir/id. A
// missing secret fails the step with BuildKit's "secret <id>: not found",
// which the frontend turns into a message naming the flag to pass.
func secretMount(id string) llb.RunOption {
	return llb.AddSecret(secretPath(id), llb.SecretID(id), llb.SecretFileOpt(0, 0, 0o400))
}
