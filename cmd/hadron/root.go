package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/viper"
)

// newRootCmd builds the command tree. Each subcommand lives in its own file
// as new<Name>Cmd(v *viper.Viper) and is added here.
func newRootCmd() *cobra.Command {
	v := viper.New()
	root := &cobra.Command{
		Use:           "hadron",
		Short:         "Build the Hadron Linux distribution with BuildKit",
		SilenceUsage:  true,
		SilenceErrors: true,
		PersistentPreRunE: func(cmd *cobra.Command, _ []string) error {
			return loadConfig(v, cmd)
		},
	}
	root.PersistentFlags().String("config", "", "config file (default: ./hadron.yaml when present)")
	root.PersistentFlags().StringP("dir", "C", ".", "project tree root (recipes/, images/, vendor-hashes/)")
	_ = v.BindPFlag("dir", root.PersistentFlags().Lookup("dir"))

	for _, c := range []*cobra.Command{
		// subcommands: keep one per line
		newValidateCmd(v),
		newELFCheckCmd(v),
		newGraphCmd(v),
		newHashesCmd(v),
		newBuildCmd(v),
		newPlanCmd(v),
		newEngineCmd(v),
		newBumpCmd(v),
		newUKICmd(v),
		newKeysCmd(v),
		newSignCmd(v),
		newDiskCmd(v),
		newGrubCmd(v),
		newDracutCmd(v),
		newInitrdCmd(v),
		newKernelCmd(v),
	} {
		root.AddCommand(c)
	}
	return root
}

// loadConfig reads hadron.yaml (or --config), HADRON_* environment variables
// and the command's flags into v. Flags win over environment, environment
// over the file.
func loadConfig(v *viper.Viper, cmd *cobra.Command) error {
	v.SetEnvPrefix("HADRON")
	v.SetEnvKeyReplacer(strings.NewReplacer("-", "_", ".", "_"))
	v.AutomaticEnv()
	if err := v.BindPFlags(cmd.Flags()); err != nil {
		return err
	}
	cfg, _ := cmd.Flags().GetString("config")
	if cfg == "" {
		cfg = os.Getenv("HADRON_CONFIG")
	}
	if cfg != "" {
		v.SetConfigFile(cfg)
		return v.ReadInConfig()
	}
	// Only hadron.yaml, never an extension-less "hadron" (the binary
	// itself may sit next to it).
	p := filepath.Join(v.GetString("dir"), "hadron.yaml")
	if _, err := os.Stat(p); err != nil {
		return nil
	}
	v.SetConfigFile(p)
	if err := v.ReadInConfig(); err != nil {
		return fmt.Errorf("%s: %w", p, err)
	}
	return nil
}
