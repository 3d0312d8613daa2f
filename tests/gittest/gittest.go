// Package gittest makes throwaway git work trees for tests that need a
// tree's commit (SBOMs and provenance record it).
package gittest

import (
	"os"
	"os/exec"
	"strings"
	"testing"
)

// Commit makes dir a git work tree holding everything in it as one
// commit, with remote as its origin (none when empty), and returns the
// commit. The user's git configuration is not read.
func Commit(t testing.TB, dir, remote string) string {
	t.Helper()
	if _, err := exec.LookPath("git"); err != nil {
		t.Fatalf("git is needed for this test: %v", err)
	}
	git := func(args ...string) string {
		cmd := exec.Command("git", append([]string{"-C", dir}, args...)...)
		cmd.Env = append(os.Environ(), "GIT_AUTHOR_NAME=test", "GIT_AUTHOR_EMAIL=test@example.invalid",
			"GIT_COMMITTER_NAME=test", "GIT_COMMITTER_EMAIL=test@example.invalid", "GIT_CONFIG_GLOBAL=/dev/null")
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("git %v: %v: %s", args, err, out)
		}
		return strings.TrimSpace(string(out))
	}
	git("init", "-q")
	git("add", ".")
	git("commit", "-q", "-m", "tree")
	if remote != "" {
		git("remote", "add", "origin", remote)
	}
	return git("rev-parse", "HEAD")
}
