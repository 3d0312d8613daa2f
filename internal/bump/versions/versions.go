// Package versions turns upstream version strings into comparable values.
//
// Upstreams do not all follow semantic versioning. Each recipe names a
// scheme (recipe.Upstream.Scheme) and this package normalises the strings of
// that scheme into a Masterminds semver value, used for constraint checks,
// plus trailing numeric components that only take part in ordering:
//
//	scheme   examples                     normalised (semver + extra)
//	semver   1.2.3, v5.4, 0.194, 1.2.3rc1  1.2.3, 5.4.0, 0.194.0, 1.2.3-rc.1
//	openssh  9.9p1, 10.0p1, 1.9.17p2       9.9.0 +[1], 10.0.0 +[1], 1.9.17 +[2]
//	date     20251003, 2025-10-03          20251003.0.0
//	kernel   6.12.8, 6.13, 6.14-rc3        6.12.8, 6.13.0, 6.14.0-rc.3
//
// Constraints are written against the semver part (">= 9.9, < 11" for
// OpenSSH, ">= 20250101" for dates, "~6.12" for one kernel stable series).
package versions

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/Masterminds/semver/v3"
)

// Scheme names a version normalisation.
type Scheme string

// The schemes an upstream block may name.
const (
	// Semver accepts one to three dotted numbers (more are kept for
	// ordering), an optional leading "v" and an optional pre-release suffix
	// (alpha, beta, rc, pre; "1.2.3rc1", "1.2.3-rc.1", "1.2.3_beta2").
	Semver Scheme = "semver"
	// OpenSSH accepts X.Y[.Z] followed by an optional portable patch level
	// "pN" (OpenSSH 9.9p1, sudo 1.9.17p2). No pN sorts before p1.
	OpenSSH Scheme = "openssh"
	// Date accepts a calendar date YYYYMMDD, YYYY-MM-DD or YYYY.MM.DD.
	Date Scheme = "date"
	// Kernel accepts vanilla kernel versions: X.Y (mainline), X.Y.Z
	// (stable), X.Y-rcN (release candidates) and old four-part 2.6.X.Y.
	Kernel Scheme = "kernel"
)

// Schemes lists every scheme in documentation order.
var Schemes = []Scheme{Semver, OpenSSH, Date, Kernel}

// ParseScheme maps an upstream block's scheme field to a Scheme; empty
// means Semver.
func ParseScheme(s string) (Scheme, error) {
	if s == "" {
		return Semver, nil
	}
	for _, x := range Schemes {
		if string(x) == s {
			return x, nil
		}
	}
	return "", fmt.Errorf("unknown version scheme %q (known: semver, openssh, date, kernel)", s)
}

// Version is one parsed upstream version.
type Version struct {
	// Text is the version as upstream spells it (what goes into a recipe's
	// version field), e.g. "9.9p1".
	Text  string
	sv    *semver.Version
	extra []uint64
}

// Semver returns the semver value used for constraint checks.
func (v Version) Semver() *semver.Version { return v.sv }

// Prerelease reports whether v is a pre-release (alpha, beta, rc, pre).
func (v Version) Prerelease() bool { return v.sv.Prerelease() != "" }

// String returns Text.
func (v Version) String() string { return v.Text }

// Normalised returns the normalised form: the semver string, followed by
// the extra ordering components in brackets when there are any
// ("9.9.0[1]" for OpenSSH 9.9p1).
func (v Version) Normalised() string {
	if len(v.extra) == 0 {
		return v.sv.String()
	}
	parts := make([]string, len(v.extra))
	for i, e := range v.extra {
		parts[i] = strconv.FormatUint(e, 10)
	}
	return v.sv.String() + "[" + strings.Join(parts, ".") + "]"
}

// Compare returns -1, 0 or +1 as v sorts before, equal to or after o.
// Versions of different schemes must not be compared.
func (v Version) Compare(o Version) int {
	if c := v.sv.Compare(o.sv); c != 0 {
		return c
	}
	n := max(len(v.extra), len(o.extra))
	for i := range n {
		a, b := at(v.extra, i), at(o.extra, i)
		switch {
		case a < b:
			return -1
		case a > b:
			return 1
		}
	}
	return 0
}

func at(xs []uint64, i int) uint64 {
	if i < len(xs) {
		return xs[i]
	}
	return 0
}

var (
	// numbers, then an optional pre-release tag with an optional number.
	semverRe  = regexp.MustCompile(`^[vV]?(\d+(?:\.\d+)*)(?:[-._~]?(alpha|beta|rc|pre|a|b)[-.]?(\d+)?)?$`)
	opensshRe = regexp.MustCompile(`^[vV]?(\d+)\.(\d+)(?:\.(\d+))?(?:p(\d+))?$`)
	dateRe    = regexp.MustCompile(`^(\d{4})([-.]?)(\d{2})([-.]?)(\d{2})$`)
	kernelRe  = regexp.MustCompile(`^[vV]?(\d+)\.(\d+)(?:\.(\d+))?(?:\.(\d+))?(?:-rc(\d+))?$`)
)

// preNames maps the accepted pre-release spellings to their semver names.
var preNames = map[string]string{"alpha": "alpha", "a": "alpha", "beta": "beta", "b": "beta", "rc": "rc", "pre": "pre"}

// Parse parses s with scheme. The error says which scheme rejected what.
func Parse(scheme Scheme, s string) (Version, error) {
	switch scheme {
	case Semver, "":
		return parseSemver(s)
	case OpenSSH:
		return parseOpenSSH(s)
	case Date:
		return parseDate(s)
	case Kernel:
		return parseKernel(s)
	}
	return Version{}, fmt.Errorf("unknown version scheme %q", scheme)
}

func parseSemver(s string) (Version, error) {
	m := semverRe.FindStringSubmatch(s)
	if m == nil {
		return Version{}, fmt.Errorf("%q is not a semver-scheme version", s)
	}
	nums, err := uints(strings.Split(m[1], "."))
	if err != nil {
		return Version{}, fmt.Errorf("%q: %w", s, err)
	}
	for len(nums) < 3 {
		nums = append(nums, 0)
	}
	pre := ""
	if m[2] != "" {
		pre = preNames[m[2]]
		if m[3] != "" {
			pre += "." + strconv.FormatUint(nums0(m[3]), 10)
		}
	}
	return Version{Text: s, sv: semver.New(nums[0], nums[1], nums[2], pre, ""), extra: nums[3:]}, nil
}

func parseOpenSSH(s string) (Version, error) {
	m := opensshRe.FindStringSubmatch(s)
	if m == nil {
		return Version{}, fmt.Errorf("%q is not an openssh-scheme version (X.Y[.Z][pN])", s)
	}
	nums, err := uints([]string{m[1], m[2], orZero(m[3]), orZero(m[4])})
	if err != nil {
		return Version{}, fmt.Errorf("%q: %w", s, err)
	}
	return Version{Text: s, sv: semver.New(nums[0], nums[1], nums[2], "", ""), extra: nums[3:]}, nil
}

func parseDate(s string) (Version, error) {
	m := dateRe.FindStringSubmatch(s)
	if m == nil || m[2] != m[4] {
		return Version{}, fmt.Errorf("%q is not a date-scheme version (YYYYMMDD, YYYY-MM-DD or YYYY.MM.DD)", s)
	}
	t, err := time.Parse("20060102", m[1]+m[3]+m[5])
	if err != nil {
		return Version{}, fmt.Errorf("%q is not a real date: %w", s, err)
	}
	n, _ := strconv.ParseUint(t.Format("20060102"), 10, 64)
	return Version{Text: s, sv: semver.New(n, 0, 0, "", "")}, nil
}

func parseKernel(s string) (Version, error) {
	m := kernelRe.FindStringSubmatch(s)
	if m == nil {
		return Version{}, fmt.Errorf("%q is not a kernel-scheme version (X.Y, X.Y.Z or X.Y-rcN)", s)
	}
	if m[5] != "" && m[3] != "" {
		return Version{}, fmt.Errorf("%q: release candidates are X.Y-rcN, never X.Y.Z-rcN", s)
	}
	parts := []string{m[1], m[2], orZero(m[3])}
	if m[4] != "" {
		parts = append(parts, m[4])
	}
	nums, err := uints(parts)
	if err != nil {
		return Version{}, fmt.Errorf("%q: %w", s, err)
	}
	pre := ""
	if m[5] != "" {
		pre = "rc." + strconv.FormatUint(nums0(m[5]), 10)
	}
	return Version{Text: s, sv: semver.New(nums[0], nums[1], nums[2], pre, ""), extra: nums[3:]}, nil
}

func orZero(s string) string {
	if s == "" {
		return "0"
	}
	return s
}

func nums0(s string) uint64 {
	n, _ := strconv.ParseUint(s, 10, 64)
	return n
}

func uints(parts []string) ([]uint64, error) {
	out := make([]uint64, 0, len(parts))
	for _, p := range parts {
		n, err := strconv.ParseUint(p, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("version component %q: %w", p, err)
		}
		out = append(out, n)
	}
	return out, nil
}

// Constraint is a parsed Masterminds/semver constraint.
type Constraint struct {
	c         *semver.Constraints
	text      string
	allowsPre bool
}

// preInConstraint finds a pre-release part in a constraint ("6.14.0-rc1").
var preInConstraint = regexp.MustCompile(`\d-[0-9A-Za-z]`)

// ParseConstraint parses a constraint; empty means "any release".
func ParseConstraint(s string) (Constraint, error) {
	text := strings.TrimSpace(s)
	if text == "" {
		text = "*"
	}
	c, err := semver.NewConstraint(text)
	if err != nil {
		return Constraint{}, fmt.Errorf("constraint %q: %w", s, err)
	}
	return Constraint{c: c, text: text, allowsPre: preInConstraint.MatchString(text)}, nil
}

// String returns the constraint text ("*" when it was empty).
func (c Constraint) String() string { return c.text }

// AllowsPrerelease reports whether the constraint names a pre-release, the
// only way pre-releases become eligible (Masterminds/semver's rule).
func (c Constraint) AllowsPrerelease() bool { return c.allowsPre }

// Check reports whether v satisfies the constraint. Pre-releases satisfy it
// only if the constraint itself names a pre-release.
func (c Constraint) Check(v Version) bool { return c.c.Check(v.sv) }
