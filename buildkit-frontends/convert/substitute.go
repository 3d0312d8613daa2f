package convert

import (
	"fmt"
	"path"
	"strings"

	"github.com/hadron-linux/hadron/internal/mirror"
	"github.com/hadron-linux/hadron/internal/recipe"
	"github.com/hadron-linux/hadron/internal/substitute"
	"github.com/moby/buildkit/client/llb"
	digest "github.com/opencontainers/go-digest"
)

// substTreeDir is where the substitute step sees the patches kept in the
// project tree (substitute.Patch.File), at their paths from the tree root.
const substTreeDir = "/subst/tree"

// substituteState fetches the pinned files of sub and turns them into the
// upstream source tree of r it stands for: unpack (an inner tarball when
// declared), apply the declared patches after checking their digests. The
// patches kept in the project tree come from the build context, only
// those files. The result is a directory, used like a git checkout. The
// vertex name says which source is substituted, by what and from where.
//
// The step is the substitute's, not r's: every recipe it stands for
// (the kernel and the toolchain's linux-headers, say) shares one tree,
// so a 1.5 GB source is unpacked once per graph and once per cache.
func (c *Converter) substituteState(r *recipe.Recipe, sub *substitute.Substitute) llb.State {
	gets := make([]string, len(sub.Files))
	for i, f := range sub.Files {
		gets[i] = mirror.Map(c.opts.Mirrors).Rewrite(f.URL)
		c.sources = append(c.sources, SourceRef{Recipe: r.Name, URL: sub.Upstream, Fetched: gets[i], SHA256: f.SHA256, Substitute: sub})
	}
	if st, ok := c.substTrees[sub.Name]; ok {
		return st
	}
	// Its /out is a source tree, not a layer: only the files the patches
	// touched get the epoch (see substituteScript), not every file.
	ro := []llb.RunOption{llb.AddMount("/work", llb.Scratch())}
	for i, f := range sub.Files {
		st := llb.HTTP(gets[i],
			llb.Checksum(digest.NewDigestFromEncoded(digest.SHA256, f.SHA256)),
			llb.Filename(path.Base(f.URL)),
			llb.WithCustomNamef("fetch %s (substitute %s)", f.URL, sub.Name))
		ro = append(ro, llb.AddMount(fmt.Sprintf("/subst/%d", i), st, llb.Readonly))
	}
	if files := sub.TreeFiles(); len(files) > 0 {
		opts := []llb.LocalOption{
			llb.IncludePatterns(files),
			llb.SharedKeyHint(c.opts.ContextName + ":" + sub.File),
			llb.WithCustomNamef("substitute %s patches", sub.Name),
		}
		if c.opts.SessionID != "" {
			opts = append(opts, llb.SessionID(c.opts.SessionID))
		}
		ro = append(ro, llb.AddMount(substTreeDir, llb.Local(c.opts.ContextName, opts...), llb.Readonly))
	}
	name := fmt.Sprintf("substitute %s for %s (%s)", sub.Name, sub.Upstream, sub.Origin)
	sb := c.hermetic
	if c.opts.KeepToolchain && c.hostOnly(sub) {
		// The toolchain's own sources: a re-run here would re-run every
		// step downstream of it (frontend.RerunDownstream), the cross
		// compiler that keep-toolchain keeps among them.
		sb.noCache = false
	}
	st := outMount(sb.run(name, substituteScript(sub), ro...))
	c.substTrees[sub.Name] = st
	return st
}

// hostOnly reports whether every recipe of the tree that sub stands for
// is a host recipe (the cross toolchain's binutils and gcc): its tree is
// then part of the toolchain, kept by Options.KeepToolchain.
func (c *Converter) hostOnly(sub *substitute.Substitute) bool {
	found := false
	for _, name := range sub.Recipes {
		r, ok := c.tree.Recipes[name]
		if !ok {
			continue
		}
		if !r.Host {
			return false
		}
		found = true
	}
	return found
}

// substituteScript is the shell that substituteState runs for sub. Every
// failure names the substitute, the recipes it stands for and the
// upstream URL.
func substituteScript(sub *substitute.Substitute) string {
	file := map[string]string{}
	for i, f := range sub.Files {
		n := path.Base(f.URL)
		file[n] = fmt.Sprintf("/subst/%d/%s", i, n)
	}
	var sb strings.Builder
	sb.WriteString("set -eu\n")
	fmt.Fprintf(&sb, "fail() { echo \"substitute %s for %s (%s): $*\" >&2; exit 1; }\n",
		sub.Name, recipesPhrase(sub.Recipes), sub.Upstream)
	fmt.Fprintf(&sb, "echo %s\n", shellQuote("using "+sub.Describe(strings.Join(sub.Recipes, ", "))))
	tree := file[sub.TreeFile()]
	if sub.Inner != "" {
		fmt.Fprintf(&sb, "tar -xOf %s %s >/work/inner 2>/work/err || fail %s\n",
			shellQuote(tree), shellQuote(sub.Inner), shellQuote("inner tarball "+sub.Inner+" not found in "+sub.TreeFile()))
		tree = "/work/inner"
	}
	fmt.Fprintf(&sb, "tar -xf %s -C /out --strip-components=1 --no-same-owner || fail %s\n", shellQuote(tree),
		shellQuote("cannot unpack "+path.Base(tree)))
	sb.WriteString("touch /work/unpacked\n")
	for i, p := range sub.Patches {
		patch := fmt.Sprintf("/work/%d.patch", i)
		what := "patch " + p.Path + " from " + p.From
		if p.File != "" {
			// Copied like a patch taken out of a file: checked and
			// applied the same way.
			what = "patch " + p.File
			fmt.Fprintf(&sb, "cp %s %s 2>/work/err || fail %s\n", shellQuote(path.Join(substTreeDir, p.File)), patch,
				shellQuote(what+" not found in the build context"))
		} else {
			fmt.Fprintf(&sb, "tar -xOf %s %s >%s 2>/work/err || fail %s\n",
				shellQuote(file[p.From]), shellQuote(p.Path), patch, shellQuote("patch "+p.Path+" not found in "+p.From))
		}
		fmt.Fprintf(&sb, "got=$(sha256sum %s | cut -d' ' -f1)\n", patch)
		fmt.Fprintf(&sb, "[ \"$got\" = %s ] || fail %s\"$got\"\n", p.SHA256,
			shellQuote(what+": expected sha256 "+p.SHA256+", got "))
		fmt.Fprintf(&sb, "echo %s\npatch -p1 -N -s -d /out <%s || fail %s\n", shellQuote("applying "+p.Name()), patch,
			shellQuote("patch "+p.Name()+" does not apply"))
	}
	// Patched files get the epoch, not the time of the build.
	sb.WriteString("find /out -newer /work/unpacked -exec touch -h -d \"@$SOURCE_DATE_EPOCH\" {} +\n")
	return sb.String()
}

// recipesPhrase is "recipe a" or "recipes a, b".
func recipesPhrase(names []string) string {
	if len(names) == 1 {
		return "recipe " + names[0]
	}
	return "recipes " + strings.Join(names, ", ")
}
