package bump

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/hadron-linux/hadron/internal/atomicfile"
	"github.com/hadron-linux/hadron/internal/bump/versions"
	"github.com/hadron-linux/hadron/internal/bump/yamledit"
	"github.com/hadron-linux/hadron/internal/lockfile"
	"github.com/hadron-linux/hadron/internal/recipe"
)

// one handles one recipe; every problem ends up in the result.
func (o Options) one(ctx context.Context, r *recipe.Recipe, lock *lockfile.Lock) Result {
	u := r.Upstream
	res := Result{Recipe: r.Name, Upstream: describe(u), Constraint: u.Constraint, Current: r.Version}
	fail := func(format string, args ...any) Result {
		res.Status = StatusFailed
		res.Error = fmt.Sprintf(format, args...)
		return res
	}

	lister, err := o.Upstream.For(u)
	if err != nil {
		return fail("%v", err)
	}
	tags, err := lister.List(ctx)
	if err != nil {
		return fail("list upstream versions: %v", err)
	}
	sel, err := pick(u, tags)
	if err != nil {
		return fail("%v", err)
	}
	if sel.best == nil {
		newest := "none"
		if sel.newest != nil {
			newest = sel.newest.v.Text
		}
		return fail("no upstream version satisfies constraint %q (%d tags listed, %d parsed as %s versions, newest release: %s)",
			orStar(u.Constraint), sel.seen, sel.parsed, schemeName(u.Scheme), newest)
	}
	res.Latest = sel.best.v.Text
	if sel.newest != nil && sel.newest.v.Compare(sel.best.v) > 0 {
		res.HeldBack = sel.newest.v.Text
	}
	scheme, _ := versions.ParseScheme(u.Scheme) // pick validated it
	cur, err := versions.Parse(scheme, r.Version)
	if err != nil {
		return fail("current version: %v", err)
	}

	if sel.best.v.Compare(cur) <= 0 {
		res.Status = StatusCurrent
		res.Latest = r.Version
		if o.Verify && !o.DryRun {
			if err := o.verify(ctx, r, lock, sel, cur); err != nil {
				return fail("%v", err)
			}
			res.Verified = true
		}
		return res
	}
	if o.DryRun {
		res.Status = StatusAvailable
		return res
	}

	next := *r
	next.Version = sel.best.v.Text
	newLock := &lockfile.Lock{Recipe: r.Name, Version: next.Version}
	edits := map[string]string{}
	for i, s := range next.Sources {
		src := next.SourceURL(i)
		if s.Git != "" {
			commit, err := gitCommit(u, sel.best, src)
			if err != nil {
				return fail("source %d: %v", i, err)
			}
			newLock.Sources = append(newLock.Sources, lockfile.Pin{Git: src, Commit: commit})
			edits[strconv.Itoa(i)] = commit
			res.Sources = append(res.Sources, Pin{Git: src, Commit: commit})
			continue
		}
		got, err := o.Fetch.Download(ctx, src)
		if err != nil {
			return fail("download new sources of %s: %v", next.Version, err)
		}
		if old, ok := lock.Find(src); ok && (old.SHA256 != got.SHA256 || old.Size != got.Size) {
			return fail("%s is already pinned but its content changed upstream (sha256 %s, now %s): re-tagged or tampered release; not re-pinning",
				src, old.SHA256, got.SHA256)
		}
		newLock.Sources = append(newLock.Sources, lockfile.Pin{URL: src, SHA256: got.SHA256, SHA512: got.SHA512, Size: got.Size})
		res.Sources = append(res.Sources, Pin{URL: src, SHA256: got.SHA256, Size: got.Size})
	}

	if err := o.write(r, lock, newLock, next.Version, edits); err != nil {
		return fail("%v", err)
	}
	res.Status = StatusUpdated
	return res
}

// verify downloads the current version's archive sources again and checks
// them against the lock; git sources are checked against the tag's commit
// when the upstream lists commits.
func (o Options) verify(ctx context.Context, r *recipe.Recipe, lock *lockfile.Lock, sel selection, cur versions.Version) error {
	if lock == nil {
		return fmt.Errorf("no lock file %s to verify against", lockfile.PathFor(r.Name))
	}
	for i, s := range r.Sources {
		src := r.SourceURL(i)
		pin, ok := lock.Find(src)
		if !ok {
			return fmt.Errorf("verify: %s is not pinned in %s", src, lockfile.PathFor(r.Name))
		}
		if s.Git != "" {
			if sel.best != nil && sel.best.v.Compare(cur) == 0 && sel.best.tag.Commit != "" && sameRemote(r.Upstream, src) &&
				sel.best.tag.Commit != pin.Commit {
				return fmt.Errorf("verify: tag %s of %s now points to %s, pinned %s: re-tagged release; not re-pinning",
					sel.best.tag.Name, src, sel.best.tag.Commit, pin.Commit)
			}
			continue
		}
		got, err := o.Fetch.Download(ctx, src)
		if err != nil {
			return fmt.Errorf("verify pinned %s: %v", r.Version, err)
		}
		if got.SHA256 != pin.SHA256 || got.SHA512 != pin.SHA512 || got.Size != pin.Size {
			return fmt.Errorf("CHECKSUM CHANGED for pinned %s %s: %s: sha256 %s (%d bytes) pinned, upstream now serves %s (%d bytes): re-tagged or tampered release; not re-pinning",
				r.Name, r.Version, src, pin.SHA256, pin.Size, got.SHA256, got.Size)
		}
	}
	return nil
}

// gitCommit returns the commit for a git source at the chosen version: the
// commit of the upstream tag, which only tag kinds know, and only for the
// same remote.
func gitCommit(u *recipe.Upstream, c *candidate, remote string) (string, error) {
	if c.tag.Commit == "" || !sameRemote(u, remote) {
		return "", fmt.Errorf("git source %s: bump can only move git sources whose upstream is a git-tags or github-tags listing of the same repository", remote)
	}
	return c.tag.Commit, nil
}

// sameRemote reports whether the upstream block lists tags of remote.
func sameRemote(u *recipe.Upstream, remote string) bool {
	norm := func(s string) string { return strings.TrimSuffix(strings.TrimSuffix(s, "/"), ".git") }
	switch u.Kind {
	case recipe.UpstreamGitTags:
		return norm(u.URL) == norm(remote)
	case recipe.UpstreamGitHubTags:
		return norm(remote) == "https://github.com/"+u.Repo
	}
	return false
}

// write stores the new lock, then the edited recipe; if the recipe cannot
// be written the old lock is put back, so the tree stays consistent.
func (o Options) write(r *recipe.Recipe, oldLock, newLock *lockfile.Lock, version string, commits map[string]string) error {
	file := filepath.Join(o.Root, filepath.FromSlash(r.File))
	src, err := os.ReadFile(file)
	if err != nil {
		return fmt.Errorf("read recipe: %w", err)
	}
	out, err := yamledit.Set(src, version, "version")
	if err != nil {
		return fmt.Errorf("edit %s: %w", r.File, err)
	}
	for i, commit := range commits {
		if out, err = yamledit.Set(out, commit, "sources", i, "commit"); err != nil {
			return fmt.Errorf("edit %s: %w", r.File, err)
		}
	}
	lockPath := o.lockPath(r.Name)
	if err := lockfile.Write(lockPath, newLock); err != nil {
		return err
	}
	if err := writeAtomic(file, out); err != nil {
		if oldLock != nil {
			_ = lockfile.Write(lockPath, oldLock)
		} else {
			_ = os.Remove(lockPath)
		}
		return fmt.Errorf("write recipe (lock restored): %w", err)
	}
	return nil
}

// writeAtomic replaces file with data through a temporary file and a
// rename, keeping the file's mode.
func writeAtomic(file string, data []byte) error {
	mode := os.FileMode(0o644)
	if st, err := os.Stat(file); err == nil {
		mode = st.Mode().Perm()
	}
	if err := atomicfile.WriteFile(file, data, mode); err != nil {
		return fmt.Errorf("write %s: %w", file, err)
	}
	return nil
}

// describe names an upstream for reports.
func describe(u *recipe.Upstream) string {
	switch u.Kind {
	case recipe.UpstreamGitHubReleases, recipe.UpstreamGitHubTags:
		return string(u.Kind) + " " + u.Repo
	}
	return string(u.Kind) + " " + u.URL
}

func orStar(s string) string {
	if strings.TrimSpace(s) == "" {
		return "*"
	}
	return s
}

func schemeName(s string) string {
	if s == "" {
		return "semver"
	}
	return s
}
