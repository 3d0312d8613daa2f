// Package toolcmd holds the command lines of hadron's own tools as build
// steps inside BuildKit run them (initrd packing, UKI assembly, signing,
// the ELF hygiene gate), as typed values. buildkit-frontends/convert renders them into step
// scripts; cmd/hadron's tests parse every one of them back through the
// real command tree, so a renamed or retyped flag fails a unit test rather
// than a build.
package toolcmd

import "strings"

// Invocation is one command line of the hadron binary.
type Invocation struct {
	// Command is the subcommand path: ["uki", "build"].
	Command []string
	// Flags are the flags in the order they are written.
	Flags []Flag
	// Args are the positional arguments, after the flags.
	Args []string
}

// Flag is one flag of an invocation: "--name value", or "--name" alone
// for a true boolean.
type Flag struct {
	Name  string
	Value string
	// Bool marks a boolean flag set to true (written without a value).
	Bool bool
}

// Tool is implemented by each typed invocation.
type Tool interface {
	Invocation() Invocation
}

// Argv is the invocation's arguments after the program name.
func (i Invocation) Argv() []string {
	out := append([]string(nil), i.Command...)
	for _, f := range i.Flags {
		if f.Bool {
			out = append(out, "--"+f.Name)
			continue
		}
		out = append(out, "--"+f.Name, f.Value)
	}
	return append(out, i.Args...)
}

// Shell renders the invocation as a /bin/sh command line running binary.
func (i Invocation) Shell(binary string) string {
	argv := append([]string{binary}, i.Argv()...)
	for n, a := range argv {
		argv[n] = Quote(a)
	}
	return strings.Join(argv, " ")
}

// String is the command path, as errors name an invocation: "uki build".
func (i Invocation) String() string { return strings.Join(i.Command, " ") }

// Quote quotes s for /bin/sh unless it only holds characters the shell
// takes literally.
func Quote(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_=./:,+@%") == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// flags collects the non-empty string flags and true booleans of one
// invocation, in order.
type flags []Flag

func (f *flags) str(name, value string) {
	if value != "" {
		*f = append(*f, Flag{Name: name, Value: value})
	}
}

func (f *flags) strs(name string, values []string) {
	for _, v := range values {
		*f = append(*f, Flag{Name: name, Value: v})
	}
}

func (f *flags) boolean(name string, v bool) {
	if v {
		*f = append(*f, Flag{Name: name, Bool: true})
	}
}

// InitrdPack is `hadron initrd pack`: the tree under Dir as a newc cpio
// archive at Out, gzip-compressed with Gzip. Entry times come from
// SOURCE_DATE_EPOCH in the step's environment.
type InitrdPack struct {
	Dir, Out string
	Gzip     bool
}

// Invocation implements Tool.
func (p InitrdPack) Invocation() Invocation {
	var f flags
	f.boolean("gzip", p.Gzip)
	return Invocation{Command: []string{"initrd", "pack"}, Flags: f, Args: []string{p.Dir, p.Out}}
}

// UKIBuild is `hadron uki build`: a Unified Kernel Image at Output from
// systemd-stub, the kernel, the initrds, command line and os-release,
// with the PCR 11 policy signed by PCRKey and Authenticode-signed with
// SignKey/SignCert when set.
type UKIBuild struct {
	Output  string
	Stub    string
	Kernel  string
	Initrds []string
	Cmdline string
	// RootHashFile holds a dm-verity root hash, appended to the command
	// line as roothash= (see VerityRoot).
	RootHashFile string
	OSRelease    string
	PCRKey       string
	SignKey      string
	SignCert     string
}

// Invocation implements Tool.
func (u UKIBuild) Invocation() Invocation {
	var f flags
	f.str("output", u.Output)
	f.str("stub", u.Stub)
	f.str("kernel", u.Kernel)
	f.strs("initrd", u.Initrds)
	f.str("cmdline", u.Cmdline)
	f.str("roothash-file", u.RootHashFile)
	f.str("os-release", u.OSRelease)
	f.str("pcr-key", u.PCRKey)
	f.str("sign-key", u.SignKey)
	f.str("sign-cert", u.SignCert)
	return Invocation{Command: []string{"uki", "build"}, Flags: f}
}

// Sign is `hadron sign`: In Authenticode-signed with Key/Cert, written to
// Out.
type Sign struct {
	Key, Cert string
	In, Out   string
}

// Invocation implements Tool.
func (s Sign) Invocation() Invocation {
	var f flags
	f.str("key", s.Key)
	f.str("cert", s.Cert)
	return Invocation{Command: []string{"sign"}, Flags: f, Args: []string{s.In, s.Out}}
}

// ELFCheck is `hadron elf-check`: the ELF hygiene gate on the tree under
// Dir (a package's runtime closure), for architecture Arch ("amd64",
// "arm64"), each violation starting with Package. It exits with status 1
// when there is any violation.
type ELFCheck struct {
	Arch, Package, Dir string
}

// Invocation implements Tool.
func (e ELFCheck) Invocation() Invocation {
	var f flags
	f.str("arch", e.Arch)
	f.str("package", e.Package)
	return Invocation{Command: []string{"elf-check"}, Flags: f, Args: []string{e.Dir}}
}

// ImageSetup is `hadron image-setup`: sysusers.d, tmpfiles.d and the
// presets applied by the image's own systemd tools, in a step whose root
// file system is the image (see internal/imagesetup). No arguments.
type ImageSetup struct{}

// Invocation implements Tool.
func (ImageSetup) Invocation() Invocation {
	return Invocation{Command: []string{"image-setup"}}
}

// SysextBuild is `hadron sysext build`: the tree under Dir (usr/ only,
// with its extension-release file) as a signed system extension image at
// Out for extension Name and architecture Arch ("amd64", "arm64"), the
// root hash signed with Key/Cert. FS is the usr file system ("" lets the
// tool pick: erofs when mkfs.erofs is there, else squashfs). Times come
// from SOURCE_DATE_EPOCH in the step's environment.
type SysextBuild struct {
	Name, Arch, FS string
	Key, Cert      string
	Dir, Out       string
}

// Invocation implements Tool.
func (s SysextBuild) Invocation() Invocation {
	var f flags
	f.str("name", s.Name)
	f.str("arch", s.Arch)
	f.str("fs", s.FS)
	f.str("key", s.Key)
	f.str("cert", s.Cert)
	return Invocation{Command: []string{"sysext", "build"}, Flags: f, Args: []string{s.Dir, s.Out}}
}

// VerityRoot is `hadron disk verity-root`: the root file system under Dir
// as erofs with its dm-verity hash device and root hash, written into the
// folder Out (see bootchain/disk/trusted.BuildRoot) for image Name. Times
// come from SOURCE_DATE_EPOCH in the step's environment.
type VerityRoot struct {
	Name, Dir, Out string
}

// Invocation implements Tool.
func (r VerityRoot) Invocation() Invocation {
	var f flags
	f.str("name", r.Name)
	f.str("rootfs-dir", r.Dir)
	f.str("output", r.Out)
	return Invocation{Command: []string{"disk", "verity-root"}, Flags: f}
}

// TrustedDisk is `hadron disk trusted`: the GPT disk image at Out of image
// Name for architecture Arch ("amd64", "arm64"): the ESP tree under ESP
// and the verity root that VerityRoot wrote into Root (see
// bootchain/disk/trusted.Build). Times come from SOURCE_DATE_EPOCH.
type TrustedDisk struct {
	Name, Arch, ESP, Root, Out string
}

// Invocation implements Tool.
func (d TrustedDisk) Invocation() Invocation {
	var f flags
	f.str("name", d.Name)
	f.str("arch", d.Arch)
	f.str("esp", d.ESP)
	f.str("root", d.Root)
	f.str("output", d.Out)
	return Invocation{Command: []string{"disk", "trusted"}, Flags: f}
}

// RPiDisk is `hadron disk rpi`: the Raspberry Pi disk image at Out of
// image Name for Boards ("pi4", "pi5"): the boot partition tree under Boot
// and the root file system tree under Root (see
// bootchain/rpi.BuildDisk). Times come from SOURCE_DATE_EPOCH.
type RPiDisk struct {
	Name   string
	Boards []string
	Boot   string
	Root   string
	Out    string
}

// Invocation implements Tool.
func (d RPiDisk) Invocation() Invocation {
	var f flags
	f.str("name", d.Name)
	f.strs("board", d.Boards)
	f.str("boot", d.Boot)
	f.str("root", d.Root)
	f.str("output", d.Out)
	return Invocation{Command: []string{"disk", "rpi"}, Flags: f}
}

// StandardDisk is `hadron disk standard`: the GRUB-booted GPT disk image
// at Out of image Name for Arch ("amd64", "arm64"; see
// bootchain/disk/standard.Build): GRUB for EFI (and BIOS on amd64) from
// the platform files under GrubLib, packed by the
// grub-mkimage at GrubMkimage; Kernel and Initrd in every slot, booted
// with Cmdline after root=PARTLABEL=root-<slot> ro; the tree under
// RootfsDir as erofs in slot a, and in every slot with FillSlots. Times
// come from SOURCE_DATE_EPOCH.
type StandardDisk struct {
	Name, Arch, Kernel, Initrd, RootfsDir, Cmdline, GrubLib, GrubMkimage, ESPTree, Out string
	FillSlots                                                                          bool
}

// Invocation implements Tool.
func (d StandardDisk) Invocation() Invocation {
	var f flags
	f.str("name", d.Name)
	f.str("arch", d.Arch)
	f.str("kernel", d.Kernel)
	f.str("initrd", d.Initrd)
	f.str("rootfs-dir", d.RootfsDir)
	f.boolean("fill-slots", d.FillSlots)
	// Always written: an empty value is a command line of its own, not
	// the flag's default.
	f = append(f, Flag{Name: "cmdline", Value: d.Cmdline})
	f.str("grub-lib", d.GrubLib)
	f.str("grub-mkimage", d.GrubMkimage)
	f.str("esp-tree", d.ESPTree)
	f.str("output", d.Out)
	return Invocation{Command: []string{"disk", "standard"}, Flags: f}
}

// DracutBuild is `hadron dracut build`: dracut (Tool) with Hadron's
// generic configuration against the root file system SysRoot and the
// kernel modules under Modules (lib/modules/<release>; the release is read
// from KverFile), written to Out. An empty Root bakes no root= into the
// initramfs: the boot loader's command line names the slot.
type DracutBuild struct {
	Tool, SysRoot, Modules, KverFile, Out string
	Root, Compress                        string
}

// Invocation implements Tool.
func (d DracutBuild) Invocation() Invocation {
	f := flags{{Name: "root", Value: d.Root}}
	f.str("compress", d.Compress)
	f.str("tool", d.Tool)
	f.str("sysroot", d.SysRoot)
	f.str("modules", d.Modules)
	f.str("kver-file", d.KverFile)
	f.str("output", d.Out)
	return Invocation{Command: []string{"dracut", "build"}, Flags: f}
}
