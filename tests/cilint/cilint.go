// Package cilint lints the repository's GitHub Actions workflows
// (.github/workflows/*.yml, among them the nightly bump job) with
// actionlint, used as a Go library so that `go test` catches a broken
// workflow before GitHub does.
package cilint

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/rhysd/actionlint"
)

// WorkflowsDir is where GitHub looks for workflows, relative to the
// repository root.
const WorkflowsDir = ".github/workflows"

// Files returns the workflow files (*.yml, *.yaml) in dir, sorted.
func Files(dir string) ([]string, error) {
	var out []string
	for _, pat := range []string{"*.yml", "*.yaml"} {
		m, err := filepath.Glob(filepath.Join(dir, pat))
		if err != nil {
			return nil, fmt.Errorf("list workflows in %s: %w", dir, err)
		}
		out = append(out, m...)
	}
	sort.Strings(out)
	return out, nil
}

// Lint runs actionlint over files and returns its findings, one
// "file:line:col: message [rule]" string each. Shellcheck and pyflakes are
// not run (they are separate programs); actionlint's own checks are: YAML
// and workflow syntax, expressions and their contexts, action inputs,
// runner labels, cron syntax, job dependencies and more.
func Lint(files []string) ([]string, error) {
	l, err := actionlint.NewLinter(io.Discard, &actionlint.LinterOptions{})
	if err != nil {
		return nil, fmt.Errorf("actionlint: %w", err)
	}
	var out []string
	for _, f := range files {
		src, err := os.ReadFile(f)
		if err != nil {
			return nil, fmt.Errorf("read workflow: %w", err)
		}
		errs, err := l.Lint(f, src, nil)
		if err != nil {
			return nil, fmt.Errorf("actionlint %s: %w", f, err)
		}
		for _, e := range errs {
			out = append(out, fmt.Sprintf("%s:%d:%d: %s [%s]", f, e.Line, e.Column, e.Message, e.Kind))
		}
	}
	return out, nil
}

// FindRoot walks up from dir to the folder holding go.mod.
func FindRoot(dir string) (string, error) {
	d, err := filepath.Abs(dir)
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			return d, nil
		}
		parent := filepath.Dir(d)
		if parent == d {
			return "", fmt.Errorf("no go.mod above %s", strings.TrimSpace(dir))
		}
		d = parent
	}
}
