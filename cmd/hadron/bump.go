package main

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/hadron-linux/hadron/internal/bump"
	"github.com/hadron-linux/hadron/internal/bump/upstream"
	"github.com/hadron-linux/hadron/internal/fetch"
	"github.com/spf13/cobra"
	"github.com/spf13/viper"
)

func newBumpCmd(v *viper.Viper) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "bump [RECIPE...]",
		Short: "Move recipes to their newest allowed upstream version and re-pin their sources",
		Long: `Bump lists the upstream versions of every recipe with an upstream block (or of
the named recipes), picks the newest one the recipe's constraint allows,
rewrites the recipe's version (comments and layout kept), downloads the new
sources and re-pins them in vendor-hashes/<recipe>.lock.

The report goes to stdout (--report markdown|json) and to any --report-file
(format from the extension: .md or .json); progress goes to stderr.
GITHUB_TOKEN, when set, authenticates GitHub API calls.

Exit status:
  0   nothing to do: every recipe is up to date
  10  at least one recipe was updated (with --dry-run: has an update) and none failed
  1   at least one recipe failed (listing, download, re-tagged release, ...)
      or the tree could not be loaded`,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runBump(cmd, v, args)
		},
	}
	f := cmd.Flags()
	f.Bool("dry-run", false, "list and compare versions only; download and write nothing")
	f.String("report", "markdown", "report format on stdout: markdown or json")
	f.StringArray("report-file", nil, "also write the report to this file, .md or .json (repeatable)")
	f.Bool("affected", false, "add the recipes and images that must rebuild to the report")
	f.Bool("verify", false, "re-download the sources of unchanged recipes and fail on checksum changes")
	f.Int("jobs", 8, "recipes handled at once")
	f.Duration("timeout", 15*time.Minute, "time limit per recipe")
	f.String("github-api", upstream.DefaultGitHubAPI, "GitHub REST API base URL")
	f.String("cache-dir", "", "download cache (default: a temporary folder removed afterwards)")
	f.Int("retries", 2, "download retries")
	return cmd
}

func runBump(cmd *cobra.Command, v *viper.Viper, names []string) error {
	format := v.GetString("report")
	if format != "markdown" && format != "json" {
		return fmt.Errorf("--report %q: want markdown or json", format)
	}
	files := v.GetStringSlice("report-file")
	for _, f := range files {
		if _, err := reportFormat(f); err != nil {
			return err
		}
	}
	cache := v.GetString("cache-dir")
	if cache == "" {
		tmp, err := os.MkdirTemp("", "hadron-bump-")
		if err != nil {
			return fmt.Errorf("bump: download cache: %w", err)
		}
		defer os.RemoveAll(tmp)
		cache = tmp
	}
	client := &http.Client{Timeout: 30 * time.Minute}
	opts := bump.Options{
		Root:     v.GetString("dir"),
		Recipes:  names,
		DryRun:   v.GetBool("dry-run"),
		Verify:   v.GetBool("verify"),
		Affected: v.GetBool("affected"),
		Jobs:     v.GetInt("jobs"),
		Timeout:  v.GetDuration("timeout"),
		Upstream: upstream.Config{
			HTTPClient:  &http.Client{Timeout: 2 * time.Minute},
			GitHubAPI:   v.GetString("github-api"),
			GitHubToken: upstream.TokenFromEnv(),
		},
		Fetch: &fetch.Fetcher{
			CacheDir:   cache,
			Mirrors:    fetch.Mirrors(v.GetStringMapString("mirrors")),
			Retries:    v.GetInt("retries"),
			HTTPClient: client,
		},
		Log: cmd.ErrOrStderr(),
	}
	rep, err := bump.Run(cmd.Context(), opts)
	if err != nil {
		return err
	}
	if err := writeReport(cmd.OutOrStdout(), rep, format); err != nil {
		return err
	}
	for _, f := range files {
		var buf bytes.Buffer
		kind, _ := reportFormat(f)
		if err := writeReport(&buf, rep, kind); err != nil {
			return err
		}
		if err := os.WriteFile(f, buf.Bytes(), 0o644); err != nil {
			return fmt.Errorf("bump: write report: %w", err)
		}
	}
	return bumpExit(rep)
}

func reportFormat(file string) (string, error) {
	switch strings.ToLower(filepath.Ext(file)) {
	case ".md", ".markdown":
		return "markdown", nil
	case ".json":
		return "json", nil
	}
	return "", fmt.Errorf("--report-file %s: name it .md or .json", file)
}

func writeReport(w io.Writer, rep *bump.Report, format string) error {
	if format == "json" {
		return rep.WriteJSON(w)
	}
	return rep.WriteMarkdown(w)
}
