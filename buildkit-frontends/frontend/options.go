package frontend

import (
	"errors"
	"fmt"
	"io/fs"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing/fstest"

	"github.com/containerd/platforms"
	"github.com/hadron-linux/hadron/buildkit-frontends/convert"
	"github.com/hadron-linux/hadron/internal/recipe"
	ocispecs "github.com/opencontainers/image-spec/specs-go/v1"
)

// Option keys understood by the frontend. Each may also be given as a
// build arg (`--build-arg stage0=...` becomes "build-arg:stage0"), which is
// how `docker buildx build` passes them.
const (
	OptTarget          = "target"
	OptPlatform        = "platform"
	OptStage0          = "stage0"
	OptSourceDateEpoch = "source-date-epoch"
	OptMirrors         = "mirrors"
	OptCheck           = "check"
	OptNoCache         = "no-cache"
	OptSubstitutes     = "substitutes"
	OptFilename        = "filename"
	OptContextName     = "contextkey"
	OptDefinitionName  = "dockerfilekey"
)

// Options are the parsed frontend options.
type Options struct {
	// Target is what to build: a recipe, an image or <image>/boot; empty
	// means the image definition named by Filename.
	Target string
	// Platforms are the target platforms (default linux/amd64).
	Platforms []ocispecs.Platform
	// Stage0 is the image reference of the stage-0 build environment.
	Stage0 string
	// SourceDateEpoch is exported to every step and used for file times.
	SourceDateEpoch int64
	// Mirrors maps an upstream URL prefix to a replacement prefix.
	Mirrors map[string]string
	// Check adds each recipe's check phase.
	Check bool
	// NoCache re-runs every build step instead of using cached results.
	NoCache bool
	// Substitutes names the declared substitutes the build may use
	// (comma-separated in the option).
	Substitutes []string
	// Filename is the image definition's path in its local (default
	// "Dockerfile", as buildx passes -f).
	Filename string
	// ContextName is the llb.Local holding the project tree.
	ContextName string
	// DefinitionName is the llb.Local holding the image definition
	// (default "dockerfile").
	DefinitionName string
}

// ParseOptions reads the frontend options (and build-arg: aliases).
func ParseOptions(raw map[string]string) (Options, error) {
	get := func(k string) string {
		if v, ok := raw[k]; ok {
			return v
		}
		return lowerKeys(raw)["build-arg:"+k]
	}
	o := Options{
		Target:         get(OptTarget),
		Stage0:         get(OptStage0),
		Filename:       get(OptFilename),
		ContextName:    get(OptContextName),
		DefinitionName: get(OptDefinitionName),
	}
	if o.Filename == "" {
		o.Filename = "Dockerfile"
	}
	if o.ContextName == "" {
		o.ContextName = convert.DefaultContext
	}
	if o.DefinitionName == "" {
		o.DefinitionName = "dockerfile"
	}
	if v := get(OptSourceDateEpoch); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 0 {
			return o, fmt.Errorf("option %s=%q: want a non-negative Unix time in seconds", OptSourceDateEpoch, v)
		}
		o.SourceDateEpoch = n
	}
	if v := get(OptCheck); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return o, fmt.Errorf("option %s=%q: want true or false", OptCheck, v)
		}
		o.Check = b
	}
	if v, ok := raw[OptNoCache]; ok {
		// BuildKit's convention: present (even empty) means "no cache".
		o.NoCache = v == "" || v == "true" || v == "1"
	}
	for _, n := range strings.Split(get(OptSubstitutes), ",") {
		if n = strings.TrimSpace(n); n != "" {
			o.Substitutes = append(o.Substitutes, n)
		}
	}
	m, err := ParseMirrors(get(OptMirrors))
	if err != nil {
		return o, err
	}
	o.Mirrors = m
	plat := get(OptPlatform)
	if plat == "" {
		o.Platforms = []ocispecs.Platform{{OS: "linux", Architecture: "amd64"}}
	} else {
		for _, s := range strings.Split(plat, ",") {
			p, err := platforms.Parse(strings.TrimSpace(s))
			if err != nil {
				return o, fmt.Errorf("option %s=%q: %w", OptPlatform, plat, err)
			}
			o.Platforms = append(o.Platforms, platforms.Normalize(p))
		}
	}
	return o, nil
}

// ConvertOptions derives the converter options for one arch.
func ConvertOptions(o Options, arch recipe.Arch) convert.Options {
	return convert.Options{
		Arch:            arch,
		Stage0:          o.Stage0,
		SourceDateEpoch: o.SourceDateEpoch,
		Mirrors:         o.Mirrors,
		Check:           o.Check,
		NoCache:         o.NoCache,
		ContextName:     o.ContextName,
		Substitutes:     o.Substitutes,
	}
}

// ParseMirrors parses "prefix=replacement" pairs separated by ';' or
// newlines (URLs may contain commas).
func ParseMirrors(s string) (map[string]string, error) {
	out := map[string]string{}
	for _, item := range strings.FieldsFunc(s, func(r rune) bool { return r == ';' || r == '\n' }) {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		k, v, ok := strings.Cut(item, "=")
		if !ok || k == "" || v == "" {
			return nil, fmt.Errorf("option %s: %q is not prefix=replacement", OptMirrors, item)
		}
		out[k] = v
	}
	return out, nil
}

// FormatMirrors is the inverse of ParseMirrors, sorted for stable cache keys.
func FormatMirrors(m map[string]string) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		parts = append(parts, k+"="+m[k])
	}
	return strings.Join(parts, ";")
}

// ChecksumError is a source whose content does not match its pin.
type ChecksumError struct {
	Recipe   string
	URL      string // upstream URL, as in the recipe
	Fetched  string // URL actually fetched (after mirror rewriting)
	Expected string // pinned digest, "sha256:<hex>"
	Actual   string // digest of what was fetched, "sha256:<hex>"
	// Substitute names the declared substitute whose file this was, and
	// File is where it is declared; both empty for upstream sources.
	Substitute, File string
}

// Error names the recipe, the source and both digests, and says how to pin
// a source that really changed upstream.
func (e *ChecksumError) Error() string {
	from := ""
	if e.Fetched != "" && e.Fetched != e.URL {
		from = " (fetched from " + e.Fetched + ")"
	}
	if e.Substitute != "" {
		return fmt.Sprintf("checksum mismatch for recipe %s: source %s, substitute %s (%s): file %s: expected sha256:%s, got %s; "+
			"the substitute's file changed: review it and pin it again in %s", e.Recipe, e.URL, e.Substitute, e.File, e.Fetched, e.Expected, e.Actual, e.File)
	}
	return fmt.Sprintf("checksum mismatch for recipe %s: source %s%s: expected sha256:%s, got %s; "+
		"if upstream really changed the file, review it and run `hadron hashes pin %s`",
		e.Recipe, e.URL, from, e.Expected, e.Actual, e.Recipe)
}

var mismatchRe = regexp.MustCompile(`digest mismatch(?: for \S+:)? (sha256:[0-9a-f]{64})(?::| \(expected:) (sha256:[0-9a-f]{64})`)

// MissingSecretError is a build step whose secret was not passed to the
// build. It names the secret id and how to pass it, never any content.
type MissingSecretError struct {
	ID  string // the secret's id, as in --secret id=...
	Err error  // BuildKit's error
}

// Error names the secret and the flag that passes it.
func (e *MissingSecretError) Error() string {
	return fmt.Sprintf("secret %q was not passed to the build: pass --secret id=%s,src=PATH "+
		"(hadron build, buildctl and docker buildx take the same flag); boot targets need %s",
		e.ID, e.ID, strings.Join(convert.BootSecrets, ", "))
}

// Unwrap returns BuildKit's original error.
func (e *MissingSecretError) Unwrap() error { return e.Err }

var missingSecretRe = regexp.MustCompile(`secret ([A-Za-z0-9._-]+): not found`)

// ExplainSolveError maps BuildKit's "digest mismatch" to a ChecksumError
// naming the recipe, the upstream URL and both digests, and "secret X: not
// found" to a MissingSecretError. Other errors pass through unchanged.
func ExplainSolveError(err error, sources []convert.SourceRef) error {
	if err == nil {
		return nil
	}
	if m := missingSecretRe.FindStringSubmatch(err.Error()); m != nil {
		return &MissingSecretError{ID: m[1], Err: err}
	}
	m := mismatchRe.FindStringSubmatch(err.Error())
	if m == nil {
		return err
	}
	a, b := strings.TrimPrefix(m[1], "sha256:"), strings.TrimPrefix(m[2], "sha256:")
	for _, s := range sources {
		var ce *ChecksumError
		switch s.SHA256 {
		case b:
			ce = &ChecksumError{Recipe: s.Recipe, URL: s.URL, Fetched: s.Fetched, Expected: b, Actual: "sha256:" + a}
		case a:
			ce = &ChecksumError{Recipe: s.Recipe, URL: s.URL, Fetched: s.Fetched, Expected: a, Actual: "sha256:" + b}
		default:
			continue
		}
		if s.Substitute != nil {
			ce.Substitute, ce.File = s.Substitute.Name, s.Substitute.File
		}
		return ce
	}
	return err
}

// IsChecksumError reports whether err is (or wraps) a ChecksumError.
func IsChecksumError(err error) bool {
	var ce *ChecksumError
	return errors.As(err, &ce)
}

func mapFS(files map[string][]byte) fs.FS {
	m := fstest.MapFS{}
	for k, v := range files {
		m[k] = &fstest.MapFile{Data: v, Mode: 0o644}
	}
	return m
}
