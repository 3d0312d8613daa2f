package main

import (
	"github.com/hadron-linux/hadron/internal/imagesetup"
	"github.com/spf13/cobra"
)

func newImageSetupCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "image-setup",
		Short: "Apply sysusers.d, tmpfiles.d and the presets to the running root (an image build step)",
		Long: `Image-setup does at build time what systemd does on an image's first boot,
with the image's own tools: systemd-sysusers (each sysusers.d file named, so a
rejected line fails with its file and line), systemd-tmpfiles --create outside
/dev, /proc, /sys, /run and /tmp, and systemctl preset-all, all offline.

It is the step "<image>: systemd setup" of images holding systemd, whose root
file system is the assembled image; it is not meant to be run on a live system.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return imagesetup.Run(cmd.Context(), "/", cmd.OutOrStdout())
		},
	}
}
