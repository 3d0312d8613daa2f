package main

import (
	"context"
	"fmt"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/viper"

	"github.com/hadron-linux/hadron/bootchain/ddi"
	"github.com/hadron-linux/hadron/bootchain/secureboot"
	"github.com/hadron-linux/hadron/internal/recipe"
)

func newSysextCmd(v *viper.Viper) *cobra.Command {
	build := &cobra.Command{
		Use:   "build --name NAME --arch ARCH --key KEY --cert CERT DIR OUT",
		Short: "Pack DIR's usr/ into a signed system extension image (DDI) at OUT",
		Long: `Build writes a Discoverable Disk Image that systemd-sysext merges: a GPT
with the usr partition (erofs when mkfs.erofs is on PATH, else squashfs;
--fs chooses), its dm-verity hash partition and a signature partition
holding the root hash signed with KEY/CERT (PKCS#7, detached). DIR must hold
usr/ only, with usr/lib/extension-release.d/extension-release.NAME; install
OUT as NAME.raw. Every time is --epoch (default $SOURCE_DATE_EPOCH), every
identifier comes from the content: the same tree and key give the same
bytes.`,
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			epoch, err := requiredEpoch(v)
			if err != nil {
				return err
			}
			arch := recipe.Arch(v.GetString("arch"))
			fs := ddi.FS(v.GetString("fs"))
			if fs == "auto" {
				fs = ddi.Auto
			}
			kp, err := secureboot.LoadKeyPair(v.GetString("key"), v.GetString("cert"))
			if err != nil {
				return fmt.Errorf("sysext build: %w", err)
			}
			start := time.Now()
			res, err := ddi.Build(context.Background(), args[1], ddi.Options{
				Name: v.GetString("name"), Arch: arch, Dir: args[0], FS: fs, Epoch: epoch, Signer: kp,
			})
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s: %s, %d bytes, root hash %s, signed by %q (%s)\n",
				args[1], res.FS, res.Size, res.RootHashHex(), kp.Cert.Subject.CommonName, time.Since(start).Round(time.Millisecond))
			return nil
		},
	}
	build.Flags().String("name", "", "extension name: OUT is installed as NAME.raw (required)")
	build.Flags().String("arch", "", "architecture: amd64 or arm64 (required)")
	build.Flags().String("fs", "auto", "usr file system: auto, erofs or squashfs")
	build.Flags().String("key", "", "private key signing the root hash (PEM) (required)")
	build.Flags().String("cert", "", "its certificate (PEM or DER) (required)")
	addEpochFlag(build.Flags())
	for _, f := range []string{"name", "arch", "key", "cert"} {
		_ = build.MarkFlagRequired(f)
	}

	verify := &cobra.Command{
		Use:   "verify --arch ARCH --cert CERT IMAGE",
		Short: "Check a system extension image's signature and dm-verity hash tree",
		Long: `Verify checks what systemd checks before merging IMAGE: the signature
partition's PKCS#7 over the root hash by CERT, and the usr partition's hash
tree (every block is read) against that root hash.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			cert, err := secureboot.LoadCert(v.GetString("cert"))
			if err != nil {
				return fmt.Errorf("sysext verify: %w", err)
			}
			root, err := ddi.Verify(args[0], recipe.Arch(v.GetString("arch")), cert)
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s: root hash %x, signed by %q\n", args[0], root, cert.Subject.CommonName)
			return nil
		},
	}
	verify.Flags().String("arch", "", "architecture: amd64 or arm64 (required)")
	verify.Flags().String("cert", "", "certificate the signature must be made with (PEM or DER) (required)")
	_ = verify.MarkFlagRequired("arch")
	_ = verify.MarkFlagRequired("cert")
	return groupCmd("sysext", "Build and check signed system extension images", build, verify)
}
