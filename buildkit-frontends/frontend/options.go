package frontend

import (
	"encoding/csv"
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
	"github.com/hadron-linux/hadron/buildkit-frontends/target"
	"github.com/hadron-linux/hadron/internal/recipe"
	"github.com/hadron-linux/hadron/internal/sbom"
	"github.com/hadron-linux/hadron/internal/textcheck"
	"github.com/moby/buildkit/frontend/attestations"
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
	OptKeepToolchain   = "keep-toolchain"
	OptSubstitutes     = "substitutes"
	OptVersionID       = "version-id"
	OptToolsContext    = "tools-context"
	OptFilename        = "filename"
	OptContextName     = "contextkey"
	OptDefinitionName  = "dockerfilekey"
	// OptAttestPrefix starts BuildKit's attestation requests:
	// "attest:sbom", "attest:provenance" (buildctl --opt, buildx --sbom
	// and --provenance). BuildKit's own processors read them too.
	OptAttestPrefix = "attest:"
	// OptVCSSource and OptVCSRevision name the recipe tree's repository
	// and commit, as buildx sets them for a git context; BuildKit's
	// provenance records them, the SBOM too.
	OptVCSSource   = "vcs:source"
	OptVCSRevision = "vcs:revision"
)

// The attestation types BuildKit knows (the <type> of attest:<type>).
const (
	AttestSBOM       = attestations.KeyTypeSbom
	AttestProvenance = attestations.KeyTypeProvenance
)

// Defaults of the options that have one.
const (
	// DefaultFilename is the image definition's path when none is given
	// (what buildx passes without -f).
	DefaultFilename = "Dockerfile"
	// DefaultDefinitionName is the llb.Local holding the image definition.
	DefaultDefinitionName = "dockerfile"
)

// Options are the frontend options of one build: everything a caller
// chooses, whether it comes from `hadron build` in-process or from
// `--opt`/`--build-arg` through the gateway. Attrs writes them as the
// frontend's attributes and ParseOptions reads them back; the conversion
// settings are convert.Settings, declared once there.
type Options struct {
	// Target is what to build (see target.Parse); empty means the image
	// definition named by Filename.
	Target string
	// Platforms are the target platforms (default linux/amd64).
	Platforms []ocispecs.Platform
	// Settings are the conversion's settings: stage 0, epoch, mirrors,
	// check, no-cache (and keep-toolchain), substitutes, the tree's and the
	// tools' contexts.
	convert.Settings
	// Filename is the image definition's path in its local (default
	// DefaultFilename, as buildx passes -f).
	Filename string
	// DefinitionName is the llb.Local holding the image definition
	// (default DefaultDefinitionName).
	DefinitionName string
	// Attest are the attestations asked for, by type (AttestSBOM,
	// AttestProvenance), each with its parameters as the attest:<type>
	// attribute carries them ("mode=max"; "" for none). See WantsSBOM.
	Attest map[string]string
	// VCS is the recipe tree's repository and commit, when known.
	VCS sbom.VCS
}

// WantsSBOM reports whether the build asks for an SBOM attestation that
// Hadron writes from the recipe graph: attest:sbom without a generator
// parameter. With generator=IMAGE, BuildKit's scanner makes it instead.
func (o Options) WantsSBOM() bool {
	v, ok := o.Attest[AttestSBOM]
	if !ok {
		return false
	}
	params, err := attestParams(v)
	if err != nil {
		return false
	}
	_, scanner := params["generator"]
	return !scanner
}

// WithDefaults fills in the default of every option left empty.
func (o Options) WithDefaults() Options {
	if len(o.Platforms) == 0 {
		o.Platforms = []ocispecs.Platform{{OS: "linux", Architecture: "amd64"}}
	}
	if o.ContextName == "" {
		o.ContextName = convert.DefaultContext
	}
	if o.ToolsContext == "" {
		o.ToolsContext = convert.DefaultToolsContext
	}
	if o.Filename == "" {
		o.Filename = DefaultFilename
	}
	if o.DefinitionName == "" {
		o.DefinitionName = DefaultDefinitionName
	}
	return o
}

// ForArch is the converter's options for one architecture of the build.
func (o Options) ForArch(arch recipe.Arch) convert.Options {
	return convert.Options{Arch: arch, Settings: o.Settings}
}

// Attrs writes o as frontend attributes, the keys the gateway image takes
// with --opt: ParseOptions(o.Attrs()) gives o back (with defaults filled
// in). Options at their default are left out.
func (o Options) Attrs() map[string]string {
	attrs := map[string]string{
		OptSourceDateEpoch: strconv.FormatInt(o.SourceDateEpoch, 10),
	}
	set := func(k, v, def string) {
		if v != "" && v != def {
			attrs[k] = v
		}
	}
	set(OptTarget, o.Target, "")
	if len(o.Platforms) > 0 {
		attrs[OptPlatform] = FormatPlatforms(o.Platforms)
	}
	set(OptStage0, o.Stage0, "")
	if len(o.Mirrors) > 0 {
		attrs[OptMirrors] = FormatMirrors(o.Mirrors)
	}
	if o.Check {
		attrs[OptCheck] = "true"
	}
	if o.NoCache {
		attrs[OptNoCache] = "" // BuildKit's convention: present means no cache
	}
	if o.KeepToolchain {
		attrs[OptKeepToolchain] = "true"
	}
	set(OptSubstitutes, strings.Join(o.Substitutes, ","), "")
	set(OptVersionID, o.VersionID, "")
	set(OptContextName, o.ContextName, convert.DefaultContext)
	set(OptToolsContext, o.ToolsContext, convert.DefaultToolsContext)
	set(OptFilename, o.Filename, DefaultFilename)
	set(OptDefinitionName, o.DefinitionName, DefaultDefinitionName)
	for k, v := range o.Attest {
		attrs[OptAttestPrefix+k] = v
	}
	set(OptVCSSource, o.VCS.Source, "")
	set(OptVCSRevision, o.VCS.Revision, "")
	return attrs
}

// ParseOptions reads the frontend options (and build-arg: aliases) and
// fills in defaults.
func ParseOptions(raw map[string]string) (Options, error) {
	lower := lowerKeys(raw)
	get := func(k string) string {
		if v, ok := raw[k]; ok {
			return v
		}
		return lower["build-arg:"+k]
	}
	o := Options{
		Target:         get(OptTarget),
		Filename:       get(OptFilename),
		DefinitionName: get(OptDefinitionName),
	}
	o.Stage0 = get(OptStage0)
	o.ContextName = get(OptContextName)
	o.ToolsContext = get(OptToolsContext)
	if o.Target != "" {
		if _, err := target.Parse(o.Target); err != nil {
			return o, fmt.Errorf("option %s: %w", OptTarget, err)
		}
	}
	if v := get(OptSourceDateEpoch); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 0 {
			return o, fmt.Errorf("option %s=%q: want a non-negative Unix time in seconds", OptSourceDateEpoch, v)
		}
		o.SourceDateEpoch = n
	}
	if v := get(OptVersionID); v != "" {
		if !textcheck.VersionID(v) {
			return o, fmt.Errorf("option %s=%q: want os-release's VERSION_ID: lower-case letters, digits and . _ -, starting with a letter or digit (1.0, 2025.10)", OptVersionID, v)
		}
		o.VersionID = v
	}
	if v := get(OptCheck); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return o, fmt.Errorf("option %s=%q: want true or false", OptCheck, v)
		}
		o.Check = b
	}
	if v := get(OptKeepToolchain); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return o, fmt.Errorf("option %s=%q: want true or false", OptKeepToolchain, v)
		}
		o.KeepToolchain = b
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
	if len(m) > 0 {
		o.Mirrors = m
	}
	if plat := get(OptPlatform); plat != "" {
		ps, err := ParsePlatforms(strings.Split(plat, ","))
		if err != nil {
			return o, fmt.Errorf("option %s=%q: %w", OptPlatform, plat, err)
		}
		o.Platforms = ps
	}
	attest, err := parseAttestAttrs(raw)
	if err != nil {
		return o, err
	}
	o.Attest = attest
	o.VCS = sbom.VCS{Source: get(OptVCSSource), Revision: get(OptVCSRevision)}
	return o.WithDefaults(), nil
}

// parseAttestAttrs reads the attestation requests of a build's attributes
// the way BuildKit does (attestations.Parse: attest:<type> and the
// build-arg:BUILDKIT_ATTEST_<TYPE> aliases), keeping each raw value.
func parseAttestAttrs(raw map[string]string) (map[string]string, error) {
	if _, err := attestations.Parse(raw); err != nil {
		return nil, fmt.Errorf("attestations: %w", err)
	}
	var out map[string]string
	for k, v := range attestations.Filter(raw) {
		typ, ok := strings.CutPrefix(k, OptAttestPrefix)
		if !ok {
			typ = strings.TrimPrefix(k, "build-arg:BUILDKIT_ATTEST_")
		}
		if out == nil {
			out = map[string]string{}
		}
		out[strings.ToLower(typ)] = v
	}
	return out, nil
}

// ParseAttest reads --attest specs the way buildx writes them,
// "type=sbom" and "type=provenance,mode=max", into Options.Attest: the
// parameters other than type become the attest:<type> value. A spec with
// disabled=true drops its type.
func ParseAttest(specs []string) (map[string]string, error) {
	var out map[string]string
	for _, spec := range specs {
		fields, err := csv.NewReader(strings.NewReader(spec)).Read()
		if err != nil {
			return nil, fmt.Errorf("--attest %q: %w", spec, err)
		}
		var typ string
		var rest []string
		disabled := false
		for _, f := range fields {
			k, v, _ := strings.Cut(f, "=")
			switch strings.ToLower(strings.TrimSpace(k)) {
			case "type":
				typ = strings.ToLower(strings.TrimSpace(v))
			case "disabled":
				disabled, _ = strconv.ParseBool(v)
			default:
				rest = append(rest, f)
			}
		}
		if typ != AttestSBOM && typ != AttestProvenance {
			return nil, fmt.Errorf("--attest %q: want type=%s or type=%s", spec, AttestSBOM, AttestProvenance)
		}
		if out == nil {
			out = map[string]string{}
		}
		if disabled {
			delete(out, typ)
			continue
		}
		var b strings.Builder
		w := csv.NewWriter(&b)
		if len(rest) > 0 {
			if err := w.Write(rest); err != nil {
				return nil, fmt.Errorf("--attest %q: %w", spec, err)
			}
			w.Flush()
		}
		out[typ] = strings.TrimSuffix(b.String(), "\n")
		if _, err := attestParams(out[typ]); err != nil {
			return nil, fmt.Errorf("--attest %q: %w", spec, err)
		}
	}
	return out, nil
}

// attestParams parses an attest:<type> value ("mode=max,reproducible=true")
// into its parameters.
func attestParams(v string) (map[string]string, error) {
	out := map[string]string{}
	if v == "" {
		return out, nil
	}
	fields, err := csv.NewReader(strings.NewReader(v)).Read()
	if err != nil {
		return nil, fmt.Errorf("attestation parameters %q: %w", v, err)
	}
	for _, f := range fields {
		k, val, _ := strings.Cut(f, "=")
		out[k] = val
	}
	return out, nil
}

// ParsePlatforms parses OCI platform specs ("linux/arm64"), normalised.
func ParsePlatforms(specs []string) ([]ocispecs.Platform, error) {
	out := make([]ocispecs.Platform, 0, len(specs))
	for _, s := range specs {
		p, err := platforms.Parse(strings.TrimSpace(s))
		if err != nil {
			return nil, err
		}
		out = append(out, platforms.Normalize(p))
	}
	return out, nil
}

// FormatPlatforms is the inverse of ParsePlatforms, comma-separated.
func FormatPlatforms(ps []ocispecs.Platform) string {
	parts := make([]string, len(ps))
	for i, p := range ps {
		parts[i] = platforms.Format(p)
	}
	return strings.Join(parts, ",")
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
		"(hadron build, buildctl and docker buildx take the same flag); boot targets need %s, sysext targets %s",
		e.ID, e.ID, strings.Join(convert.BootSecrets, ", "), strings.Join(convert.SysextSecrets, ", "))
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
	// BuildKit writes "digest mismatch for URL: GOT (expected: PINNED)".
	// Several recipes may fetch the same URL (gcc builds with the musl
	// tarball the musl recipe also fetches), so the pinned digest decides
	// whose pin failed; the other order is accepted as a fallback.
	got, pinned := strings.TrimPrefix(m[1], "sha256:"), strings.TrimPrefix(m[2], "sha256:")
	for _, try := range [][2]string{{pinned, got}, {got, pinned}} {
		for _, s := range sources {
			if s.SHA256 != try[0] {
				continue
			}
			ce := &ChecksumError{Recipe: s.Recipe, URL: s.URL, Fetched: s.Fetched, Expected: try[0], Actual: "sha256:" + try[1]}
			if s.Substitute != nil {
				ce.Substitute, ce.File = s.Substitute.Name, s.Substitute.File
			}
			return ce
		}
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
