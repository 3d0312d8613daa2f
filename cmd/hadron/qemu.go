package main

import (
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/diskfs/go-diskfs/partition/gpt"
	"github.com/spf13/cobra"
	"github.com/spf13/viper"

	"github.com/hadron-linux/hadron/bootchain/disk"
	"github.com/hadron-linux/hadron/bootchain/disk/trusted"
	"github.com/hadron-linux/hadron/internal/recipe"
	"github.com/hadron-linux/hadron/internal/vmrun"
)

func newQEMUCmd(v *viper.Viper) *cobra.Command {
	c := &cobra.Command{
		Use:   "qemu DISK|IMAGE [--arch amd64|arm64] [--secure-boot] [--tpm] [--snapshot]",
		Short: "Boot a built disk image in QEMU with UEFI firmware, the serial console on this terminal",
		Long: `Qemu boots DISK (e.g. from hadron build base-trusted/disk -o type=local,dest=out/disk)
on UEFI firmware: OVMF for amd64, AAVMF for arm64 (Debian's ovmf and
qemu-efi-aarch64), the disk's architecture (the type of its root
partition) unless --arch says otherwise. An image name instead of a file boots
out/disk/IMAGE/IMAGE.raw of the project tree, where make qemu IMAGE=...
builds it. The guest's serial console is this terminal: Ctrl-A X
quits QEMU, Ctrl-A C switches to its monitor.

--secure-boot uses the Secure Boot firmware with Debian's snakeoil keys
enrolled (/usr/share/ovmf/PkKek-1-snakeoil.key signs for its db); --vars
takes another variable store template, e.g. one with your own keys
enrolled. --tpm attaches a software TPM 2.0 (swtpm) with fresh state.
--snapshot leaves DISK unchanged. The firmware variables and the TPM's
state live in a temporary folder that is removed when QEMU exits or this
command is stopped. Software emulation (tcg) is the default; --accel kvm
where /dev/kvm works.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			disk, err := diskFile(v.GetString("dir"), args[0])
			if err != nil {
				return err
			}
			arch := recipe.Arch(v.GetString("arch"))
			if found, ok := diskArch(disk); ok && found != arch && !v.IsSet("arch") {
				fmt.Fprintf(cmd.ErrOrStderr(), "hadron qemu: %s holds an %s root partition: booting it as %s (--arch overrides)\n", disk, found, found)
				arch = found
			}
			return vmrun.Run(ctx, vmrun.Options{
				Disk:       disk,
				Arch:       arch,
				SecureBoot: v.GetBool("secure-boot"),
				TPM:        v.GetBool("tpm"),
				Snapshot:   v.GetBool("snapshot"),
				Vars:       v.GetString("vars"),
				MemoryMiB:  v.GetInt("memory"),
				CPUs:       v.GetInt("cpus"),
				Accel:      v.GetString("accel"),
			}, cmd.InOrStdin(), cmd.OutOrStdout(), cmd.ErrOrStderr())
		},
	}
	fl := c.Flags()
	fl.String("arch", string(recipe.ArchAMD64), "the disk's architecture: amd64 or arm64 (default: read from its root partition type, else amd64)")
	fl.Bool("secure-boot", false, "Secure Boot firmware with keys enrolled (Debian's snakeoil keys unless --vars)")
	fl.Bool("tpm", false, "attach a software TPM 2.0 (swtpm)")
	fl.Bool("snapshot", false, "do not write to DISK (writes go to a temporary overlay)")
	fl.String("vars", "", "UEFI variable store template to copy (default: the firmware's)")
	fl.Int("memory", 1024, "guest memory in MiB")
	fl.Int("cpus", 2, "virtual CPUs")
	fl.String("accel", "tcg", "QEMU accelerator: tcg (software, works everywhere) or kvm")
	return c
}

// diskFile is the disk image arg names: a file, or an image name whose
// disk `make qemu` writes to out/disk/IMAGE/IMAGE.raw below the tree.
func diskFile(tree, arg string) (string, error) {
	if st, err := os.Stat(arg); err == nil && st.Mode().IsRegular() {
		return arg, nil
	}
	if !recipe.ValidName(arg) {
		return "", fmt.Errorf("disk image %s: no such file", arg)
	}
	p := filepath.Join(tree, "out", "disk", arg, arg+".raw")
	if _, err := os.Stat(p); err == nil {
		return p, nil
	}
	return "", fmt.Errorf("no disk file %s and no %s: build the image's disk first, e.g. `make qemu IMAGE=%s`, "+
		"or hadron build %s/disk -o type=local,dest=out/disk/%s --secret id=db.key,src=... (docs/trusted-boot.md)", arg, p, arg, arg, arg)
}

// diskArch reads the architecture of a GPT disk image from the type of
// its root partitions (or their verity partitions): the Discoverable
// Partitions types that Hadron's standard and trusted disks use. It
// reports false for a disk without GPT (a Raspberry Pi card) or without
// such a partition.
func diskArch(path string) (recipe.Arch, bool) {
	f, err := os.Open(path)
	if err != nil {
		return "", false
	}
	defer f.Close()
	table, err := gpt.Read(f, disk.SectorSize, disk.SectorSize)
	if err != nil {
		return "", false
	}
	for _, p := range table.Partitions {
		for arch, types := range trusted.Types {
			if strings.EqualFold(string(p.Type), string(types.Root)) || strings.EqualFold(string(p.Type), string(types.Verity)) {
				return arch, true
			}
		}
	}
	return "", false
}
