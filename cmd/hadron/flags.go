package main

import (
	"fmt"
	"os"
	"strconv"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// groupCmd returns a command that only holds subcommands, such as
// `hadron disk` for `hadron disk standard` and `hadron disk rpi-boot`.
func groupCmd(use, short string, subs ...*cobra.Command) *cobra.Command {
	c := &cobra.Command{Use: use, Short: short}
	c.AddCommand(subs...)
	return c
}

// stringFlags returns a getter for the string flags of fl; a flag that is
// not defined, or not a string, reads as "".
func stringFlags(fl *pflag.FlagSet) func(name string) string {
	return func(name string) string {
		s, _ := fl.GetString(name)
		return s
	}
}

// addEpochFlag adds --epoch, read by epochFlag.
func addEpochFlag(fl *pflag.FlagSet) {
	fl.Int64("epoch", 0, "SOURCE_DATE_EPOCH (default: $SOURCE_DATE_EPOCH)")
}

// epochFlag returns --epoch, or SOURCE_DATE_EPOCH when the flag is unset.
func epochFlag(fl *pflag.FlagSet) (int64, error) {
	if fl.Changed("epoch") {
		return fl.GetInt64("epoch")
	}
	s := os.Getenv("SOURCE_DATE_EPOCH")
	if s == "" {
		return 0, fmt.Errorf("set --epoch or SOURCE_DATE_EPOCH: images are stamped with it")
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("SOURCE_DATE_EPOCH=%q: %w", s, err)
	}
	return n, nil
}

// workDir returns --work (created) or a temporary directory and its cleanup.
func workDir(fl *pflag.FlagSet) (string, func(), error) {
	if w, _ := fl.GetString("work"); w != "" {
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
// (see epochFlag) and the work directory with its cleanup (see workDir).
func epochAndWorkDir(fl *pflag.FlagSet) (epoch int64, work string, cleanup func(), err error) {
	if epoch, err = epochFlag(fl); err != nil {
		return 0, "", nil, err
	}
	work, cleanup, err = workDir(fl)
	return epoch, work, cleanup, err
}
