package main

import (
	"fmt"
	"os"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/viper"

	"github.com/hadron-linux/hadron/bootchain/disk/standard"
	"github.com/hadron-linux/hadron/bootchain/grub"
)

func newGrubCmd(_ *viper.Viper) *cobra.Command {
	c := &cobra.Command{
		Use:   "grub",
		Short: "Generate GRUB configuration, grubenv and GRUB images",
	}
	c.AddCommand(newGrubConfigCmd(), newGrubEnvCmd(), newGrubMkimageCmd())
	return c
}

func newGrubConfigCmd() *cobra.Command {
	c := &cobra.Command{
		Use:   "config",
		Short: "Print the A/B grub.cfg used by `hadron disk standard`",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			fl := cmd.Flags()
			slots, _ := fl.GetStringSlice("slots")
			def, _ := fl.GetString("default")
			cmdline, _ := fl.GetString("cmdline")
			timeout, _ := fl.GetInt("timeout")
			speed, _ := fl.GetInt("serial-speed")
			spec := standard.Spec{Default: def, Timeout: timeout}
			if speed > 0 {
				spec.Serial = &grub.Serial{Unit: 0, Speed: speed}
			}
			for _, s := range slots {
				spec.Slots = append(spec.Slots, standard.Slot{Name: s, Cmdline: cmdline})
			}
			cfg, err := spec.GrubConfig().Render()
			if err != nil {
				return err
			}
			_, err = cmd.OutOrStdout().Write(cfg)
			return err
		},
	}
	fl := c.Flags()
	fl.StringSlice("slots", []string{"a", "b"}, "A/B slot names")
	fl.String("default", "", "default slot (default: the first)")
	fl.String("cmdline", "console=ttyS0,115200", "kernel command line after root=PARTLABEL=root-<slot> ro")
	fl.Int("timeout", 3, "menu timeout in seconds")
	fl.Int("serial-speed", 115200, "serial console speed on ttyS0 (0: none)")
	return c
}

func newGrubEnvCmd() *cobra.Command {
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
			out, _ := cmd.Flags().GetString("output")
			return os.WriteFile(out, block, 0o644)
		},
	}
	c.Flags().StringP("output", "o", "grubenv", "file to write")
	return c
}

func newGrubMkimageCmd() *cobra.Command {
	c := &cobra.Command{
		Use:   "mkimage -o OUT --platform x86_64-efi|i386-pc|arm64-efi --esp-uuid XXXX-XXXX",
		Short: "Build a GRUB image that finds its boot partition by file system UUID",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			fl := cmd.Flags()
			str := func(n string) string { s, _ := fl.GetString(n); return s }
			early, err := grub.EarlyConfig(str("esp-uuid"), str("prefix"))
			if err != nil {
				return err
			}
			im := grub.Image{Platform: grub.Platform(str("platform")), Prefix: str("prefix"),
				EarlyConfig: early, ModuleDir: str("module-dir")}
			if mods, _ := fl.GetStringSlice("modules"); len(mods) > 0 {
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
