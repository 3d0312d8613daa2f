package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"text/tabwriter"

	"github.com/spf13/cobra"
	"github.com/spf13/viper"

	"github.com/hadron-linux/hadron/bootchain/secureboot"
	"github.com/hadron-linux/hadron/bootchain/uki"
)

// defaultStub is where Debian's systemd-boot-efi package puts systemd-stub.
const defaultStub = "/usr/lib/systemd/boot/efi/linuxx64.efi.stub"

func newUKICmd(_ *viper.Viper) *cobra.Command {
	return groupCmd("uki", "Build and inspect Unified Kernel Images", newUKIBuildCmd(), newUKIInspectCmd())
}

func newUKIBuildCmd() *cobra.Command {
	c := &cobra.Command{
		Use:   "build -o OUT --kernel VMLINUZ [--initrd FILE]...",
		Short: "Assemble a UKI from systemd-stub, kernel, initrds, command line and os-release",
		Long: `Build appends the kernel, initrds (concatenated), command line, os-release,
uname, SBAT, splash and device tree to systemd-stub as PE sections. With
--pcr-key the PCR 11 values for the boot phases are predicted, signed and
embedded (.pcrsig, .pcrpkey). With --sign-key/--sign-cert the result is
Authenticode-signed for Secure Boot. Key paths may be BuildKit secret mounts
(/run/secrets/...); key material never appears in output or errors.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			fl := cmd.Flags()
			str := stringFlags(fl)
			read := func(flag string) ([]byte, error) {
				p := str(flag)
				if p == "" {
					return nil, nil
				}
				b, err := os.ReadFile(p)
				if err != nil {
					return nil, fmt.Errorf("--%s: %w", flag, err)
				}
				return b, nil
			}
			cfg := uki.Config{Cmdline: str("cmdline"), Uname: str("uname")}
			var err error
			if cfg.Stub, err = read("stub"); err != nil {
				return err
			}
			if cfg.Kernel, err = read("kernel"); err != nil {
				return err
			}
			initrds, _ := fl.GetStringArray("initrd")
			for _, p := range initrds {
				b, err := os.ReadFile(p)
				if err != nil {
					return fmt.Errorf("--initrd: %w", err)
				}
				cfg.Initrds = append(cfg.Initrds, b)
			}
			if f := str("cmdline-file"); f != "" {
				b, err := os.ReadFile(f)
				if err != nil {
					return fmt.Errorf("--cmdline-file: %w", err)
				}
				cfg.Cmdline = string(b)
			}
			if cfg.OSRelease, err = read("os-release"); err != nil {
				return err
			}
			sbat, err := read("sbat")
			if err != nil {
				return err
			}
			cfg.SBAT = string(sbat)
			if cfg.Splash, err = read("splash"); err != nil {
				return err
			}
			if cfg.DTB, err = read("dtb"); err != nil {
				return err
			}
			if p := str("pcr-key"); p != "" {
				if cfg.PCRKey, err = secureboot.LoadKey(p); err != nil {
					return err
				}
			}
			if fl.Changed("phase") {
				cfg.Phases, _ = fl.GetStringArray("phase")
			}
			var signer *secureboot.KeyPair
			if k, crt := str("sign-key"), str("sign-cert"); k != "" || crt != "" {
				if k == "" || crt == "" {
					return fmt.Errorf("--sign-key and --sign-cert go together")
				}
				if signer, err = secureboot.LoadKeyPair(k, crt); err != nil {
					return err
				}
			}
			res, err := uki.Build(cfg)
			if err != nil {
				return err
			}
			img := res.Image
			if signer != nil {
				if img, err = secureboot.SignPE(img, signer); err != nil {
					return err
				}
			}
			out := str("output")
			if err := os.WriteFile(out, img, 0o644); err != nil {
				return fmt.Errorf("write UKI: %w", err)
			}
			w := cmd.OutOrStdout()
			fmt.Fprintf(w, "%s: %d bytes (%s), signed: %v\n", out, len(img), res.Profile.Name, signer != nil)
			fmt.Fprintf(w, "pcr11 %s (after systemd-stub)\n", res.PCR11)
			for _, p := range res.Predictions {
				fmt.Fprintf(w, "pcr11 %s %s\n", p.PCR, p.Phase)
			}
			return nil
		},
	}
	fl := c.Flags()
	fl.StringP("output", "o", "", "output UKI file (required)")
	fl.String("stub", defaultStub, "systemd-stub EFI binary")
	fl.String("kernel", "", "kernel image (EFI stub bzImage/Image) (required)")
	fl.StringArray("initrd", nil, "initrd, repeatable; concatenated in order")
	fl.String("cmdline", "", "kernel command line")
	fl.String("cmdline-file", "", "file holding the kernel command line")
	fl.String("os-release", "", "os-release file for .osrel")
	fl.String("uname", "", "kernel release for .uname")
	fl.String("sbat", "", "file with SBAT CSV lines added to the stub's")
	fl.String("splash", "", "BMP splash image")
	fl.String("dtb", "", "device tree blob")
	fl.String("pcr-key", "", "RSA private key signing the PCR 11 policy (.pcrsig/.pcrpkey)")
	fl.StringArray("phase", nil, "boot phase to sign for, repeatable (default: systemd-measure's four)")
	fl.String("sign-key", "", "Secure Boot db private key for Authenticode signing")
	fl.String("sign-cert", "", "certificate of --sign-key")
	_ = c.MarkFlagRequired("output")
	_ = c.MarkFlagRequired("kernel")
	return c
}

func newUKIInspectCmd() *cobra.Command {
	c := &cobra.Command{
		Use:   "inspect UKI",
		Short: "List a UKI's sections with sizes and SHA-256, and predict its PCR 11 values",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			b, err := os.ReadFile(args[0])
			if err != nil {
				return fmt.Errorf("inspect: %w", err)
			}
			info, err := uki.Inspect(b)
			if err != nil {
				return err
			}
			if asJSON, _ := cmd.Flags().GetBool("json"); asJSON {
				enc := json.NewEncoder(cmd.OutOrStdout())
				enc.SetIndent("", "  ")
				return enc.Encode(info)
			}
			printInfo(cmd.OutOrStdout(), info)
			return nil
		},
	}
	c.Flags().Bool("json", false, "print JSON")
	return c
}

func printInfo(w io.Writer, info *uki.Info) {
	fmt.Fprintf(w, "stub:     %s (%s)\n", info.Stub, info.Profile)
	fmt.Fprintf(w, "signed:   %v\npcrsig:   %s\n\n", info.Signed, info.PCRSig)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "SECTION\tRVA\tSIZE\tFILE OFFSET\tMEASURED\tSHA256")
	for _, s := range info.Sections {
		m := ""
		if s.Measured {
			m = "pcr11"
		}
		fmt.Fprintf(tw, "%s\t%#x\t%d\t%#x\t%s\t%s\n", s.Name, s.VirtualAddress, s.VirtualSize, s.FileOffset, m, s.SHA256)
	}
	_ = tw.Flush()
	fmt.Fprintf(w, "\npcr11 %s (after systemd-stub)\n", info.PCR11)
	for _, p := range info.Phases {
		signed := "unsigned"
		if p.Signed {
			signed = "signed"
		}
		fmt.Fprintf(w, "pcr11 %s %s (%s)\n", p.PCR11, p.Phase, signed)
	}
}
