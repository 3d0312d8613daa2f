package main

import (
	"fmt"

	"github.com/spf13/cobra"
	"github.com/spf13/viper"

	"github.com/hadron-linux/hadron/bootchain/secureboot"
)

func newKeysCmd(v *viper.Viper) *cobra.Command {
	gen := &cobra.Command{
		Use:   "generate DIR",
		Short: "Create PK, KEK, db and PCR keys with their certificates, ESLs and .auth files",
		Long: `Generate writes into DIR (created 0700): PK, KEK and db self-signed
certificates (.crt) and keys (.key, 0600), the PCR policy key (pcr.key,
pcr.pub.pem), EFI signature lists (.esl) and signed variable updates
(.auth) that firmware in setup mode, or systemd-boot's secure-boot-enroll
from /loader/keys/<name>/, can enroll. Existing keys are never overwritten.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			cn := v.GetString("name")
			if err := secureboot.Generate(args[0], secureboot.GenerateOptions{CommonName: cn}); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "keys written to %s\n", args[0])
			return nil
		},
	}
	gen.Flags().String("name", "Hadron", "common name prefix of the certificates")
	return groupCmd("keys", "Manage Secure Boot and PCR signing keys", gen)
}
