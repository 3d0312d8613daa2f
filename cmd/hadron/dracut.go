package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

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
	fl.String("root", "PARTLABEL=root-a", "root= value baked into the initrd (empty: none, the boot loader names the root)")
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
		Use:   "build -o INITRD --kver RELEASE|--kver-file FILE --modules DIR [--sysroot ROOTFS] [--tool DRACUT]",
		Short: "Run dracut with Hadron's configuration against a kernel's modules",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			str := v.GetString
			epoch, err := requiredEpoch(v)
			if err != nil {
				return err
			}
			kver, err := kernelRelease(str("kver"), str("kver-file"))
			if err != nil {
				return err
			}
			modules := str("modules")
			if fi, err := os.Stat(filepath.Join(modules, kver)); err == nil && fi.IsDir() {
				modules = filepath.Join(modules, kver)
			}
			b := dracut.Build{Config: dracutConfig(v), Kver: kver, ModulesDir: modules,
				SysRoot: str("sysroot"), Epoch: epoch, Tool: str("tool")}
			return b.Run(cmd.Context(), str("output"))
		},
	}
	addDracutConfigFlags(c)
	fl := c.Flags()
	fl.StringP("output", "o", "initrd.img", "initrd to write")
	fl.String("kver", "", "kernel release (uname -r)")
	fl.String("modules", "", "the kernel's lib/modules/<kver> directory, or the lib/modules directory holding it")
	fl.String("kver-file", "", "file holding the kernel release (a kernel package's boot/kernel.release), instead of --kver")
	fl.String("sysroot", "", "root file system to take programs from (default /)")
	fl.String("tool", "", "the dracut program to run (default: dracut on PATH)")
	addEpochFlag(fl)
	c.MarkFlagsMutuallyExclusive("kver", "kver-file")
	c.MarkFlagsOneRequired("kver", "kver-file")
	_ = c.MarkFlagRequired("modules")
	return c
}

// kernelRelease is kver, or the one line of file when kver is empty.
func kernelRelease(kver, file string) (string, error) {
	if kver != "" {
		return kver, nil
	}
	b, err := os.ReadFile(file)
	if err != nil {
		return "", fmt.Errorf("kernel release: %w", err)
	}
	rel := strings.TrimSpace(string(b))
	if rel == "" || strings.ContainsAny(rel, "\n") {
		return "", fmt.Errorf("kernel release: %s must hold one line, the release (uname -r)", file)
	}
	return rel, nil
}
