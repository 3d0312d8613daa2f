package main

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"
	"github.com/spf13/viper"

	"github.com/hadron-linux/hadron/bootchain/secureboot"
)

func newSignCmd(v *viper.Viper) *cobra.Command {
	c := &cobra.Command{
		Use:   "sign --key KEY --cert CERT IN OUT",
		Short: "Authenticode-sign a PE/EFI binary for Secure Boot",
		Long: `Sign replaces any signature of IN with a SHA-256 Authenticode signature
made with KEY/CERT (PEM; KEY may be a BuildKit secret mount) and writes
OUT. Use it for systemd-boot, UKIs and other EFI applications.`,
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			key := v.GetString("key")
			cert := v.GetString("cert")
			kp, err := secureboot.LoadKeyPair(key, cert)
			if err != nil {
				return err
			}
			in, err := os.ReadFile(args[0])
			if err != nil {
				return fmt.Errorf("sign: %w", err)
			}
			out, err := secureboot.SignPE(in, kp)
			if err != nil {
				return fmt.Errorf("sign %s: %w", args[0], err)
			}
			if err := os.WriteFile(args[1], out, 0o644); err != nil {
				return fmt.Errorf("sign: %w", err)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s: signed by %q\n", args[1], kp.Cert.Subject.CommonName)
			return nil
		},
	}
	c.Flags().String("key", "", "private key (PEM) (required)")
	c.Flags().String("cert", "", "certificate (PEM or DER) (required)")
	_ = c.MarkFlagRequired("key")
	_ = c.MarkFlagRequired("cert")
	return c
}
