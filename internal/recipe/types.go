// Package recipe holds Hadron's recipe format (v1): the declarative description
// of one package, how it is fetched, patched, built and installed. See
// docs/recipes.md for the user-facing reference.
package recipe

// Style names a build style. A style supplies default configure, build and
// install commands so that most recipes need no shell at all.
type Style string

// The build styles a recipe may use.
const (
	StyleAutotools Style = "autotools"
	StyleMeson     Style = "meson"
	StyleCMake     Style = "cmake"
	StyleMake      Style = "make"
	StyleKbuild    Style = "kbuild"
	StyleCustom    Style = "custom"
)

// Styles lists every valid build style in documentation order.
var Styles = []Style{StyleAutotools, StyleMeson, StyleCMake, StyleMake, StyleKbuild, StyleCustom}

// Arch is a Hadron target architecture name.
type Arch string

// The target architectures Hadron builds for.
const (
	ArchAMD64 Arch = "amd64"
	ArchARM64 Arch = "arm64"
)

// Arches lists every known architecture.
var Arches = []Arch{ArchAMD64, ArchARM64}

// Recipe is one package: recipes/<name>/recipe.yaml.
type Recipe struct {
	Name         string       `yaml:"name"`
	Version      string       `yaml:"version"`
	Description  string       `yaml:"description"`
	License      string       `yaml:"license"`
	Homepage     string       `yaml:"homepage"`
	Sources      []Source     `yaml:"sources"`
	Patches      []string     `yaml:"patches"`
	Files        []string     `yaml:"files"`
	Dependencies Dependencies `yaml:"dependencies"`
	Build        Build        `yaml:"build"`
	// Outputs replace (same name) or add to DefaultOutputs: see
	// SplitOutputs.
	Outputs  []Output  `yaml:"outputs"`
	Arches   []Arch    `yaml:"arches"`
	Upstream *Upstream `yaml:"upstream"`
	// Host marks a recipe of the cross toolchain: it is compiled by stage
	// 0's own compiler for the build platform, installs under
	// ToolchainPrefix, and is mounted there (not in /sysroot) into the
	// steps of every recipe that is not itself a host recipe.
	Host bool `yaml:"host"`

	// Dir is the recipe's folder relative to the tree root (e.g. "recipes/xz").
	// Set by the loader, not read from YAML.
	Dir string `yaml:"-"`
	// File is the recipe file's path relative to the tree root. Set by the loader.
	File string `yaml:"-"`
	// Line is the line of the recipe's "name" key, for error messages.
	Line int `yaml:"-"`

	// lines holds the line of every decoded key (see LineOf). Set by the loader.
	lines map[string]int
}

// Source is one upstream input: an HTTP(S) archive or a git repository at a
// pinned commit. URL and Git may contain ${name} and ${version}.
type Source struct {
	// URL is an HTTP(S) archive; its checksum comes from vendor-hashes/.
	URL string `yaml:"url"`
	// Git is a git repository URL; Commit pins it.
	Git    string `yaml:"git"`
	Commit string `yaml:"commit"`
	// Dest is where the source is unpacked, relative to the build dir.
	// Empty means the build dir itself (first source) and strip one level.
	Dest string `yaml:"dest"`
	// Line is the source's line in the recipe file. Set by the loader.
	Line int `yaml:"-"`
}

// Dependencies splits a recipe's dependencies by when they are needed.
// Each entry is a reference (see Ref): a recipe, or one of its outputs
// ("zlib:dev").
type Dependencies struct {
	// Build dependencies are present (with their runtime closure) in the
	// build environment under /sysroot: a recipe with its main and dev
	// outputs, a reference to another output with that output.
	Build []string `yaml:"build"`
	// Runtime dependencies are installed next to the package in an image:
	// a recipe's main output, or another output that is not BuildOnly.
	Runtime []string `yaml:"runtime"`
	// Toolchain are the host recipes (the cross toolchain) this recipe is
	// built with. They are not written in recipe files: the project loader
	// sets them to every host recipe of the tree for each recipe that is
	// not a host recipe itself. They are build edges of the graph.
	Toolchain []string `yaml:"-"`
}

// ToolchainPrefix is where host recipes install (their --prefix) and where
// the merged cross toolchain is mounted in build steps.
const ToolchainPrefix = "/toolchain"

// Build says how the package is built. Style picks defaults; every phase may
// be overridden with a shell snippet.
type Build struct {
	Style Style `yaml:"style"`
	// Args are extra arguments for the style's configure step
	// (./configure, meson setup, cmake).
	Args []string `yaml:"args"`
	// MakeArgs are extra arguments for make/ninja in build and install.
	MakeArgs []string `yaml:"make_args"`
	// Env is extra environment for every phase.
	Env map[string]string `yaml:"env"`
	// Phase overrides: shell run with /bin/sh -eu in the build dir.
	Prepare   string `yaml:"prepare"`
	Configure string `yaml:"configure"`
	Compile   string `yaml:"compile"`
	Install   string `yaml:"install"`
	Check     string `yaml:"check"`
}

// UpstreamKind says where new upstream versions are listed.
type UpstreamKind string

// The upstream version listing kinds the bump tool understands.
const (
	UpstreamGitHubReleases UpstreamKind = "github-releases"
	UpstreamGitHubTags     UpstreamKind = "github-tags"
	UpstreamGitTags        UpstreamKind = "git-tags"
	UpstreamHTTPIndex      UpstreamKind = "http-index"
)

// Upstream tells the bump tool where new versions appear and which are allowed.
type Upstream struct {
	Kind UpstreamKind `yaml:"kind"`
	// Repo is "owner/name" for the github-* kinds.
	Repo string `yaml:"repo"`
	// URL is the git remote (git-tags) or the index page (http-index).
	URL string `yaml:"url"`
	// Regex extracts the version from a tag or an index entry; its first
	// capture group is the version. Optional for the tag kinds.
	Regex string `yaml:"regex"`
	// Constraint is a Masterminds/semver constraint, e.g. ">= 5.4, < 6".
	Constraint string `yaml:"constraint"`
	// Scheme names the version normalisation (see the bump package):
	// "semver" (default), "openssh" (9.9p1), "date" (20251003), "kernel".
	Scheme string `yaml:"scheme"`
	// Line is the upstream block's line. Set by the loader.
	Line int `yaml:"-"`
}

// SupportsArch reports whether the recipe builds for arch. An empty Arches
// list means every architecture.
func (r *Recipe) SupportsArch(a Arch) bool {
	if len(r.Arches) == 0 {
		return true
	}
	for _, x := range r.Arches {
		if x == a {
			return true
		}
	}
	return false
}
