// Package config reads hadron.yaml, the project's settings file, strictly:
// unknown keys (with a did-you-mean), values of the wrong type and values
// that cannot work (a mirror that is not http or https, a malformed image
// reference, a relative path that would depend on the working directory)
// are all reported at once, each as "file:line: message", before any
// command acts on them. The CLI layers HADRON_* variables and flags on top
// (cmd/hadron); this package only knows the file.
package config

import (
	"encoding/csv"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/containerd/platforms"
	"github.com/distribution/reference"

	"github.com/hadron-linux/hadron/internal/engine"
	"github.com/hadron-linux/hadron/internal/errlist"
	"github.com/hadron-linux/hadron/internal/substitute"
	"github.com/hadron-linux/hadron/internal/textcheck"
	"github.com/hadron-linux/hadron/internal/yamlstrict"
)

// FileName is the settings file's name in the tree root.
const FileName = "hadron.yaml"

// File is hadron.yaml. Every key is also a flag of the commands that use
// it (the `engine:` keys are flags of `hadron engine`) and a HADRON_*
// variable (HADRON_SOURCE_DATE_EPOCH, HADRON_ENGINE_ROOT).
type File struct {
	// Addr is the BuildKit address (tcp://, unix://, docker-container://…).
	Addr string `yaml:"addr"`
	// TLSCACert, TLSCert, TLSKey and TLSServerName set up TLS for a
	// remote BuildKit at Addr (tcp://): CA certificate, client
	// certificate and key (PEM files), expected server name.
	TLSCACert     string `yaml:"tls-ca-cert"`
	TLSCert       string `yaml:"tls-cert"`
	TLSKey        string `yaml:"tls-key"`
	TLSServerName string `yaml:"tls-server-name"`
	// Stage0 is the stage-0 image reference.
	Stage0 string `yaml:"stage0"`
	// Platform lists the target platforms ("linux/amd64").
	Platform []string `yaml:"platform"`
	// SourceDateEpoch is SOURCE_DATE_EPOCH for builds.
	SourceDateEpoch int64 `yaml:"source-date-epoch"`
	// VersionID is the tree's release, written as VERSION_ID into every
	// image's os-release ("1.0", "2025.10").
	VersionID string `yaml:"version-id"`
	// Mirrors maps upstream URL prefixes to mirror URL prefixes.
	Mirrors map[string]string `yaml:"mirrors"`
	// Check runs recipes' check phases.
	Check bool `yaml:"check"`
	// Substitutes names declared substitutes builds may use.
	Substitutes []string `yaml:"substitutes"`
	// NoCache re-runs every build step.
	NoCache bool `yaml:"no-cache"`
	// CacheTo and CacheFrom are BuildKit cache export and import specs
	// ("type=registry,ref=host/cache,mode=max").
	CacheTo   []string `yaml:"cache-to"`
	CacheFrom []string `yaml:"cache-from"`
	// Attest are the attestations builds ask for, as `--attest` takes
	// them ("type=sbom", "type=provenance,mode=max").
	Attest []string `yaml:"attest"`
	// Progress is the progress display: auto, plain, tty, rawjson, quiet.
	Progress string `yaml:"progress"`
	// ToolsDir holds the hadron binary that ELF gates and boot steps run
	// in BuildKit.
	ToolsDir string `yaml:"tools-dir"`
	// Jobs is how many recipes `hashes` and `bump` handle at once.
	Jobs int `yaml:"jobs"`
	// Retries is how often a download is retried.
	Retries int `yaml:"retries"`
	// Timeout is `bump`'s time limit per recipe ("15m").
	Timeout string `yaml:"timeout"`
	// CacheDir keeps downloads of `hashes` and `bump`.
	CacheDir string `yaml:"cache-dir"`
	// GitHubAPI is the GitHub REST API base URL for `bump`.
	GitHubAPI string `yaml:"github-api"`
	// Report is `bump`'s report format: markdown or json.
	Report string `yaml:"report"`
	// Engine configures the local engine (`hadron engine`).
	Engine Engine `yaml:"engine"`

	lines yamlstrict.Lines // keys the file sets, with their lines
	file  string
}

// Engine is hadron.yaml's `engine:` section.
type Engine struct {
	Root               string   `yaml:"root"`
	Binary             string   `yaml:"binary"`
	InsecureRegistries []string `yaml:"insecure-registries"`
	GCKeepStorage      string   `yaml:"gc-keep-storage"`
	Debug              bool     `yaml:"debug"`
}

// Load reads and checks the settings file at path. A relative path in the
// file (tools-dir, cache-dir, engine.root, engine.binary) is taken
// relative to the file's folder and returned absolute. Every problem is
// returned as one errlist.List; the File is returned too, as far as it
// could be read.
func Load(path string) (*File, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read settings: %w", err)
	}
	return Parse(path, data)
}

// Parse is Load for data already read from path.
func Parse(path string, data []byte) (*File, error) {
	f := &File{}
	lines, err := yamlstrict.Decode(path, data, f)
	f.lines, f.file = lines, path
	var errs errlist.List
	errs.Append(err)
	if len(errs) == 1 && errs[0].Msg == "empty document" {
		return f, nil // only comments: sets nothing
	}
	decodeLines := map[int]bool{}
	for _, e := range errs {
		decodeLines[e.Line] = true
	}
	c := &checker{file: path, lines: lines}
	f.check(c, filepath.Dir(path))
	for _, e := range c.errs {
		if !decodeLines[e.Line] {
			errs = append(errs, e)
		}
	}
	return f, errs.Sorted().Err()
}

// checker collects value problems at the lines of their keys.
type checker struct {
	file  string
	lines yamlstrict.Lines
	errs  errlist.List
}

func (c *checker) addf(key, format string, args ...any) {
	c.errs.Addf(c.file, c.lines.Of(key), "%s: %s", key, fmt.Sprintf(format, args...))
}

// check validates every set value of f and makes its paths absolute.
func (f *File) check(c *checker, dir string) {
	if f.Addr != "" {
		c.checkAddr("addr", f.Addr)
	}
	if f.Stage0 != "" {
		if _, err := reference.ParseNormalizedNamed(f.Stage0); err != nil {
			c.addf("stage0", "%q is not an image reference: %v", f.Stage0, err)
		}
	}
	for i, p := range f.Platform {
		key := fmt.Sprintf("platform[%d]", i)
		if pl, err := platforms.Parse(p); err != nil {
			c.addf(key, "%v", err)
		} else if pl.OS != "linux" {
			c.addf(key, "%q: Hadron builds linux platforms only", p)
		}
	}
	if f.VersionID != "" && !textcheck.VersionID(f.VersionID) {
		c.addf("version-id", "%q: want os-release's VERSION_ID: lower-case letters, digits and . _ -, starting with a letter or digit (1.0, 2025.10)", f.VersionID)
	} else if f.VersionID == "" && c.lines["version-id"] != 0 {
		c.addf("version-id", "empty; leave the key out for no VERSION_ID")
	}
	if f.SourceDateEpoch < 0 {
		c.addf("source-date-epoch", "%d is before 1970; want seconds since the epoch", f.SourceDateEpoch)
	}
	for _, from := range sortedKeys(f.Mirrors) {
		key := "mirrors." + from
		c.checkHTTP(key, "upstream prefix", from)
		c.checkHTTP(key, "mirror", f.Mirrors[from])
	}
	for i, s := range f.Substitutes {
		if s == "" || strings.ContainsAny(s, "/\\ \t") {
			c.addf(fmt.Sprintf("substitutes[%d]", i), "%q is not a substitute name (a file name in vendor-hashes/substitutes, without .yaml)", s)
		}
	}
	for i, s := range f.CacheTo {
		if err := CheckCacheSpec(s, true); err != nil {
			c.addf(fmt.Sprintf("cache-to[%d]", i), "%v", err)
		}
	}
	for i, s := range f.CacheFrom {
		if err := CheckCacheSpec(s, false); err != nil {
			c.addf(fmt.Sprintf("cache-from[%d]", i), "%v", err)
		}
	}
	for i, s := range f.Attest {
		if err := CheckAttestSpec(s); err != nil {
			c.addf(fmt.Sprintf("attest[%d]", i), "%v", err)
		}
	}
	if f.Progress != "" {
		c.oneOf("progress", f.Progress, "auto", "plain", "tty", "rawjson", "quiet")
	}
	if f.Report != "" {
		c.oneOf("report", f.Report, "markdown", "json")
	}
	if f.Jobs < 0 || (f.Jobs == 0 && c.lines["jobs"] != 0) {
		c.addf("jobs", "want at least 1, got %d", f.Jobs)
	}
	if f.Retries < 0 {
		c.addf("retries", "want 0 or more, got %d", f.Retries)
	}
	if f.Timeout != "" {
		if d, err := time.ParseDuration(f.Timeout); err != nil || d <= 0 {
			c.addf("timeout", "%q is not a positive duration such as 15m or 1h30m", f.Timeout)
		}
	}
	if f.GitHubAPI != "" {
		c.checkHTTP("github-api", "URL", f.GitHubAPI)
	}
	f.TLSCACert = c.path("tls-ca-cert", f.TLSCACert, dir)
	f.TLSCert = c.path("tls-cert", f.TLSCert, dir)
	f.TLSKey = c.path("tls-key", f.TLSKey, dir)
	if (f.TLSCert == "") != (f.TLSKey == "") {
		c.addf("tls-cert", "tls-cert and tls-key go together")
	}
	f.ToolsDir = c.path("tools-dir", f.ToolsDir, dir)
	f.CacheDir = c.path("cache-dir", f.CacheDir, dir)
	f.Engine.Root = c.path("engine.root", f.Engine.Root, dir)
	f.Engine.Binary = c.path("engine.binary", f.Engine.Binary, dir)
	for i, r := range f.Engine.InsecureRegistries {
		if err := engine.CheckRegistryHost(r); err != nil {
			c.addf(fmt.Sprintf("engine.insecure-registries[%d]", i), "%v", err)
		}
	}
	if s := f.Engine.GCKeepStorage; s != "" {
		if err := engine.CheckDiskSpace(s); err != nil {
			c.addf("engine.gc-keep-storage", "%q: %v", s, err)
		}
	}
}

// CheckAttestSpec checks an attestation request in buildx's CSV syntax:
// type=sbom or type=provenance, then the type's parameters.
func CheckAttestSpec(spec string) error {
	fields, err := csv.NewReader(strings.NewReader(spec)).Read()
	if err != nil {
		return fmt.Errorf("%q: %w", spec, err)
	}
	for _, f := range fields {
		if k, v, _ := strings.Cut(f, "="); strings.EqualFold(strings.TrimSpace(k), "type") {
			if t := strings.ToLower(strings.TrimSpace(v)); t == "sbom" || t == "provenance" {
				return nil
			}
			return fmt.Errorf("%q: unknown attestation type %q (want sbom or provenance)", spec, v)
		}
	}
	return fmt.Errorf("%q: no type= (want type=sbom or type=provenance)", spec)
}

// CheckCacheSpec checks a BuildKit cache export (export true) or import
// spec in buildctl's CSV syntax: a known type= and the attribute that type
// cannot do without (ref= for registry, dest= or src= for local).
// BuildKit's own parser also takes bare references, deprecated, and
// finds a missing ref only when the build runs.
func CheckCacheSpec(spec string, export bool) error {
	fields, err := csv.NewReader(strings.NewReader(spec)).Read()
	if err != nil {
		return fmt.Errorf("%q: %w", spec, err)
	}
	attrs := map[string]string{}
	for _, f := range fields {
		k, v, ok := strings.Cut(f, "=")
		if !ok {
			return fmt.Errorf("%q: %q is not key=value", spec, f)
		}
		attrs[strings.ToLower(strings.TrimSpace(k))] = v
	}
	types := []string{"registry", "local", "inline", "gha", "s3", "azblob"}
	t := attrs["type"]
	need := ""
	switch t {
	case "":
		return fmt.Errorf("%q: no type= (want one of %s)", spec, strings.Join(types, ", "))
	case "registry":
		need = "ref"
	case "local":
		need = "src"
		if export {
			need = "dest"
		}
	default:
		if !slices.Contains(types, t) {
			return fmt.Errorf("%q: unknown cache type %q (want one of %s)", spec, t, strings.Join(types, ", "))
		}
	}
	if need != "" && attrs[need] == "" {
		return fmt.Errorf("%q: type=%s needs %s=", spec, t, need)
	}
	if m, ok := attrs["mode"]; ok && export && m != "min" && m != "max" {
		return fmt.Errorf("%q: mode=%s: want min or max", spec, m)
	}
	return nil
}

// checkAddr accepts the BuildKit address schemes buildctl connects to.
func (c *checker) checkAddr(key, addr string) {
	scheme, rest, ok := strings.Cut(addr, "://")
	known := []string{"tcp", "unix", "docker-container", "podman-container", "nerdctl-container", "kube-pod", "ssh", "npipe"}
	switch {
	case !ok:
		c.addf(key, "%q has no scheme: use tcp://HOST:PORT, unix:///PATH or docker-container://NAME", addr)
	case !slices.Contains(known, scheme):
		c.addf(key, "%q: unknown scheme %q; want one of %s", addr, scheme, strings.Join(known, ", "))
	case rest == "":
		c.addf(key, "%q names no host, path or container", addr)
	}
}

// checkHTTP accepts absolute http and https URLs: BuildKit downloads
// sources over nothing else.
func (c *checker) checkHTTP(key, what, s string) {
	u, err := url.Parse(s)
	switch {
	case err != nil:
		c.addf(key, "%s %q: %v", what, s, err)
	case u.Scheme != "http" && u.Scheme != "https":
		scheme := u.Scheme
		if scheme == "" {
			scheme = "none"
		}
		c.addf(key, "%s %q: scheme %s; only http and https URLs can be downloaded", what, s, scheme)
	case u.Host == "":
		c.addf(key, "%s %q has no host", what, s)
	}
}

// oneOf reports v unless it is one of allowed.
func (c *checker) oneOf(key, v string, allowed ...string) {
	if !slices.Contains(allowed, v) {
		c.addf(key, "%q: want one of %s%s", v, strings.Join(allowed, ", "), yamlstrict.DidYouMean(v, allowed, ""))
	}
}

// path returns p made absolute against dir. A key given as an empty
// string is a problem: it would silently mean the default.
func (c *checker) path(key, p, dir string) string {
	if p == "" {
		if c.lines[key] != 0 {
			c.addf(key, "empty path; leave the key out for the default")
		}
		return ""
	}
	if strings.ContainsRune(p, 0) {
		c.addf(key, "path contains a NUL byte")
		return p
	}
	if p == "~" || strings.HasPrefix(p, "~/") {
		c.addf(key, "%q: ~ is not expanded; write the path out", p)
		return p
	}
	if !filepath.IsAbs(p) {
		abs, err := filepath.Abs(filepath.Join(dir, p))
		if err != nil {
			c.addf(key, "%v", err)
			return p
		}
		return abs
	}
	return filepath.Clean(p)
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// Values returns the values the file sets as viper takes them (nested
// maps keyed like the YAML, paths made absolute). Keys the file does not
// set are left out, so that they fall through to their flag defaults.
func (f *File) Values() map[string]any {
	set := func(key string) bool { _, ok := f.lines[key]; return ok }
	all := map[string]any{
		"addr": f.Addr, "stage0": f.Stage0, "tls-ca-cert": f.TLSCACert, "tls-cert": f.TLSCert,
		"tls-key": f.TLSKey, "tls-server-name": f.TLSServerName, "platform": f.Platform,
		"source-date-epoch": f.SourceDateEpoch, "version-id": f.VersionID, "mirrors": f.Mirrors, "check": f.Check,
		"substitutes": f.Substitutes, "no-cache": f.NoCache, "cache-to": f.CacheTo,
		"cache-from": f.CacheFrom, "attest": f.Attest, "progress": f.Progress, "tools-dir": f.ToolsDir,
		"jobs": f.Jobs, "retries": f.Retries, "timeout": f.Timeout, "cache-dir": f.CacheDir,
		"github-api": f.GitHubAPI, "report": f.Report,
	}
	out := map[string]any{}
	for k, v := range all {
		if set(k) {
			out[k] = v
		}
	}
	eng := map[string]any{}
	for k, v := range map[string]any{
		"root": f.Engine.Root, "binary": f.Engine.Binary,
		"insecure-registries": f.Engine.InsecureRegistries,
		"gc-keep-storage":     f.Engine.GCKeepStorage, "debug": f.Engine.Debug,
	} {
		if set("engine." + k) {
			eng[k] = v
		}
	}
	if len(eng) > 0 {
		out["engine"] = eng
	}
	return out
}

// CheckTree reports what the file names that the tree lacks: substitutes
// that vendor-hashes/substitutes does not declare.
func (f *File) CheckTree(substitutes map[string]*substitute.Substitute) errlist.List {
	var errs errlist.List
	names := make([]string, 0, len(substitutes))
	for n := range substitutes {
		names = append(names, n)
	}
	slices.Sort(names)
	for i, s := range f.Substitutes {
		if _, ok := substitutes[s]; !ok {
			key := fmt.Sprintf("substitutes[%d]", i)
			errs.Addf(f.file, f.lines.Of(key), "%s: no declared substitute %q in vendor-hashes/substitutes%s",
				key, s, yamlstrict.DidYouMean(s, names, ""))
		}
	}
	return errs
}
