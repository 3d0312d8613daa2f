package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/hadron-linux/hadron/internal/config"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"github.com/spf13/viper"
)

// newRootCmd builds the command tree. Each subcommand lives in its own file
// as new<Name>Cmd(v *viper.Viper) and is added here.
func newRootCmd() *cobra.Command {
	return newRootCmdWith(viper.New())
}

// newRootCmdWith is newRootCmd reading settings into v.
func newRootCmdWith(v *viper.Viper) *cobra.Command {
	root := &cobra.Command{
		Use:           "hadron",
		Short:         "Build the Hadron Linux distribution with BuildKit",
		SilenceUsage:  true,
		SilenceErrors: true,
		PersistentPreRunE: func(cmd *cobra.Command, _ []string) error {
			_, err := loadConfig(v, cmd)
			return err
		},
	}
	root.PersistentFlags().String("config", "", "config file (default: ./hadron.yaml when present)")
	root.PersistentFlags().StringP("dir", "C", ".", "project tree root (recipes/, images/, vendor-hashes/)")
	_ = v.BindPFlag("dir", root.PersistentFlags().Lookup("dir"))

	for _, c := range []*cobra.Command{
		// subcommands: keep one per line
		newValidateCmd(v),
		newELFCheckCmd(v),
		newImageSetupCmd(),
		newGraphCmd(v),
		newHashesCmd(v),
		newBuildCmd(v),
		newReproCheckCmd(v),
		newReproDiffCmd(v),
		newPlanCmd(v),
		newSBOMCmd(v),
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
		newSysextCmd(v),
		newQEMUCmd(v),
	} {
		root.AddCommand(c)
	}
	return root
}

// loadConfig makes v the one place every command reads its settings
// from: the command's flags, HADRON_* environment variables and hadron.yaml
// (or --config / HADRON_CONFIG). A flag given on the command line wins over
// the environment, the environment over the file, the file over the flag's
// default. The file is decoded strictly (internal/config) before anything
// runs: its problems come back as one errlist.List of file:line messages.
func loadConfig(v *viper.Viper, cmd *cobra.Command) (*config.File, error) {
	v.SetEnvPrefix("HADRON")
	v.SetEnvKeyReplacer(strings.NewReplacer("-", "_", ".", "_"))
	v.AutomaticEnv()
	if err := v.BindPFlags(cmd.Flags()); err != nil {
		return nil, err
	}
	p := v.GetString("config")
	if p == "" {
		// Only hadron.yaml, never an extension-less "hadron" (the binary
		// itself may sit next to it).
		p = filepath.Join(v.GetString("dir"), config.FileName)
		if _, err := os.Stat(p); err != nil {
			return nil, nil
		}
	}
	f, err := config.Load(p)
	if f == nil {
		return nil, err
	}
	if mergeErr := v.MergeConfigMap(fileSettingsFor(f, cmd.Flags())); mergeErr != nil {
		return f, fmt.Errorf("%s: %w", p, mergeErr)
	}
	return f, err
}

// fileSettingsFor returns the values of f that apply to a command with the
// flags fl. A key that names a flag of another kind is left out: bump's
// `timeout: 20m` is no GRUB menu timeout in seconds (`grub config
// --timeout`), and `platform: [linux/arm64]` is no GRUB platform
// (`grub mkimage --platform`).
func fileSettingsFor(f *config.File, fl *pflag.FlagSet) map[string]any {
	values := f.Values()
	for key, val := range values {
		flag := fl.Lookup(key)
		if flag != nil && !sameKind(val, flag.Value.Type()) {
			delete(values, key)
		}
	}
	return values
}

// sameKind reports whether a hadron.yaml value can stand for a flag of
// pflag type flagType.
func sameKind(val any, flagType string) bool {
	switch val.(type) {
	case string:
		return flagType == "string" || flagType == "duration"
	case []string:
		return flagType == "stringSlice" || flagType == "stringArray"
	case int, int64:
		return flagType == "int" || flagType == "int64"
	case bool:
		return flagType == "bool"
	}
	return true
}
