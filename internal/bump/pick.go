package bump

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/hadron-linux/hadron/internal/bump/upstream"
	"github.com/hadron-linux/hadron/internal/bump/versions"
	"github.com/hadron-linux/hadron/internal/recipe"
)

// defaultTagRE turns the usual tag spellings (v1.2.3, 1.2.3) into versions
// when an upstream block of a tag kind names no regex.
var defaultTagRE = regexp.MustCompile(`^[vV]?(\d.*)$`)

// candidate is one upstream tag that parsed as a version.
type candidate struct {
	v   versions.Version
	tag upstream.Tag
}

// selection is what pick found among the upstream tags.
type selection struct {
	// best is the newest version the constraint allows; nil when none.
	best *candidate
	// newest is the newest release seen at all (pre-releases only when the
	// constraint asks for them); it differs from best when the constraint
	// holds a newer release back.
	newest *candidate
	// seen counts the tags listed, parsed the ones that were versions.
	seen, parsed int
}

// pick extracts versions from tags with the upstream's regex and scheme and
// selects the newest one the constraint allows. Pre-releases (by version or
// by GitHub's flag) count only when the constraint names a pre-release.
func pick(u *recipe.Upstream, tags []upstream.Tag) (selection, error) {
	scheme, err := versions.ParseScheme(u.Scheme)
	if err != nil {
		return selection{}, err
	}
	cons, err := versions.ParseConstraint(u.Constraint)
	if err != nil {
		return selection{}, err
	}
	re := defaultTagRE
	switch {
	case u.Kind == recipe.UpstreamHTTPIndex:
		re = nil // the lister already applied the regex
	case u.Regex != "":
		if re, err = regexp.Compile(u.Regex); err != nil {
			return selection{}, fmt.Errorf("upstream.regex: %w", err)
		}
	}
	sel := selection{seen: len(tags)}
	for _, t := range tags {
		text := t.Name
		if re != nil {
			m := re.FindStringSubmatch(t.Name)
			if len(m) < 2 || m[1] == "" {
				continue
			}
			text = m[1]
			if !strings.Contains(text, ".") {
				// Tags that spell the version with underscores (expat's
				// R_2_5_0, captured as 2_5_0) mean the dotted version.
				text = strings.ReplaceAll(text, "_", ".")
			}
		}
		v, err := versions.Parse(scheme, text)
		if err != nil {
			continue // not a release tag of this scheme (e.g. "latest", "debian/1.0-1")
		}
		sel.parsed++
		if (v.Prerelease() || t.Prerelease) && !cons.AllowsPrerelease() {
			continue
		}
		c := &candidate{v: v, tag: t}
		if sel.newest == nil || v.Compare(sel.newest.v) > 0 {
			sel.newest = c
		}
		if cons.Check(v) && (sel.best == nil || v.Compare(sel.best.v) > 0) {
			sel.best = c
		}
	}
	return sel, nil
}
