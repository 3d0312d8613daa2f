package recipe

import (
	"fmt"
	"io/fs"
	"net/url"
	"path"
	"regexp"
	"slices"
	"strings"

	"github.com/Masterminds/semver/v3"
	"github.com/hadron-linux/hadron/internal/bump/versions"
	"github.com/hadron-linux/hadron/internal/errlist"
	"github.com/hadron-linux/hadron/internal/textcheck"
	"github.com/hadron-linux/hadron/internal/yamlstrict"
)

// Hand-written checks (internal/textcheck) for what every recipe has:
// they run once per recipe and field, and a regexp costs more than the
// rest of the validation.

// validVersion: a letter or digit, then letters, digits and . _ + ~ -.
func validVersion(s string) bool { return textcheck.Word(s, false, "._+~-") }

// validCommit: a full git commit, 40 lower-case hex digits.
func validCommit(s string) bool { return textcheck.LowerHex(s, 40) }

// validRepo: "owner/name", each made of letters, digits and _ . -.
func validRepo(s string) bool {
	owner, name, ok := strings.Cut(s, "/")
	return ok && textcheck.Charset(owner, "_.-") && textcheck.Charset(name, "_.-")
}

// validLicenseID: an SPDX identifier, optionally LicenseRef-.
func validLicenseID(s string) bool {
	return textcheck.Word(strings.TrimPrefix(s, "LicenseRef-"), false, ".+-")
}

// UpstreamKinds lists every valid upstream kind.
var UpstreamKinds = []UpstreamKind{UpstreamGitHubReleases, UpstreamGitHubTags, UpstreamGitTags, UpstreamHTTPIndex}

// Schemes lists the valid upstream version schemes ("" means semver):
// exactly those internal/bump/versions implements, in its order.
var Schemes = schemeNames()

func schemeNames() []string {
	out := make([]string, 0, len(versions.Schemes))
	for _, s := range versions.Schemes {
		out = append(out, string(s))
	}
	return out
}

// ValidName reports whether s is a valid recipe name: lower case letters,
// digits and + . _ -, starting with a letter or digit.
func ValidName(s string) bool { return textcheck.Word(s, true, "+._-") }

// validator accumulates problems for one recipe with its lines.
type validator struct {
	r    *Recipe
	errs errlist.List
}

func (v *validator) at(key, format string, args ...any) {
	v.errs.Addf(v.r.File, v.r.LineOf(key), format, args...)
}

// validate checks everything that can be checked from the recipe alone (and
// the files next to it in fsys).
func (r *Recipe) validate(fsys fs.FS) errlist.List {
	v := &validator{r: r}
	v.identity()
	v.sources()
	v.localFiles(fsys, "patches", r.Patches, false)
	v.localFiles(fsys, "files", r.Files, true)
	v.dependencies("dependencies.build", r.Dependencies.Build)
	v.dependencies("dependencies.runtime", r.Dependencies.Runtime)
	v.build()
	v.outputs()
	v.arches()
	v.upstream()
	return v.errs
}

func (v *validator) identity() {
	r := v.r
	folder := path.Base(r.Dir)
	switch {
	case r.Name == "":
		v.at("name", "name is required (use %q, the folder name)", folder)
	case !ValidName(r.Name):
		v.at("name", "invalid name %q: use lower case letters, digits and + . _ -", r.Name)
	case r.Name != folder && r.File != KernelFile: // the one kernel recipe may have any name
		v.at("name", "name %q does not match its folder %q", r.Name, r.Dir)
	}
	switch {
	case r.Version == "":
		v.at("version", "version is required")
	case !validVersion(r.Version):
		v.at("version", "invalid version %q: use letters, digits and . _ + ~ -", r.Version)
	}
	if strings.TrimSpace(r.License) == "" {
		v.at("license", "license is required (an SPDX expression such as \"GPL-2.0-or-later\")")
	} else if msg := checkLicense(r.License); msg != "" {
		v.at("license", "%s", msg)
	}
	if r.Homepage != "" {
		if msg := CheckHTTPURL(r.Homepage); msg != "" {
			v.at("homepage", "homepage: %s", msg)
		}
	}
}

// checkLicense accepts SPDX-style expressions: identifiers joined by AND, OR
// and WITH, with parentheses.
func checkLicense(expr string) string {
	fields := strings.Fields(strings.NewReplacer("(", " ", ")", " ").Replace(expr))
	if len(fields) == 0 {
		return "license is empty"
	}
	op := true // an operator may not come first
	for _, f := range fields {
		switch f {
		case "AND", "OR", "WITH":
			if op {
				return fmt.Sprintf("license %q: operator %s needs a license on both sides", expr, f)
			}
			op = true
			continue
		case "and", "or", "with":
			return fmt.Sprintf("license %q: write the operator %q in upper case", expr, strings.ToUpper(f))
		}
		if !op {
			return fmt.Sprintf("license %q: join licenses with AND, OR or WITH", expr)
		}
		if !validLicenseID(f) {
			return fmt.Sprintf("license %q: %q is not an SPDX identifier", expr, f)
		}
		op = false
	}
	if op {
		return fmt.Sprintf("license %q ends with an operator", expr)
	}
	if strings.Count(expr, "(") != strings.Count(expr, ")") {
		return fmt.Sprintf("license %q: unbalanced parentheses", expr)
	}
	return ""
}

// CheckHTTPURL returns a problem description, or "" when u is an absolute
// http(s) URL with a host.
func CheckHTTPURL(u string) string {
	p, err := url.Parse(u)
	if err != nil {
		return fmt.Sprintf("malformed URL %q: %v", u, err)
	}
	if p.Scheme != "https" && p.Scheme != "http" {
		return fmt.Sprintf("URL %q: only http:// and https:// are allowed", u)
	}
	if p.Host == "" {
		return fmt.Sprintf("URL %q has no host", u)
	}
	return ""
}

func (v *validator) sources() {
	r := v.r
	if len(r.Sources) == 0 {
		// A recipe may repackage what its build environment or the
		// toolchain provides (gcc-libs), but only with its own install.
		if r.Build.Style != StyleCustom || strings.TrimSpace(r.Build.Install) == "" {
			v.at("sources", "at least one source is required under `sources` (only a `style: custom` recipe with its own install script may have none)")
		}
		return
	}
	seen := map[string]int{}
	for i, s := range r.Sources {
		key := fmt.Sprintf("sources[%d]", i)
		var raw, field string
		switch {
		case s.URL != "" && s.Git != "":
			v.at(key, "source %d has both url and git; use one", i+1)
			continue
		case s.URL == "" && s.Git == "":
			v.at(key, "source %d needs url (an archive) or git (a repository)", i+1)
			continue
		case s.URL != "":
			raw, field = s.URL, "url"
			if s.Commit != "" {
				v.at(key+".commit", "commit only applies to git sources")
			}
		default:
			raw, field = s.Git, "git"
			switch {
			case s.Commit == "":
				v.at(key, "git source %d needs a commit (40 hex digits)", i+1)
			case !validCommit(s.Commit):
				v.at(key+".commit", "commit %q is not a full 40-digit lower-case hex SHA-1", s.Commit)
			}
		}
		if bad := r.unknownVars(raw); len(bad) > 0 {
			v.at(key+"."+field, "unknown variable %s (known: ${name}, ${version}, ${version_major}, ${version_minor}, ${version_major_minor}, ${version_underscore})", strings.Join(bad, ", "))
			continue
		}
		u := r.Expand(raw)
		if msg := CheckHTTPURL(u); msg != "" {
			v.at(key+"."+field, "%s", msg)
			continue
		}
		if first, dup := seen[u]; dup {
			v.at(key+"."+field, "duplicate source %s (also source %d)", u, first+1)
		}
		seen[u] = i
		if s.Dest != "" {
			if msg := CheckRelPath(s.Dest); msg != "" {
				v.at(key+".dest", "dest %s", msg)
			}
		}
	}
}

// CheckRelPath returns a problem description, or "" when p is a clean
// relative path that stays below its base.
func CheckRelPath(p string) string {
	switch {
	case p == "":
		return "is empty"
	case strings.HasPrefix(p, "/"):
		return fmt.Sprintf("%q must be relative, not absolute", p)
	case strings.Contains(p, `\`):
		return fmt.Sprintf("%q: use / as the separator", p)
	}
	c := path.Clean(p)
	if c == ".." || strings.HasPrefix(c, "../") {
		return fmt.Sprintf("%q escapes the recipe folder", p)
	}
	if c == "." {
		return fmt.Sprintf("%q names the folder itself", p)
	}
	return ""
}

// localFiles checks patch or file paths: relative, inside the recipe folder
// (also after following symlinks), and present.
func (v *validator) localFiles(fsys fs.FS, key string, paths []string, dirOK bool) {
	seen := map[string]bool{}
	for i, p := range paths {
		k := fmt.Sprintf("%s[%d]", key, i)
		if msg := CheckRelPath(p); msg != "" {
			v.at(k, "%s: %s", key, msg)
			continue
		}
		c := path.Clean(p)
		if seen[c] {
			v.at(k, "%s: %q listed twice", key, p)
			continue
		}
		seen[c] = true
		full := path.Join(v.r.Dir, c)
		resolved, err := resolveInside(fsys, v.r.Dir, full)
		if err != nil {
			v.at(k, "%s: %q: %v", key, p, err)
			continue
		}
		info, err := fs.Stat(fsys, resolved)
		if err != nil {
			v.at(k, "%s: %q does not exist in %s", key, p, v.r.Dir)
			continue
		}
		if info.IsDir() && !dirOK {
			v.at(k, "%s: %q is a folder, expected a file", key, p)
		}
	}
}

// resolveInside follows symlinks along name (a path below root in fsys) and
// returns the resolved path, or an error when a link points outside root.
// Missing components are not an error here: the caller's Stat reports them.
func resolveInside(fsys fs.FS, root, name string) (string, error) {
	rest := strings.Split(strings.TrimPrefix(name, root+"/"), "/")
	cur := root
	for hops := 0; len(rest) > 0; {
		next := path.Join(cur, rest[0])
		rest = rest[1:]
		info, err := fs.Lstat(fsys, next)
		if err != nil || info.Mode()&fs.ModeSymlink == 0 {
			cur = next
			continue
		}
		if hops++; hops > 40 {
			return "", fmt.Errorf("too many levels of symbolic links")
		}
		target, err := fs.ReadLink(fsys, next)
		if err != nil {
			return "", fmt.Errorf("read symlink %s: %w", next, err)
		}
		if path.IsAbs(target) {
			return "", fmt.Errorf("symlink %s points to absolute path %s, outside the recipe folder", next, target)
		}
		dest := path.Join(path.Dir(next), target)
		if dest != root && !strings.HasPrefix(dest, root+"/") {
			return "", fmt.Errorf("symlink %s points to %s, outside the recipe folder %s", next, target, root)
		}
		// Restart from the root with the link's destination in front of
		// what is left, so links inside the destination are followed too.
		if dest != root {
			rest = append(strings.Split(strings.TrimPrefix(dest, root+"/"), "/"), rest...)
		}
		cur = root
	}
	return cur, nil
}

// dependencies checks the references under key (dependencies.build or
// dependencies.runtime): well-formed, not r itself, each once; a runtime
// dependency never names a BuildOnly output, and a build dependency does
// not name a recipe's dev output next to the recipe (which brings it).
func (v *validator) dependencies(key string, deps []string) {
	runtime := key == "dependencies.runtime"
	seen := map[string]bool{}
	for i, d := range deps {
		k := fmt.Sprintf("%s[%d]", key, i)
		ref := ParseRef(d)
		switch {
		case CheckRef(d) != "":
			v.at(k, "%s: %s", key, CheckRef(d))
		case ref.Recipe == v.r.Name:
			v.at(k, "%s: recipe depends on itself", key)
		case seen[d]:
			v.at(k, "%s: %q listed twice", key, d)
		case runtime && BuildOnly(ref.Output):
			v.at(k, "%s: %q: the %s output is for build environments only and never goes into an image; "+
				"list it under dependencies.build (a build dependency on %s brings %s)", key, d, ref.Output, ref.Recipe, d)
		case !runtime && (ref.Main() && seen[ref.Recipe+OutputSep+OutputDev] || ref.Output == OutputDev && seen[ref.Recipe]):
			v.at(k, "%s: %s and %s both listed: a build dependency on %s brings %s:%s already; keep one",
				key, ref.Recipe, ref.Recipe+OutputSep+OutputDev, ref.Recipe, ref.Recipe, OutputDev)
		}
		seen[d] = true
	}
}

// outputs checks the recipe's own outputs: named, each once, with valid
// patterns; and that no two of its effective outputs (SplitOutputs,
// defaults included) claim the same files.
func (v *validator) outputs() {
	r := v.r
	if len(r.Outputs) == 0 {
		return
	}
	if r.Host {
		v.at("outputs", "host recipe %s: outputs do not apply (the toolchain is mounted whole at %s)", r.Name, ToolchainPrefix)
		return
	}
	declared := map[string]int{} // output name -> index in r.Outputs
	for i, o := range r.Outputs {
		k := fmt.Sprintf("outputs[%d]", i)
		switch {
		case o.Name == "":
			v.at(k, "output %d needs a name (default outputs: %s)", i+1, strings.Join(defaultOutputNames(), ", "))
		case !ValidOutputName(o.Name):
			v.at(k+".name", "invalid output name %q: use lower case letters, digits and -", o.Name)
		case o.Name == r.Name:
			v.at(k+".name", "output %q is named like its recipe: the main output has no name of its own "+
				"(it holds what no other output claims; refer to it as %s)", o.Name, r.Name)
		default:
			if first, dup := declared[o.Name]; dup {
				v.at(k+".name", "output %q declared twice (also at line %d)", o.Name, r.LineOf(fmt.Sprintf("outputs[%d]", first)))
				continue
			}
			declared[o.Name] = i
		}
		if len(o.Paths) == 0 {
			v.at(k+".paths", "output %s: paths: at least one pattern is required (usr/include, usr/lib/**/*.a, …)", o.Name)
		}
		seen := map[string]bool{}
		for j, p := range o.Paths {
			pk := fmt.Sprintf("%s.paths[%d]", k, j)
			if msg := CheckPattern(p); msg != "" {
				v.at(pk, "output %s: %s", o.Name, msg)
			} else if seen[p] {
				v.at(pk, "output %s: pattern %q listed twice", o.Name, p)
			}
			seen[p] = true
		}
	}
	// Overlaps between outputs, reported at the declared pattern (the
	// later one when both are declared).
	outs := r.SplitOutputs()
	type pat struct {
		out, p string
		key    string // "" for a default output's pattern
		order  int
	}
	var pats []pat
	for _, o := range outs {
		i, own := declared[o.Name]
		for j, p := range o.Paths {
			if CheckPattern(p) != "" {
				continue
			}
			x := pat{out: o.Name, p: p, order: -1}
			if own {
				x.key, x.order = fmt.Sprintf("outputs[%d].paths[%d]", i, j), i*1000+j
			}
			pats = append(pats, x)
		}
	}
	for a := range pats {
		for b := a + 1; b < len(pats); b++ {
			x, y := pats[a], pats[b]
			if x.out == y.out || !PatternsOverlap(x.p, y.p) {
				continue
			}
			if y.order < x.order {
				x, y = y, x
			}
			if y.key == "" {
				continue // two defaults: cannot happen (TestDefaultOutputsDisjoint)
			}
			other := fmt.Sprintf("output %s's %q", x.out, x.p)
			if x.key == "" {
				other = fmt.Sprintf("the default output %s's %q (declare %s to change its patterns)", x.out, x.p, x.out)
			}
			v.at(y.key, "output %s: pattern %q overlaps %s: a file belongs to one output only", y.out, y.p, other)
		}
	}
}

// defaultOutputNames lists the names of DefaultOutputs.
func defaultOutputNames() []string {
	names := make([]string, len(DefaultOutputs))
	for i, o := range DefaultOutputs {
		names[i] = o.Name
	}
	return names
}

func (v *validator) build() {
	b := v.r.Build
	names := Strings(Styles)
	switch {
	case b.Style == "":
		v.at("build.style", "build.style is required: one of %s", strings.Join(names, ", "))
	case !slices.Contains(Styles, b.Style):
		v.at("build.style", "%s", unknownChoice("unknown build style", string(b.Style), names))
	case b.Style == StyleCustom && strings.TrimSpace(b.Install) == "":
		v.at("build.style", "build style custom runs only the recipe's own phases: build.install is required")
	}
	for k := range b.Env {
		if !textcheck.Identifier(k) {
			v.at("build.env."+k, "build.env: %q is not a valid environment variable name", k)
		}
	}
}

func (v *validator) arches() {
	names := Strings(Arches)
	seen := map[Arch]bool{}
	for i, a := range v.r.Arches {
		k := fmt.Sprintf("arches[%d]", i)
		switch {
		case !slices.Contains(Arches, a):
			v.at(k, "%s", unknownChoice("unsupported arch", string(a), names))
		case seen[a]:
			v.at(k, "arch %q listed twice", a)
		}
		seen[a] = true
	}
}

func (v *validator) upstream() {
	u := v.r.Upstream
	if u == nil {
		return
	}
	kinds := Strings(UpstreamKinds)
	switch {
	case u.Kind == "":
		v.at("upstream", "upstream.kind is required: one of %s", strings.Join(kinds, ", "))
	case !slices.Contains(UpstreamKinds, u.Kind):
		v.at("upstream.kind", "%s", unknownChoice("unknown upstream kind", string(u.Kind), kinds))
	case u.Kind == UpstreamGitHubReleases || u.Kind == UpstreamGitHubTags:
		if !validRepo(u.Repo) {
			v.at("upstream.repo", "upstream kind %s needs repo: \"owner/name\" (got %q)", u.Kind, u.Repo)
		}
	default:
		if u.URL == "" {
			v.at("upstream", "upstream kind %s needs url", u.Kind)
		} else if msg := CheckHTTPURL(u.URL); msg != "" {
			v.at("upstream.url", "upstream.url: %s", msg)
		}
	}
	if u.Regex != "" {
		re, err := regexp.Compile(u.Regex)
		switch {
		case err != nil:
			v.at("upstream.regex", "upstream.regex does not compile: %v", err)
		case re.NumSubexp() < 1:
			v.at("upstream.regex", "upstream.regex needs a capture group around the version")
		}
	}
	if u.Constraint != "" {
		if _, err := semver.NewConstraint(u.Constraint); err != nil {
			v.at("upstream.constraint", "upstream.constraint %q: %v", u.Constraint, err)
		}
	}
	if u.Scheme != "" && !slices.Contains(Schemes, u.Scheme) {
		v.at("upstream.scheme", "unknown upstream.scheme %q; one of %s", u.Scheme, strings.Join(Schemes, ", "))
	}
}

// unknownChoice describes a value that is not one of names: the closest
// name as a suggestion when there is one, else the whole list.
func unknownChoice(what, value string, names []string) string {
	return fmt.Sprintf("%s %q", what, value) + yamlstrict.DidYouMean(value, names, "; one of "+strings.Join(names, ", "))
}

// Strings converts a list of one of the recipe format's string types
// (Arch, Style, UpstreamKind) to plain strings, in order.
func Strings[T ~string](list []T) []string {
	out := make([]string, len(list))
	for i, x := range list {
		out[i] = string(x)
	}
	return out
}
