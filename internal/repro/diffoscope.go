package repro

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os/exec"
	"strings"
)

// DiffoscopeBinary is the name of Debian's diffoscope on PATH.
const DiffoscopeBinary = "diffoscope"

// MaxDiffoscopeLines caps the diffoscope output an item keeps; the rest
// is counted.
const MaxDiffoscopeLines = 200

// FindDiffoscope returns the path of diffoscope on PATH, or "" when it is
// not installed (apt-get install diffoscope, or diffoscope-minimal).
func FindDiffoscope() string {
	p, err := exec.LookPath(DiffoscopeBinary)
	if err != nil {
		return ""
	}
	return p
}

// Diffoscope runs the diffoscope executable bin on a and b and returns its
// text report, at most MaxDiffoscopeLines lines. diffoscope exits 1 when
// the inputs differ: that is its report, not an error; any other failure
// is, with its output.
func Diffoscope(ctx context.Context, bin, a, b string) (string, error) {
	cmd := exec.CommandContext(ctx, bin, "--text", "-", a, b)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	var ee *exec.ExitError
	if err != nil && !(errors.As(err, &ee) && ee.ExitCode() == 1) {
		return "", fmt.Errorf("diffoscope %s %s: %w: %s", a, b, err, strings.TrimSpace(errOut.String()))
	}
	lines := strings.Split(strings.TrimRight(out.String(), "\n"), "\n")
	if len(lines) > MaxDiffoscopeLines {
		rest := len(lines) - MaxDiffoscopeLines
		lines = append(lines[:MaxDiffoscopeLines], fmt.Sprintf("... %d more lines (run diffoscope %s %s)", rest, a, b))
	}
	return strings.Join(lines, "\n"), nil
}
