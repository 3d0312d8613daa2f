// Package lockfile reads and writes vendor-hashes/<recipe>.lock: the pinned
// checksums of every upstream source of one recipe version. Nothing is
// fetched without a pin (DESIGN.md invariant 1).
package lockfile

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/hadron-linux/hadron/internal/atomicfile"
	"github.com/hadron-linux/hadron/internal/errlist"
	"github.com/hadron-linux/hadron/internal/parallel"
	"github.com/hadron-linux/hadron/internal/textcheck"
	"github.com/hadron-linux/hadron/internal/yamlstrict"
	"gopkg.in/yaml.v3"
)

// Dir is the folder holding lock files, relative to the tree root.
const Dir = "vendor-hashes"

// Ext is the lock file extension.
const Ext = ".lock"

// PathFor returns the lock file path of a recipe relative to the tree root.
func PathFor(recipe string) string { return Dir + "/" + recipe + Ext }

// Lock pins the sources of one version of one recipe.
type Lock struct {
	Recipe  string `yaml:"recipe"`
	Version string `yaml:"version"`
	Sources []Pin  `yaml:"sources"`

	// File is the lock file's path relative to the tree root. Set by Load.
	File string `yaml:"-"`
	// Line is the line of the lock's first key. Set by Load.
	Line int `yaml:"-"`
}

// Pin is the checksum of one source. Archive sources set URL, SHA256, SHA512
// and Size; git sources set Git and Commit only. URLs are the expanded
// upstream URLs (before any mirror rewrite).
type Pin struct {
	URL    string `yaml:"url,omitempty"`
	Git    string `yaml:"git,omitempty"`
	Commit string `yaml:"commit,omitempty"`
	SHA256 string `yaml:"sha256,omitempty"`
	SHA512 string `yaml:"sha512,omitempty"`
	Size   int64  `yaml:"size,omitempty"`
	// Note says where a pin's digest comes from when it could not be
	// computed here: an archive pin may leave sha512 and size out only
	// with a note (e.g. the sha256 kernel.org publishes in its signed
	// sha256sums.asc, for a tarball this machine cannot download).
	// `hadron hashes pin` fills in all three and drops the note.
	Note string `yaml:"note,omitempty"`

	// Line is the pin's line in the lock file. Set by Load.
	Line int `yaml:"-"`
}

// Load reads and strictly decodes the lock file at path in fsys, and checks
// its own consistency (digest formats, one of url or git per pin). Problems
// come back as an errlist.List.
func Load(fsys fs.FS, file string) (*Lock, error) {
	data, err := fs.ReadFile(fsys, file)
	if err != nil {
		return nil, errlist.List{{File: file, Msg: fmt.Sprintf("read lock file: %v", err)}}
	}
	l := &Lock{}
	lines, ok := decodeCanonical(data, l)
	if !ok {
		lines, err = yamlstrict.Decode(file, data, l)
	}
	l.File = file
	l.Line = lines.Of("recipe")
	if l.Line == 0 {
		l.Line = 1
	}
	if err != nil {
		return l, err
	}
	var errs errlist.List
	if l.Recipe == "" {
		errs.Addf(file, l.Line, "recipe is required")
	}
	if l.Version == "" {
		errs.Addf(file, l.Line, "version is required")
	}
	for i, p := range l.Sources {
		key := fmt.Sprintf("sources[%d]", i)
		errs = append(errs, p.Check(file, func(k string) int { return lines.Of(key + k) })...)
	}
	return l, errs.Sorted().Err()
}

// Check validates one pin on its own: file is the file it was read from,
// line maps ".sha256" etc. to lines there. Substitutes pin their files
// with the same rules.
func (p Pin) Check(file string, line func(string) int) errlist.List {
	var errs errlist.List
	switch {
	case p.URL != "" && p.Git != "":
		errs.Addf(file, line(""), "pin has both url and git")
	case p.URL == "" && p.Git == "":
		errs.Addf(file, line(""), "pin needs url or git")
	case p.Git != "":
		if !textcheck.LowerHex(p.Commit, 40) {
			errs.Addf(file, line(".commit"), "pin for %s: malformed commit %q (want 40 hex digits)", p.Git, p.Commit)
		}
		if p.SHA256 != "" || p.SHA512 != "" || p.Size != 0 {
			errs.Addf(file, line(""), "pin for git %s: sha256, sha512 and size apply to archives only", p.Git)
		}
	default:
		if !textcheck.LowerHex(p.SHA256, 64) {
			errs.Addf(file, line(".sha256"), "pin for %s: malformed sha256 %q (want 64 lower-case hex digits)", p.URL, p.SHA256)
		}
		noted := strings.TrimSpace(p.Note) != ""
		switch {
		case p.SHA512 == "" && noted:
		case !textcheck.LowerHex(p.SHA512, 128):
			errs.Addf(file, line(".sha512"), "pin for %s: malformed sha512 %q (want 128 lower-case hex digits; "+
				"leave it out only with a note saying where the sha256 comes from)", p.URL, short(p.SHA512))
		}
		switch {
		case p.Size == 0 && noted:
		case p.Size <= 0:
			errs.Addf(file, line(".size"), "pin for %s: size must be positive", p.URL)
		}
		if p.Commit != "" {
			errs.Addf(file, line(".commit"), "pin for %s: commit applies to git sources only", p.URL)
		}
	}
	return errs
}

func short(s string) string {
	if len(s) > 20 {
		return s[:20] + "..."
	}
	return s
}

// LoadAll loads every vendor-hashes/*.lock, keyed by recipe name (the file
// name without .lock, which must match the lock's recipe field). A missing
// vendor-hashes folder gives an empty map.
func LoadAll(fsys fs.FS) (map[string]*Lock, error) {
	entries, err := fs.ReadDir(fsys, Dir)
	if errors.Is(err, fs.ErrNotExist) {
		return map[string]*Lock{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("list lock files: %w", err)
	}
	var files []string
	for _, e := range entries {
		if strings.HasSuffix(e.Name(), Ext) {
			files = append(files, Dir+"/"+e.Name())
		}
	}
	// Decode in parallel; locks[i] and problems[i] belong to files[i].
	locks := make([]*Lock, len(files))
	problems := make([]error, len(files))
	parallel.For(len(files), func(i int) {
		locks[i], problems[i] = Load(fsys, files[i])
	})
	out := make(map[string]*Lock, len(files))
	var errs errlist.List
	for i, f := range files {
		l := locks[i]
		errs.Append(problems[i])
		if l == nil {
			continue
		}
		name := strings.TrimSuffix(path.Base(f), Ext)
		if l.Recipe != "" && l.Recipe != name {
			errs.Addf(f, l.Line, "lock file for recipe %q must be named %s", l.Recipe, PathFor(l.Recipe))
		}
		out[name] = l
	}
	return out, errs.Sorted().Err()
}

// Find returns the pin for an archive URL or a git remote.
func (l *Lock) Find(url string) (Pin, bool) {
	if l == nil {
		return Pin{}, false
	}
	for _, p := range l.Sources {
		if p.URL == url || (p.URL == "" && p.Git == url) {
			return p, true
		}
	}
	return Pin{}, false
}

// Marshal renders the lock in its canonical form: fixed key order, pins in
// the order given, a trailing newline.
func Marshal(l *Lock) ([]byte, error) {
	var buf bytes.Buffer
	buf.WriteString("# Generated by `hadron hashes pin`. Do not edit by hand.\n")
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(l); err != nil {
		return nil, fmt.Errorf("encode lock for %s: %w", l.Recipe, err)
	}
	if err := enc.Close(); err != nil {
		return nil, fmt.Errorf("encode lock for %s: %w", l.Recipe, err)
	}
	return buf.Bytes(), nil
}

// Write stores l at path (an OS path) atomically: it writes a temporary file
// in the same folder and renames it over path, so readers never see half a
// lock file. The output is deterministic for a given lock.
func Write(file string, l *Lock) error {
	data, err := Marshal(l)
	if err != nil {
		return err
	}
	dir := filepath.Dir(file)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("write lock %s: %w", file, err)
	}
	if err := atomicfile.WriteFile(file, data, 0o644); err != nil {
		return fmt.Errorf("write lock %s: %w", file, err)
	}
	return nil
}
