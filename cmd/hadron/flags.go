package main

import (
	"fmt"
	"os"
	"strconv"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"github.com/spf13/viper"
)

// groupCmd returns a command that only holds subcommands, such as
// `hadron disk` for `hadron disk standard` and `hadron disk rpi-boot`.
func groupCmd(use, short string, subs ...*cobra.Command) *cobra.Command {
	c := &cobra.Command{Use: use, Short: short}
	c.AddCommand(subs...)
	return c
}

// addEpochFlag adds --epoch, read by epochFlag.
func addEpochFlag(fl *pflag.FlagSet) {
	fl.Int64("epoch", 0, "SOURCE_DATE_EPOCH (default: $SOURCE_DATE_EPOCH)")
}

// epochSetting returns the epoch setting (--epoch, HADRON_EPOCH), or
// SOURCE_DATE_EPOCH when neither is given; ok is false when none is.
func epochSetting(v *viper.Viper) (epoch int64, ok bool, err error) {
	name, s := "--epoch", v.GetString("epoch")
	if !v.IsSet("epoch") {
		name, s = "SOURCE_DATE_EPOCH", os.Getenv("SOURCE_DATE_EPOCH")
		if s == "" {
			return 0, false, nil
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 {
		return 0, false, fmt.Errorf("%s=%q: want a non-negative Unix time", name, s)
	}
	return n, true, nil
}

// requiredEpoch is epochSetting for commands that cannot do without one.
func requiredEpoch(v *viper.Viper) (int64, error) {
	n, ok, err := epochSetting(v)
	if err == nil && !ok {
		err = fmt.Errorf("set --epoch or SOURCE_DATE_EPOCH: images are stamped with it")
	}
	return n, err
}

// workDir returns --work (created) or a temporary directory and its cleanup.
func workDir(v *viper.Viper) (string, func(), error) {
	if w := v.GetString("work"); w != "" {
		if err := os.MkdirAll(w, 0o755); err != nil {
			return "", nil, fmt.Errorf("--work: %w", err)
		}
		return w, func() {}, nil
	}
	w, err := os.MkdirTemp("", "hadron-disk-")
	if err != nil {
		return "", nil, err
	}
	return w, func() { os.RemoveAll(w) }, nil
}

// epochAndWorkDir reads what every image builder needs first: the epoch
// (see requiredEpoch) and the work directory with its cleanup (see workDir).
func epochAndWorkDir(v *viper.Viper) (epoch int64, work string, cleanup func(), err error) {
	if epoch, err = requiredEpoch(v); err != nil {
		return 0, "", nil, err
	}
	work, cleanup, err = workDir(v)
	return epoch, work, cleanup, err
}
