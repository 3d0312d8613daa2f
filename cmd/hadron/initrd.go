package main

import (
	"bufio"
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"
	"github.com/spf13/viper"

	"github.com/hadron-linux/hadron/bootchain/initrd"
)

func newInitrdCmd(v *viper.Viper) *cobra.Command {
	pack := &cobra.Command{
		Use:   "pack DIR OUT",
		Short: "Pack the tree under DIR into a newc cpio archive (optionally gzip) at OUT",
		Long: `Pack writes every file, directory, symlink and device node under DIR
into a newc cpio archive: paths relative to DIR, sorted, owners 0:0, every
mtime = --epoch (default $SOURCE_DATE_EPOCH, else 0), so the same tree
always gives the same bytes. It is how a boot target turns an image's root
filesystem into its initramfs inside BuildKit.`,
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			gz := v.GetBool("gzip")
			epoch, _, err := epochSetting(v) // no epoch: 0
			if err != nil {
				return err
			}
			entries, err := initrd.ReadDir(args[0])
			if err != nil {
				return err
			}
			f, err := os.Create(args[1])
			if err != nil {
				return fmt.Errorf("initrd pack: %w", err)
			}
			bw := bufio.NewWriterSize(f, 1<<20)
			write := initrd.Write
			if gz {
				write = initrd.WriteGzip
			}
			if err := write(bw, entries, epoch); err != nil {
				f.Close()
				return fmt.Errorf("initrd pack %s: %w", args[0], err)
			}
			if err := bw.Flush(); err != nil {
				f.Close()
				return fmt.Errorf("initrd pack: %w", err)
			}
			if err := f.Close(); err != nil {
				return fmt.Errorf("initrd pack: %w", err)
			}
			return reportInitrd(cmd.OutOrStdout(), args[1], len(entries))
		},
	}
	pack.Flags().Bool("gzip", false, "gzip-compress the archive (deterministic header)")
	pack.Flags().Int64("epoch", 0, "mtime of every entry (default: $SOURCE_DATE_EPOCH, else 0)")
	return groupCmd("initrd", "Pack directories into reproducible initramfs archives", pack)
}

func reportInitrd(w io.Writer, out string, n int) error {
	st, err := os.Stat(out)
	if err != nil {
		return fmt.Errorf("initrd pack: %w", err)
	}
	fmt.Fprintf(w, "%s: %d entries, %d bytes\n", out, n, st.Size())
	return nil
}
