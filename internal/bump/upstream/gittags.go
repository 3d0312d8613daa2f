package upstream

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"strings"
)

// GitTags lists the tags of a git remote with `git ls-remote --tags`.
// Only http:// and https:// remotes are accepted, and git is told to allow
// no other transport (so a redirect or a crafted URL cannot run ext:: or
// ssh commands).
type GitTags struct {
	Config
	// URL is the remote, e.g. https://git.kernel.org/pub/scm/linux/kernel/git/stable/linux.git.
	URL string
}

// List runs git ls-remote and returns each tag with the commit it points
// to (annotated tags are peeled to their commit).
func (g *GitTags) List(ctx context.Context) ([]Tag, error) {
	u, err := url.Parse(g.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("git tags: remote %q: only http:// and https:// URLs are allowed", g.URL)
	}
	bin := g.Git
	if bin == "" {
		bin = "git"
	}
	cmd := exec.CommandContext(ctx, bin, "-c", "credential.helper=", "ls-remote", "--tags", "--", g.URL)
	cmd.Env = append(os.Environ(),
		"GIT_TERMINAL_PROMPT=0",
		"GIT_ALLOW_PROTOCOL=http:https",
		"GIT_CONFIG_NOSYSTEM=1",
		"LC_ALL=C",
	)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		msg := strings.TrimSpace(stderr.String())
		if ctx.Err() != nil {
			return nil, fmt.Errorf("git ls-remote %s: %w", g.URL, ctx.Err())
		}
		if strings.Contains(msg, "not found") || strings.Contains(msg, "404") {
			return nil, fmt.Errorf("git ls-remote %s: %w: %s", g.URL, ErrNotFound, msg)
		}
		return nil, fmt.Errorf("git ls-remote %s: %w: %s", g.URL, err, msg)
	}
	return parseLsRemote(stdout.Bytes())
}

// parseLsRemote reads "<sha>\trefs/tags/<name>[^{}]" lines. A peeled
// entry (^{}) overrides the tag object's sha with the commit's.
func parseLsRemote(out []byte) ([]Tag, error) {
	var order []string
	commits := map[string]string{}
	peeled := map[string]bool{}
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		line := sc.Text()
		if line == "" {
			continue
		}
		sha, ref, ok := strings.Cut(line, "\t")
		if !ok {
			return nil, fmt.Errorf("git ls-remote: unexpected line %q", line)
		}
		name, ok := strings.CutPrefix(ref, "refs/tags/")
		if !ok {
			continue
		}
		if base, isPeel := strings.CutSuffix(name, "^{}"); isPeel {
			if _, seen := commits[base]; !seen {
				order = append(order, base)
			}
			commits[base] = sha
			peeled[base] = true
			continue
		}
		if _, seen := commits[name]; !seen {
			order = append(order, name)
		}
		if !peeled[name] {
			commits[name] = sha
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("git ls-remote: %w", err)
	}
	tags := make([]Tag, 0, len(order))
	for _, n := range order {
		tags = append(tags, Tag{Name: n, Commit: commits[n]})
	}
	return tags, nil
}
