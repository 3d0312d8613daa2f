package recipe

import (
	"regexp"
	"strings"
)

var varRE = regexp.MustCompile(`\$\{([A-Za-z0-9_]*)\}`)

// Variables returns the values ${...} references expand to in a recipe's
// source URLs: name, version, and the dotted parts of the version
// (version_major, version_minor, version_major_minor) for upstreams that
// put a release series in their paths (e.g. .../v6.x/ or .../5.4/), and
// version_underscore for tags that spell the version with underscores
// (expat's R_2_5_0).
func (r *Recipe) Variables() map[string]string {
	parts := strings.SplitN(r.Version, ".", 3)
	major, minor := parts[0], ""
	if len(parts) > 1 {
		minor = parts[1]
	}
	majMin := major
	if minor != "" {
		majMin = major + "." + minor
	}
	return map[string]string{
		"name":                r.Name,
		"version":             r.Version,
		"version_major":       major,
		"version_minor":       minor,
		"version_major_minor": majMin,
		"version_underscore":  strings.ReplaceAll(r.Version, ".", "_"),
	}
}

// Expand replaces ${name}, ${version} and the other Variables in s. Unknown
// references are left untouched (validation reports them).
func (r *Recipe) Expand(s string) string {
	if !strings.Contains(s, "${") {
		return s
	}
	vars := r.Variables()
	return varRE.ReplaceAllStringFunc(s, func(m string) string {
		if v, ok := vars[m[2:len(m)-1]]; ok {
			return v
		}
		return m
	})
}

// unknownVars lists the ${...} references in s that Expand does not know.
func (r *Recipe) unknownVars(s string) []string {
	vars := r.Variables()
	var out []string
	for _, m := range varRE.FindAllStringSubmatch(s, -1) {
		if _, ok := vars[m[1]]; !ok {
			out = append(out, m[0])
		}
	}
	return out
}

// SourceURL returns the expanded URL of source i: its archive URL, or its git
// remote for git sources. It returns "" when i is out of range.
func (r *Recipe) SourceURL(i int) string {
	if i < 0 || i >= len(r.Sources) {
		return ""
	}
	s := r.Sources[i]
	if s.Git != "" {
		return r.Expand(s.Git)
	}
	return r.Expand(s.URL)
}
