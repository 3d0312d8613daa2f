package main

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/moby/buildkit/client"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"github.com/spf13/viper"

	"github.com/hadron-linux/hadron/internal/engine"
)

// engineFlagKeys maps the `engine:` settings of hadron.yaml to the flags
// of `hadron engine`.
var engineFlagKeys = map[string]string{
	"engine.root":                "root",
	"engine.binary":              "binary",
	"engine.insecure-registries": "insecure-registry",
	"engine.gc-keep-storage":     "gc-keep-storage",
	"engine.debug":               "debug",
}

// newEngineCmd is `hadron engine start|stop|status`: the local buildkitd
// that hadron uses when no --addr (or BUILDKIT_HOST) is given.
func newEngineCmd(v *viper.Viper) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "engine",
		Short: "Manage the local BuildKit engine (used when no --addr is given)",
		Long: `hadron runs its own buildkitd when no --addr (or BUILDKIT_HOST) is given.
Its files live under engine.root (default: the user cache dir, hadron/buildkit):
buildkitd.toml, buildkitd.sock, buildkitd.pid, buildkitd.log and the build cache.
Builds start it on demand; these commands manage it by hand.`,
	}
	fs := cmd.PersistentFlags()
	fs.String("root", "", "engine directory (default: <user cache dir>/hadron/buildkit)")
	fs.String("binary", "", "buildkitd executable (default: next to hadron, $PATH, or built from go.mod)")
	fs.StringSlice("insecure-registry", nil, "registry host:port reached over plain HTTP (repeatable)")
	fs.String("gc-keep-storage", engine.DefaultGCKeepStorage, "build cache kept by the garbage collector (e.g. 20GB, 10%)")
	fs.Bool("debug", false, "buildkitd debug logging")
	for key, flag := range engineFlagKeys {
		_ = v.BindPFlag(key, fs.Lookup(flag))
	}

	cmd.AddCommand(
		engineSubCmd(v, "start", "Start the local engine (or reuse the running one) and wait until it answers",
			func(cmd *cobra.Command, e *engine.Engine) error {
				if err := e.Start(cmd.Context()); err != nil {
					return err
				}
				return printEngineStatus(cmd.Context(), cmd.OutOrStdout(), e)
			}),
		engineSubCmd(v, "stop", "Stop the local engine (the build cache stays)",
			func(cmd *cobra.Command, e *engine.Engine) error {
				if err := e.Stop(cmd.Context()); err != nil {
					return err
				}
				fmt.Fprintln(cmd.OutOrStdout(), "engine: stopped")
				return nil
			}),
		engineSubCmd(v, "status", "Show whether the local engine runs, its address, version and workers",
			func(cmd *cobra.Command, e *engine.Engine) error {
				if addr := v.GetString("addr"); addr != "" {
					fmt.Fprintf(cmd.OutOrStdout(), "note: builds use --addr %s, not this engine\n", addr)
				}
				return printEngineStatus(cmd.Context(), cmd.OutOrStdout(), e)
			}),
	)
	return cmd
}

// engineSubCmd is `hadron engine <use>`: it runs fn on the local engine
// configured by v.
func engineSubCmd(v *viper.Viper, use, short string, fn func(*cobra.Command, *engine.Engine) error) *cobra.Command {
	return &cobra.Command{
		Use:   use,
		Short: short,
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			e, err := engine.New(engineConfig(v, cmd.ErrOrStderr()))
			if err != nil {
				return err
			}
			return fn(cmd, e)
		},
	}
}

// engineConfig reads the local engine's settings from v (hadron.yaml
// `engine:` section, HADRON_ENGINE_* variables, engine flags). Progress notes
// go to log.
func engineConfig(v *viper.Viper, log io.Writer) engine.Config {
	return engine.Config{
		Root:               v.GetString("engine.root"),
		Binary:             v.GetString("engine.binary"),
		ModuleDir:          v.GetString("dir"),
		InsecureRegistries: v.GetStringSlice("engine.insecure-registries"),
		GCKeepStorage:      v.GetString("engine.gc-keep-storage"),
		Debug:              v.GetBool("engine.debug"),
		RemoteTLS: engine.TLS{
			CACert:     v.GetString("tls-ca-cert"),
			Cert:       v.GetString("tls-cert"),
			Key:        v.GetString("tls-key"),
			ServerName: v.GetString("tls-server-name"),
		},
		Log: func(format string, args ...any) {
			fmt.Fprintf(log, "hadron: engine: "+format+"\n", args...)
		},
	}
}

// connectEngine returns a BuildKit client for the configured `addr` (flag
// --addr, HADRON_ADDR, hadron.yaml), else BUILDKIT_HOST, else the local
// engine, started if needed. Build commands use it.
func connectEngine(ctx context.Context, v *viper.Viper, log io.Writer) (*client.Client, error) {
	return engine.ConnectConfig(ctx, v.GetString("addr"), engineConfig(v, log))
}

// addAddrFlags adds --addr and the TLS flags for a remote BuildKit to the
// flags of a command that builds.
func addAddrFlags(f *pflag.FlagSet) {
	f.String("addr", "", "BuildKit address (default: $BUILDKIT_HOST, else the managed local engine)")
	f.String("tls-ca-cert", "", "CA certificate (PEM) that verifies a remote BuildKit at --addr tcp://…")
	f.String("tls-cert", "", "client certificate (PEM) for a remote BuildKit that requires one")
	f.String("tls-key", "", "client key (PEM) of --tls-cert")
	f.String("tls-server-name", "", "server name expected in the remote BuildKit's certificate (default: the --addr host)")
}

// explainEngineLoss turns a build error that says the connection to
// BuildKit broke into one that says what happened (see engine.ExplainLost).
func explainEngineLoss(v *viper.Viper, err error) error {
	return engine.ExplainLost(err, v.GetString("addr"), engineConfig(v, io.Discard))
}

// printEngineStatus writes the engine's status to w.
func printEngineStatus(ctx context.Context, w io.Writer, e *engine.Engine) error {
	st, err := e.Status(ctx)
	if err != nil {
		return err
	}
	state := "stopped"
	switch {
	case st.Running && st.Healthy:
		state = fmt.Sprintf("running (pid %d)", st.PID)
	case st.Running:
		state = fmt.Sprintf("running (pid %d) but not answering: %v", st.PID, st.Err)
	}
	fmt.Fprintf(w, "engine:   %s\n", state)
	fmt.Fprintf(w, "address:  %s\n", st.Addr)
	fmt.Fprintf(w, "root:     %s\n", st.Paths.Root)
	fmt.Fprintf(w, "log:      %s\n", st.Paths.LogFile)
	if st.Version != "" {
		fmt.Fprintf(w, "buildkit: %s\n", st.Version)
	}
	for _, wk := range st.Workers {
		fmt.Fprintf(w, "worker:   %s (%s; snapshotter %s)\n", wk.ID, strings.Join(wk.Platforms, ", "),
			wk.Labels["org.mobyproject.buildkit.worker.snapshotter"])
	}
	return nil
}
