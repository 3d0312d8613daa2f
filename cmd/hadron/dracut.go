package main

import (
	"github.com/spf13/cobra"
	"github.com/spf13/viper"

	"github.com/hadron-linux/hadron/bootchain/dracut"
)

func newDracutCmd(v *viper.Viper) *cobra.Command {
	return groupCmd("dracut", "Generate Hadron's dracut configuration and build initrds with it",
		newDracutConfigCmd(v), newDracutBuildCmd(v))
}

func dracutConfig(v *viper.Viper) dracut.Config {
	root := v.GetString("root")
	cfg := dracut.Default(root)
	cfg.Compress = v.GetString("compress")
	if d := v.GetStringSlice("drivers"); len(d) > 0 {
		cfg.AddDrivers = d
	}
	return cfg
}

func addDracutConfigFlags(c *cobra.Command) {
	fl := c.Flags()
	fl.String("root", "PARTLABEL=root-a", "root= value baked into the initrd")
	fl.String("compress", "zstd", "compressor: zstd, gzip, xz, lz4, cat")
	fl.StringSlice("drivers", nil, "kernel modules to add (default: Hadron's storage drivers)")
}

func newDracutConfigCmd(v *viper.Viper) *cobra.Command {
	c := &cobra.Command{
		Use:   "config",
		Short: "Print the dracut.conf.d drop-in (" + dracut.ConfName + ")",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			b, err := dracutConfig(v).Render()
			if err != nil {
				return err
			}
			_, err = cmd.OutOrStdout().Write(b)
			return err
		},
	}
	addDracutConfigFlags(c)
	return c
}

func newDracutBuildCmd(v *viper.Viper) *cobra.Command {
	c := &cobra.Command{
		Use:   "build -o INITRD --kver RELEASE --modules DIR [--sysroot ROOTFS]",
		Short: "Run dracut with Hadron's configuration against a kernel's modules",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			str := v.GetString
			epoch, err := requiredEpoch(v)
			if err != nil {
				return err
			}
			b := dracut.Build{Config: dracutConfig(v), Kver: str("kver"), ModulesDir: str("modules"),
				SysRoot: str("sysroot"), Epoch: epoch}
			return b.Run(cmd.Context(), str("output"))
		},
	}
	addDracutConfigFlags(c)
	fl := c.Flags()
	fl.StringP("output", "o", "initrd.img", "initrd to write")
	fl.String("kver", "", "kernel release (uname -r)")
	fl.String("modules", "", "the kernel's lib/modules/<kver> directory")
	fl.String("sysroot", "", "root file system to take programs from (default /)")
	addEpochFlag(fl)
	_ = c.MarkFlagRequired("kver")
	_ = c.MarkFlagRequired("modules")
	return c
}
