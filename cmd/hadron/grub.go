package main

import (
	"fmt"
	"os"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"github.com/spf13/viper"

	"github.com/hadron-linux/hadron/bootchain/disk/standard"
	"github.com/hadron-linux/hadron/bootchain/grub"
)

func newGrubCmd(v *viper.Viper) *cobra.Command {
	return groupCmd("grub", "Generate GRUB configuration, grubenv and GRUB images",
		newGrubConfigCmd(v), newGrubEnvCmd(v), newGrubMkimageCmd(v))
}

func newGrubConfigCmd(v *viper.Viper) *cobra.Command {
	c := &cobra.Command{
		Use:   "config",
		Short: "Print the A/B grub.cfg used by `hadron disk standard`",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			spec := grubMenu(v)
			cfg, err := spec.GrubConfig().Render()
			if err != nil {
				return err
			}
			_, err = cmd.OutOrStdout().Write(cfg)
			return err
		},
	}
	addGrubMenuFlags(c.Flags())
	return c
}

// addGrubMenuFlags adds the flags of the A/B boot menu that grubMenu reads.
func addGrubMenuFlags(fl *pflag.FlagSet) {
	fl.StringSlice("slots", []string{"a", "b"}, "A/B slot names")
	fl.String("default", "", "default slot (default: the first)")
	fl.String("cmdline", "console=ttyS0,115200", "kernel command line after root=PARTLABEL=root-<slot> ro")
	fl.Int("timeout", 3, "GRUB menu timeout in seconds")
	fl.Int("serial-speed", 115200, "GRUB serial console speed on ttyS0 (0: no serial; disk standard --arch arm64: none unless given, the EFI console is the UART)")
}

// grubMenu returns the boot menu part of a standard disk from the flags of
// addGrubMenuFlags: default slot, timeout, serial console, and one slot per
// --slots name booting with --cmdline.
func grubMenu(v *viper.Viper) standard.Spec {
	slots := v.GetStringSlice("slots")
	def := v.GetString("default")
	cmdline := v.GetString("cmdline")
	timeout := v.GetInt("timeout")
	speed := v.GetInt("serial-speed")
	spec := standard.Spec{Default: def, Timeout: timeout}
	if speed > 0 {
		spec.Serial = &grub.Serial{Unit: 0, Speed: speed}
	}
	for _, s := range slots {
		spec.Slots = append(spec.Slots, standard.Slot{Name: s, Cmdline: cmdline})
	}
	return spec
}

func newGrubEnvCmd(v *viper.Viper) *cobra.Command {
	c := &cobra.Command{
		Use:   "env -o GRUBENV [NAME=VALUE]...",
		Short: "Write a grubenv block (e.g. saved_entry=hadron-a next_entry=hadron-b)",
		RunE: func(cmd *cobra.Command, args []string) error {
			env := grub.Env{}
			for _, a := range args {
				k, v, ok := strings.Cut(a, "=")
				if !ok {
					return fmt.Errorf("%q: want NAME=VALUE", a)
				}
				env[k] = v
			}
			block, err := env.Encode()
			if err != nil {
				return err
			}
			out := v.GetString("output")
			return os.WriteFile(out, block, 0o644)
		},
	}
	c.Flags().StringP("output", "o", "grubenv", "file to write")
	return c
}

func newGrubMkimageCmd(v *viper.Viper) *cobra.Command {
	c := &cobra.Command{
		Use:   "mkimage -o OUT --platform x86_64-efi|i386-pc|arm64-efi --esp-uuid XXXX-XXXX",
		Short: "Build a GRUB image that finds its boot partition by file system UUID",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			str := v.GetString
			early, err := grub.EarlyConfig(str("esp-uuid"), str("prefix"))
			if err != nil {
				return err
			}
			im := grub.Image{Platform: grub.Platform(str("platform")), Prefix: str("prefix"),
				EarlyConfig: early, ModuleDir: str("module-dir")}
			if mods := v.GetStringSlice("modules"); len(mods) > 0 {
				im.Modules = mods
			}
			return im.Build(cmd.Context(), str("output"))
		},
	}
	fl := c.Flags()
	fl.StringP("output", "o", "", "image to write")
	fl.String("platform", string(grub.EFIx64), "x86_64-efi, arm64-efi or i386-pc")
	fl.String("esp-uuid", "", "file system UUID of the boot partition (FAT: XXXX-XXXX)")
	fl.String("prefix", "/grub", "directory of grub.cfg on that partition")
	fl.String("module-dir", "", "GRUB module directory (default /usr/lib/grub/<platform>)")
	fl.StringSlice("modules", nil, "modules to embed (default: Hadron's set)")
	_ = c.MarkFlagRequired("output")
	_ = c.MarkFlagRequired("esp-uuid")
	return c
}
