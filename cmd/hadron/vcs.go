package main

import (
	"context"
	"net/url"
	"os/exec"
	"strings"

	"github.com/hadron-linux/hadron/buildkit-frontends/frontend"
	"github.com/hadron-linux/hadron/internal/sbom"
)

// treeVCS describes the git repository holding the project tree at dir,
// as buildx describes a build context (vcs:source, vcs:revision): the
// origin remote's URL without credentials, the HEAD commit, and "-dirty"
// after it when the tree's folders (frontend.TreeRoots: what a build
// reads) have changes or files git does not know. Outside a git work tree,
// or without git, it is empty: attestations then name no commit.
func treeVCS(ctx context.Context, dir string) sbom.VCS {
	git := func(args ...string) (string, bool) {
		out, err := exec.CommandContext(ctx, "git", append([]string{"-C", dir}, args...)...).Output()
		return strings.TrimSpace(string(out)), err == nil
	}
	rev, ok := git("rev-parse", "--verify", "HEAD")
	if !ok || rev == "" {
		return sbom.VCS{}
	}
	if status, ok := git(append([]string{"status", "--porcelain", "--"}, frontend.TreeRoots...)...); ok && status != "" {
		rev += "-dirty"
	}
	src, _ := git("remote", "get-url", "origin")
	return sbom.VCS{Source: redactURL(src), Revision: rev}
}

// redactURL drops the user information (a token) from a remote URL.
func redactURL(s string) string {
	u, err := url.Parse(s)
	if err != nil || u.User == nil {
		return s
	}
	u.User = nil
	return u.String()
}
