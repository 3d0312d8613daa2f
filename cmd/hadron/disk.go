package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"text/tabwriter"

	"github.com/spf13/cobra"
	"github.com/spf13/viper"

	"github.com/hadron-linux/hadron/bootchain/disk"
	"github.com/hadron-linux/hadron/bootchain/disk/standard"
	"github.com/hadron-linux/hadron/bootchain/disk/trusted"
	"github.com/hadron-linux/hadron/bootchain/grub"
	"github.com/hadron-linux/hadron/bootchain/rpi"
	"github.com/hadron-linux/hadron/internal/recipe"
)

func newDiskCmd(v *viper.Viper) *cobra.Command {
	return groupCmd("disk", "Build reproducible disk images (trusted and standard boot, Raspberry Pi boot partition)",
		newDiskStandardCmd(v), newDiskRPiCmd(v), newDiskRPiImageCmd(v), newDiskVerityRootCmd(v), newDiskTrustedCmd(v), newDiskVerifyCmd(v))
}

func newDiskVerityRootCmd(v *viper.Viper) *cobra.Command {
	c := &cobra.Command{
		Use:   "verity-root --name NAME --rootfs-dir ROOTFS -o DIR",
		Short: "Pack a root file system as erofs with its dm-verity hash device and root hash",
		Long: `Verity-root writes into DIR the root file system under --rootfs-dir as erofs
(owners kept, every time the epoch) padded to whole 4 KiB blocks (` + trusted.RootImage + `),
its dm-verity hash device (` + trusted.VerityImage + `) and the root hash in hex (` + trusted.RootHashFile + `).
The root hash goes on the UKI's command line (uki build --roothash-file); ` + "`disk trusted`" + `
puts the two images on the disk. Salt and UUIDs come from the content.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			epoch, err := requiredEpoch(v)
			if err != nil {
				return err
			}
			out := v.GetString("output")
			h, err := trusted.BuildRoot(cmd.Context(), trusted.RootSpec{Name: v.GetString("name"), Dir: v.GetString("rootfs-dir"), Epoch: epoch}, out)
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s: %s\n", out, trusted.CmdlineArg(h))
			return nil
		},
	}
	fl := c.Flags()
	fl.StringP("output", "o", "", "folder to write the root image, hash device and root hash into (required)")
	fl.String("name", "", "image name (seeds the file system UUID) (required)")
	fl.String("rootfs-dir", "", "root file system tree (required)")
	addEpochFlag(fl)
	for _, f := range []string{"output", "name", "rootfs-dir"} {
		_ = c.MarkFlagRequired(f)
	}
	return c
}

func newDiskVerifyCmd(v *viper.Viper) *cobra.Command {
	c := &cobra.Command{
		Use:   "verify DISK [--arch amd64|arm64]",
		Short: "Check a trusted disk's dm-verity root and print its root hash",
		Long: `Verify reads every block of a trusted disk's root partition, recomputes its
dm-verity hash tree with the salt the hash partition records, checks the hash
partition holds that tree and that both partitions' UUIDs are the root hash's
halves (how systemd finds them), and prints roothash=<hex>: compare it with the
command line of the UKI (hadron uki inspect). Exit status 1 when it does not hold.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			h, err := trusted.Verify(args[0], recipe.Arch(v.GetString("arch")))
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s: %s\n", args[0], trusted.CmdlineArg(h))
			return nil
		},
	}
	c.Flags().String("arch", string(recipe.ArchAMD64), "architecture: amd64 or arm64 (root partition types)")
	return c
}

func newDiskTrustedCmd(v *viper.Viper) *cobra.Command {
	c := &cobra.Command{
		Use:   "trusted --name NAME --arch ARCH --esp DIR --root DIR -o DISK",
		Short: "Build a trusted-boot GPT disk: ESP, verity-protected root and its hash partition",
		Long: `Trusted writes a GPT disk image: an ESP (FAT32) holding the tree under --esp
(signed systemd-boot, signed UKIs, loader.conf), the erofs root that
` + "`disk verity-root`" + ` wrote into --root, and its dm-verity hash partition. The root
partitions carry the Discoverable Partitions types of --arch and the UUIDs
systemd derives from roothash= (first and last 128 bits), so the UKI's
command line alone finds them.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			epoch, work, cleanup, err := epochAndWorkDir(v)
			if err != nil {
				return err
			}
			defer cleanup()
			str := v.GetString
			out := str("output")
			plan, err := trusted.Build(cmd.Context(), trusted.Spec{
				Name: str("name"), Epoch: epoch, Arch: recipe.Arch(str("arch")),
				ESPDir: str("esp"), ESPSize: v.GetInt64("esp-size") * disk.MiB, RootDir: str("root"),
			}, work, out)
			if err != nil {
				return err
			}
			return printPlan(cmd.OutOrStdout(), out, plan, "root on dm-verity")
		},
	}
	fl := c.Flags()
	fl.StringP("output", "o", "", "disk image to write (required)")
	fl.String("name", "", "image name (seeds the GUIDs) (required)")
	fl.String("arch", string(recipe.ArchAMD64), "architecture: amd64 or arm64 (root partition types)")
	fl.String("esp", "", "ESP tree (required)")
	fl.Int64("esp-size", 0, "ESP size in MiB (default: from the content, at least 64)")
	fl.String("root", "", "folder `disk verity-root` wrote (required)")
	fl.String("work", "", "keep the ESP image in this directory")
	addEpochFlag(fl)
	for _, f := range []string{"output", "name", "esp", "root"} {
		_ = c.MarkFlagRequired(f)
	}
	return c
}

func newDiskStandardCmd(v *viper.Viper) *cobra.Command {
	c := &cobra.Command{
		Use:   "standard -o DISK --name NAME --kernel VMLINUZ --initrd INITRD [--rootfs-dir DIR | --rootfs IMG]",
		Short: "Build a GPT disk booted by GRUB (EFI and BIOS) with A/B root slots",
		Long: `Standard builds a GPT disk image: a BIOS boot partition holding GRUB's
core.img (boot.img goes into the MBR), an ESP with GRUB's EFI image,
grub.cfg, grubenv and each slot's kernel and initrd, and one root partition
per slot (root-a, root-b, ...). Slot a gets the root file system; the others
are left empty, the same size, for an updater to fill, unless --fill-slots
puts it into every slot. Every identifier is
derived from --name and the epoch, so the same inputs give the same bytes.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			str := v.GetString
			epoch, work, cleanup, err := epochAndWorkDir(v)
			if err != nil {
				return err
			}
			defer cleanup()

			rootImg := str("rootfs")
			if dir := str("rootfs-dir"); dir != "" {
				if rootImg != "" {
					return fmt.Errorf("--rootfs and --rootfs-dir are exclusive")
				}
				rootImg = filepath.Join(work, "root."+str("rootfs-type"))
				fs := disk.RootFS{Type: disk.FSType(str("rootfs-type")), Dir: dir, Epoch: epoch,
					UUID: disk.GUID(str("name"), epoch, "rootfs")}
				if err := fs.Build(cmd.Context(), rootImg); err != nil {
					return err
				}
			}
			rootMiB := v.GetInt64("root-size")
			rootSize := rootMiB * disk.MiB
			if rootImg != "" {
				st, err := os.Stat(rootImg)
				if err != nil {
					return fmt.Errorf("root file system: %w", err)
				}
				rootSize = max(rootSize, st.Size())
			}
			if rootSize == 0 {
				return fmt.Errorf("no root file system: give --rootfs, --rootfs-dir or --root-size")
			}
			spec := grubMenu(v)
			spec.Name, spec.Epoch, spec.Env = str("name"), epoch, grub.Env{}
			spec.Arch = recipe.Arch(str("arch"))
			spec.EFI = v.GetBool("efi")
			// BIOS boot is amd64's: on arm64 it is off unless asked for
			// (which the spec then refuses).
			spec.BIOS = v.GetBool("bios") && (spec.Arch == recipe.ArchAMD64 || v.IsSet("bios"))
			// GRUB's serial terminal is the PC's COM port; arm64 firmware
			// (AAVMF, U-Boot) already puts the EFI console on its UART.
			if spec.Arch == recipe.ArchARM64 && !v.IsSet("serial-speed") {
				spec.Serial = nil
			}
			spec.GrubLib, spec.GrubMkimage = str("grub-lib"), str("grub-mkimage")
			spec.ESPTree = str("esp-tree")
			fill := v.GetBool("fill-slots")
			for i := range spec.Slots {
				sl := &spec.Slots[i]
				sl.Kernel, sl.Initrd, sl.RootSize = str("kernel"), str("initrd"), rootSize
				if i == 0 || fill {
					sl.RootFS = rootImg
				}
			}
			out := str("output")
			res, err := standard.Build(cmd.Context(), spec, work, out)
			if err != nil {
				return err
			}
			return printPlan(cmd.OutOrStdout(), out, res.Plan, "ESP volume id "+res.ESPUUID)
		},
	}
	fl := c.Flags()
	fl.StringP("output", "o", "disk.img", "disk image to write")
	fl.String("name", "hadron", "image name (seeds the GUIDs)")
	addEpochFlag(fl)
	fl.String("kernel", "", "kernel image (bzImage)")
	fl.String("initrd", "", "initramfs (e.g. from `hadron dracut build`)")
	fl.String("rootfs", "", "root file system image for slot a")
	fl.String("rootfs-dir", "", "directory to pack as slot a's root file system")
	fl.String("rootfs-type", string(disk.EROFS), "file system for --rootfs-dir: erofs or squashfs")
	fl.Int64("root-size", 0, "root partition size in MiB (default: the root image's size)")
	fl.Bool("fill-slots", false, "write the root file system into every slot, not only the first")
	fl.String("grub-lib", "", "GRUB's platform files, holding x86_64-efi/ and i386-pc/ (default /usr/lib/grub)")
	fl.String("grub-mkimage", "", "grub-mkimage program that packs the GRUB images (default: grub-mkimage on $PATH)")
	fl.String("esp-tree", "", "also copy every file of the ESP into this (empty or new) directory")
	addGrubMenuFlags(fl)
	fl.String("arch", string(recipe.ArchAMD64), "architecture: amd64 or arm64 (GRUB platform, root partition type)")
	fl.Bool("efi", true, "install GRUB for UEFI (EFI/BOOT/BOOTX64.EFI, BOOTAA64.EFI on arm64)")
	fl.Bool("bios", true, "install GRUB for BIOS (MBR + BIOS boot partition; amd64 only)")
	fl.String("work", "", "keep intermediate files (GRUB images, ESP) in this directory")
	return c
}

func newDiskRPiCmd(v *viper.Viper) *cobra.Command {
	c := &cobra.Command{
		Use:   "rpi-boot -o BOOT.IMG --board pi4 --kernel IMAGE --firmware FILE... --dtb FILE...",
		Short: "Build a Raspberry Pi 4/5 boot partition (FAT32)",
		Long: `Rpi-boot writes config.txt (arm_64bit, kernel, initramfs, UART, [pi4]/[pi5]
sections) and cmdline.txt, and packs them with the firmware files, device
trees, overlays, kernel and initrd into a FAT32 partition image.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			str := v.GetString
			list := func(n string) []string { s := v.GetStringSlice(n); return s }
			epoch, work, cleanup, err := epochAndWorkDir(v)
			if err != nil {
				return err
			}
			defer cleanup()
			var boards []rpi.Board
			for _, b := range list("board") {
				boards = append(boards, rpi.Board(b))
			}
			uart := v.GetBool("uart")
			sizeMiB := v.GetInt64("size")
			p := rpi.Partition{
				Config: rpi.Config{Boards: boards, Kernel: "Image", Cmdline: str("cmdline"),
					EnableUART: uart, Extra: list("config")},
				Kernel: str("kernel"), Initrd: str("initrd"),
				Firmware: list("firmware"), DTBs: list("dtb"), Overlays: list("overlay"),
				Label: "HADRON-BOOT", VolumeID: disk.VolumeID(str("name"), epoch, "rpi-boot"),
				Size: sizeMiB * disk.MiB, Epoch: epoch,
			}
			if p.Initrd != "" {
				p.Config.Initramfs = "initrd.img"
			}
			for _, o := range p.Overlays {
				p.Config.Overlays = append(p.Config.Overlays, trimExt(filepath.Base(o)))
			}
			out := str("output")
			if err := p.Build(cmd.Context(), work, out); err != nil {
				return err
			}
			st, err := os.Stat(out)
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s: %d MiB, volume id %s\n", out, st.Size()/disk.MiB, disk.FormatVolumeID(p.VolumeID))
			return nil
		},
	}
	fl := c.Flags()
	fl.StringP("output", "o", "rpi-boot.img", "partition image to write")
	fl.String("name", "hadron-rpi", "image name (seeds the volume id)")
	addEpochFlag(fl)
	fl.StringArray("board", []string{"pi4", "pi5"}, "board section to write: pi4, pi5 (repeat)")
	fl.String("kernel", "", "arm64 kernel Image")
	fl.String("initrd", "", "initramfs")
	fl.StringArray("firmware", nil, "firmware file, e.g. start4.elf, fixup4.dat (repeat)")
	fl.StringArray("dtb", nil, "device tree, e.g. bcm2711-rpi-4-b.dtb (repeat)")
	fl.StringArray("overlay", nil, "device tree overlay .dtbo, enabled with dtoverlay= (repeat)")
	fl.StringArray("config", nil, "extra config.txt line for [all], key=value (repeat)")
	fl.String("cmdline", "console=serial0,115200 root=LABEL=hadron-root rootwait ro", "kernel command line (cmdline.txt)")
	fl.Bool("uart", true, "enable_uart=1")
	fl.Int64("size", 0, "partition size in MiB (default: from the content, at least 64)")
	fl.String("work", "", "keep config.txt and cmdline.txt in this directory")
	return c
}

func newDiskRPiImageCmd(v *viper.Viper) *cobra.Command {
	c := &cobra.Command{
		Use:   "rpi --name NAME --board pi5 --boot DIR --root DIR -o DISK",
		Short: "Build a Raspberry Pi disk: FAT32 boot partition and erofs root (MBR)",
		Long: `Rpi writes a Raspberry Pi disk image (an MBR, which the Pi 4 boot ROM and the
Pi 4/5 firmware read): the first partition a FAT32 file system holding the
tree under --boot, the second the tree under --root as erofs (owners kept).
The boot tree is checked first: config.txt and cmdline.txt, the kernel and
initramfs config.txt names, each --board's firmware files (Pi 4: start4.elf,
fixup4.dat) and its device tree, whose root must name the board's SoC. The
disk signature derives from --name and the epoch: the root partition is
root=PARTUUID=` + "`<signature>-02`" + ` on the kernel command line.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			epoch, work, cleanup, err := epochAndWorkDir(v)
			if err != nil {
				return err
			}
			defer cleanup()
			var boards []rpi.Board
			for _, b := range v.GetStringSlice("board") {
				boards = append(boards, rpi.Board(b))
			}
			str := v.GetString
			out := str("output")
			plan, err := rpi.BuildDisk(cmd.Context(), rpi.DiskSpec{Name: str("name"), Epoch: epoch, Boards: boards,
				BootDir: str("boot"), BootSize: v.GetInt64("boot-size") * disk.MiB, RootDir: str("root")}, work, out)
			if err != nil {
				return err
			}
			w := cmd.OutOrStdout()
			fmt.Fprintf(w, "%s: %d MiB, disk signature %08x\n", out, plan.Size/disk.MiB, plan.Signature)
			tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "#\tNAME\tSTART\tSIZE\tTYPE\tPARTUUID")
			for _, p := range plan.Partitions {
				fmt.Fprintf(tw, "%d\t%s\t%d\t%d MiB\t%#02x\t%s\n", p.Index, p.Name, p.Start,
					int64(p.Sectors)*disk.SectorSize/disk.MiB, p.Type, disk.MBRPartUUID(plan.Signature, p.Index))
			}
			return tw.Flush()
		},
	}
	fl := c.Flags()
	fl.StringP("output", "o", "", "disk image to write (required)")
	fl.String("name", "", "image name (seeds the disk signature and the file system ids) (required)")
	fl.StringArray("board", nil, "board the disk boots: pi4, pi5 (repeat; required)")
	fl.String("boot", "", "boot partition tree (required)")
	fl.Int64("boot-size", 0, "boot partition size in MiB (default: from the content, at least 64)")
	fl.String("root", "", "root file system tree (required)")
	fl.String("work", "", "keep the partition images in this directory")
	addEpochFlag(fl)
	for _, f := range []string{"output", "name", "board", "boot", "root"} {
		_ = c.MarkFlagRequired(f)
	}
	return c
}

func trimExt(name string) string {
	return name[:len(name)-len(filepath.Ext(name))]
}

// printPlan writes the partition table of a built image.
func printPlan(w io.Writer, path string, plan disk.Plan, note string) error {
	fmt.Fprintf(w, "%s: %d MiB, disk GUID %s, %s\n", path, plan.Size/disk.MiB, plan.GUID, note)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "#\tNAME\tSTART\tSIZE\tTYPE\tPARTUUID")
	for _, p := range plan.Partitions {
		fmt.Fprintf(tw, "%d\t%s\t%d\t%d MiB\t%s\t%s\n", p.Index, p.Name, p.Start,
			p.Sectors*disk.SectorSize/disk.MiB, p.Type, p.GUID)
	}
	return tw.Flush()
}
