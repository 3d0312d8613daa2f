package convert_test

import (
	"strings"
	"testing"
	"testing/fstest"

	"github.com/hadron-linux/hadron/buildkit-frontends/convert"
	"github.com/hadron-linux/hadron/internal/project"
	"github.com/hadron-linux/hadron/internal/recipe"
	"github.com/moby/buildkit/solver/pb"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// byName indexes vertices by name, and names them by digest.
func byName(vs []vertex) (map[string]vertex, map[ref]string) {
	m := map[string]vertex{}
	refs := map[ref]string{}
	for _, v := range vs {
		m[v.name] = v
		refs[ref{v.digest, 0}] = v.name
	}
	return m, refs
}

// mergeInputs names the inputs of the merge v, by the vertex they come
// from ("<recipe>: output dev"; an exec's /out is its name).
func mergeInputs(t *testing.T, v vertex, names map[ref]string) []string {
	t.Helper()
	require.NotNil(t, v.op.GetMerge(), "%s is a merge", v.name)
	var out []string
	for i := range v.op.Inputs {
		r := inputRef(v, int64(i))
		name, ok := names[ref{r.digest, 0}]
		require.True(t, ok, "%s: input %d is a vertex of the definition", v.name, i)
		out = append(out, name)
	}
	return out
}

// TestImageHoldsMainOutputs: an image merges the main outputs of its
// runtime closure and its finalize layer: no dev, doc or locale layer.
// A build environment merges main and dev outputs.
func TestImageHoldsMainOutputs(t *testing.T) {
	vs := marshal(t, repoFS(t), "mini", opts())
	m, names := byName(vs)
	assert.Equal(t, []string{"musl: output", "busybox: output", "xz: output", "mini: finalize"},
		mergeInputs(t, m["mini: assemble image"], names), "main outputs only")
	for _, v := range vs {
		if strings.HasSuffix(v.name, " dev") || strings.HasSuffix(v.name, " doc") || strings.HasSuffix(v.name, " locale") {
			for _, n := range mergeInputs(t, m["mini: assemble image"], names) {
				assert.NotEqual(t, v.name, n)
			}
		}
	}

	assert.Equal(t, []string{"linux-headers: output", "linux-headers: output dev", "musl: output", "musl: output dev"},
		mergeInputs(t, m["busybox: build environment"], names), "headers and static libraries are in the sysroot")
	assert.Equal(t, []string{"musl: output", "musl: output dev"},
		mergeInputs(t, m["xz: build environment"], names))
	sysroot, ro := mountRef(t, m["xz: configure"], "/sysroot")
	assert.True(t, ro)
	assert.Equal(t, ref{m["xz: build environment"].digest, 0}, sysroot)
	toolchain, _ := mountRef(t, m["xz: configure"], "/toolchain")
	assert.Equal(t, ref{m["toolchain: binutils + gcc"].digest, 0}, toolchain, "host recipes are mounted whole")
	assert.Equal(t, []string{"binutils: install", "gcc: install"}, mergeInputs(t, m["toolchain: binutils + gcc"], names))
	assert.NotContains(t, m, "gcc: output", "host recipes are not split")
}

// copyAction returns the copy actions of the file step v.
func copyActions(t *testing.T, v vertex) []*pb.FileAction {
	t.Helper()
	require.NotNil(t, v.op.GetFile(), "%s is a file step", v.name)
	for _, a := range v.op.GetFile().Actions {
		require.NotNil(t, a.GetCopy(), "%s: only copies", v.name)
	}
	return v.op.GetFile().Actions
}

// TestOutputCopies: the main output copies the install layer without the
// other outputs' patterns and without usr/sbin, then usr/sbin's entries
// into usr/bin (the sbin merge), then restamps; another output copies
// what its patterns match, then that once more with every time at
// SOURCE_DATE_EPOCH, in the same file step.
func TestOutputCopies(t *testing.T) {
	m, _ := byName(marshal(t, repoFS(t), "mini", opts()))
	install := outRef(t, m["musl: install"])
	all := []string{"usr/sbin"}
	for _, o := range recipe.DefaultOutputs {
		all = append(all, o.Paths...)
	}

	main := copyActions(t, m["musl: output"])
	require.Len(t, main, 3)
	cp, sbin, restamped := main[0].GetCopy(), main[1].GetCopy(), main[2].GetCopy()
	assert.Equal(t, install, inputRef(m["musl: output"], main[0].SecondaryInput))
	assert.Equal(t, "/", cp.Src)
	assert.Equal(t, "/", cp.Dest)
	assert.True(t, cp.DirCopyContents)
	assert.Empty(t, cp.IncludePatterns)
	assert.Equal(t, all, cp.ExcludePatterns, "everything no other output claims, but usr/sbin")
	assert.Equal(t, int64(-1), cp.Timestamp, "times as the install step clamped them")
	assert.Nil(t, cp.Owner, "owners as installed")

	assert.Equal(t, install, inputRef(m["musl: output"], main[1].SecondaryInput))
	assert.Equal(t, "/[u]sr/sbin/*", sbin.Src, "no literal prefix that may be missing")
	assert.Equal(t, "/usr/bin/", sbin.Dest)
	assert.True(t, sbin.AllowWildcard)
	assert.True(t, sbin.AllowEmptyWildcard, "a package without usr/sbin")
	assert.Equal(t, int64(-1), sbin.Timestamp)

	assert.Equal(t, "/", restamped.Src)
	assert.Equal(t, int64(1700000000e9), restamped.Timestamp, "usr/bin's time back at SOURCE_DATE_EPOCH")

	dev := copyActions(t, m["musl: output dev"])
	require.Len(t, dev, 2)
	sel, stamp := dev[0].GetCopy(), dev[1].GetCopy()
	assert.Equal(t, install, inputRef(m["musl: output dev"], dev[0].SecondaryInput))
	assert.Equal(t, recipe.DefaultOutputs[0].Paths, sel.IncludePatterns)
	assert.Empty(t, sel.ExcludePatterns)
	assert.Equal(t, int64(-1), dev[0].Output, "the selection is not an output of the step")
	nInputs := int64(len(m["musl: output dev"].op.Inputs))
	assert.Equal(t, nInputs+0, dev[1].SecondaryInput, "the second copy reads the first one's result")
	assert.Empty(t, stamp.IncludePatterns)
	assert.Equal(t, opts().SourceDateEpoch*1e9, stamp.Timestamp, "folders made by the selection get SOURCE_DATE_EPOCH")
	assert.Nil(t, stamp.Owner)
	assert.Equal(t, int64(0), dev[1].Output)
}

// TestOutputTargets: "<recipe>:dev" is buildable, gated like the main
// output; unknown outputs and outputs of host recipes are errors.
func TestOutputTargets(t *testing.T) {
	vs := marshal(t, repoFS(t), "musl:dev", opts())
	m, _ := byName(vs)
	top := vs[len(vs)-1]
	gated := m["musl:dev: gated"]
	require.Equal(t, ref{gated.digest, 0}, inputRef(top, 0))
	assert.Equal(t, ref{m["musl: output dev"].digest, 0}, inputRef(gated, gated.op.GetFile().Actions[0].Input))
	assert.Equal(t, []ref{outRef(t, m["musl: elf gate"])}, gateRefs(t, gated), "the recipe's gate")

	tree, err := project.Load(repoFS(t))
	require.NoError(t, err)
	c, err := convert.New(tree, opts(), "musl", "gcc")
	require.NoError(t, err)
	_, err = c.Target("musl:devel")
	assert.ErrorContains(t, err, `recipe musl has no output "devel" (outputs: dev, doc, locale)`)
	_, err = c.Output(recipe.Ref{Recipe: "gcc", Output: "dev"})
	assert.ErrorContains(t, err, `recipe gcc has no output "dev"`)
	gcc, err := c.Output(recipe.Ref{Recipe: "gcc"})
	require.NoError(t, err)
	pkg, err := c.Package("gcc")
	require.NoError(t, err)
	assert.Equal(t, names(marshalState(t, pkg)), names(marshalState(t, gcc)), "a host recipe's main output is its install layer")
}

// finalizeActions returns the actions of mini's finalize step by path.
func finalizeActions(t *testing.T, o convert.Options, image ...string) map[string]*pb.FileAction {
	t.Helper()
	name := "mini"
	if len(image) > 0 {
		name = image[0]
	}
	m, _ := byName(marshal(t, repoFS(t), name, o))
	fin := m[name+": finalize"]
	require.NotNil(t, fin.op.GetFile())
	out := map[string]*pb.FileAction{}
	for _, a := range fin.op.GetFile().Actions {
		switch {
		case a.GetMkfile() != nil:
			out[a.GetMkfile().Path] = a
		case a.GetMkdir() != nil:
			out[a.GetMkdir().Path] = a
		case a.GetSymlink() != nil:
			out[a.GetSymlink().Newpath] = a
		}
	}
	return out
}

// TestFinalizeInitrd: an initrd (kind: initrd) also gets
// /etc/initrd-release, by which systemd knows it runs in the initrd, and
// /init, the link to systemd the kernel starts, and /sysroot, where the
// real root is mounted; a root filesystem has none of them.
func TestFinalizeInitrd(t *testing.T) {
	fa := finalizeActions(t, opts(), "base-initrd")
	rel := fa["/etc/initrd-release"].GetMkfile()
	require.NotNil(t, rel, "/etc/initrd-release")
	assert.Contains(t, string(rel.Data), "ID=hadron\n")
	assert.Contains(t, string(rel.Data), "VARIANT_ID=base-initrd\n")
	init := fa["/init"].GetSymlink()
	require.NotNil(t, init, "/init")
	assert.Equal(t, "usr/lib/systemd/systemd", init.Oldpath)
	sysroot := fa["/sysroot"].GetMkdir()
	require.NotNil(t, sysroot, "/sysroot")
	assert.Equal(t, int32(0o755), sysroot.Mode)

	root := finalizeActions(t, opts(), "base")
	assert.Nil(t, root["/etc/initrd-release"], "a root filesystem is no initrd")
	assert.Nil(t, root["/init"])
	assert.Nil(t, root["/sysroot"])
}

// TestFinalize: os-release with VERSION_ID when the tree has one and
// BUILD_ID, an empty read-only machine-id, the usr-merge links; every
// file at SOURCE_DATE_EPOCH.
func TestFinalize(t *testing.T) {
	o := opts()
	o.VersionID = "2025.10"
	fa := finalizeActions(t, o)
	osr := fa["/usr/lib/os-release"].GetMkfile()
	require.NotNil(t, osr)
	assert.Equal(t, "NAME=\"Hadron Linux\"\nID=hadron\nVERSION_ID=2025.10\nPRETTY_NAME=\"Hadron Linux (mini)\"\nVARIANT_ID=mini\n"+
		"BUILD_ID=1700000000\nHOME_URL=\"https://github.com/hadron-linux/hadron\"\n", string(osr.Data))
	assert.Equal(t, "../usr/lib/os-release", fa["/etc/os-release"].GetSymlink().Oldpath)

	mid := fa["/etc/machine-id"].GetMkfile()
	require.NotNil(t, mid)
	assert.Empty(t, mid.Data, "empty: first boot (machine-id(5))")
	assert.Equal(t, int32(0o444), mid.Mode)

	for dir, target := range map[string]string{"/bin": "usr/bin", "/sbin": "usr/bin", "/lib": "usr/lib"} {
		l := fa[dir].GetSymlink()
		require.NotNil(t, l, dir)
		assert.Equal(t, target, l.Oldpath, "%s is a relative link into /usr", dir)
		require.NotNil(t, fa["/"+target].GetMkdir(), "%s exists", target)
	}
	sbin := fa["/usr/sbin"].GetSymlink()
	require.NotNil(t, sbin, "/usr/sbin is a link (sbin merge)")
	assert.Equal(t, "bin", sbin.Oldpath)
	for p, a := range fa {
		var ts int64
		switch {
		case a.GetMkfile() != nil:
			ts = a.GetMkfile().Timestamp
		case a.GetMkdir() != nil:
			ts = a.GetMkdir().Timestamp
		case a.GetSymlink() != nil:
			ts = a.GetSymlink().Timestamp
		}
		assert.Equal(t, o.SourceDateEpoch*1e9, ts, p)
	}

	// The step ends with a copy of its own result with every time at
	// SOURCE_DATE_EPOCH: the files made inside /etc and /usr changed
	// their folders' times.
	m, _ := byName(marshal(t, repoFS(t), "mini", o))
	actions := m["mini: finalize"].op.GetFile().Actions
	last := actions[len(actions)-1]
	require.NotNil(t, last.GetCopy())
	assert.GreaterOrEqual(t, last.SecondaryInput, int64(len(m["mini: finalize"].op.Inputs)), "a copy of the step's own result")
	assert.Equal(t, o.SourceDateEpoch*1e9, last.GetCopy().Timestamp)
	assert.Equal(t, int64(0), last.Output, "the step's output")

	noVersion := finalizeActions(t, opts())["/usr/lib/os-release"].GetMkfile()
	assert.NotContains(t, string(noVersion.Data), "VERSION_ID", "no VERSION_ID without a version")
	assert.Contains(t, string(noVersion.Data), "BUILD_ID=1700000000\n")
}

// TestUsrMergeCheck: every package's install step fails when it
// installs into /bin, /sbin, /lib or /lib64, naming the recipe; host
// recipes install under /toolchain and are not checked.
func TestUsrMergeCheck(t *testing.T) {
	m, _ := byName(marshal(t, repoFS(t), "mini", opts()))
	for _, pkg := range []string{"musl", "busybox", "xz", "linux-headers"} {
		args := m[pkg+": install"].op.GetExec().GetMeta().GetArgs()
		script := args[len(args)-1]
		assert.Contains(t, script, "for d in bin sbin lib lib64; do\n", pkg)
		assert.Contains(t, script, "echo '"+pkg+": installs into /'\"$d\"", pkg)
		assert.Less(t, strings.Index(script, "for d in"), strings.Index(script, "find /out -name '*.la'"), "%s: checked before the clamp", pkg)
	}
	for _, host := range []string{"gcc", "binutils"} {
		args := m[host+": install"].op.GetExec().GetMeta().GetArgs()
		assert.NotContains(t, args[len(args)-1], "usr-merged", host)
	}
}

// TestDeclaredOutputs: a recipe's own outputs are cut with its patterns,
// a replaced default with the new ones; a runtime dependency on a
// declared output puts that output into the image.
func TestDeclaredOutputs(t *testing.T) {
	fsys := fstest.MapFS{
		"recipes/tool/recipe.yaml": {Data: []byte(`name: tool
version: "1"
license: MIT
build:
  style: custom
  install: mkdir -p /out/usr/bin
outputs:
  - name: dev
    paths: [usr/include]
  - name: extra
    paths: [usr/bin/tool-extra, usr/share/tool]
`)},
		"recipes/app/recipe.yaml": {Data: []byte(`name: app
version: "1"
license: MIT
dependencies:
  build: [tool]
  runtime: [tool:extra]
build:
  style: custom
  install: mkdir -p /out/usr/bin
`)},
		"images/app.yaml": {Data: []byte("name: app\npackages: [app]\n")},
	}
	vs := marshal(t, fsys, "app", opts())
	m, names := byName(vs)
	assert.Equal(t, []string{"tool: output extra", "app: output", "app: finalize"}, mergeInputs(t, m["app: assemble image"], names),
		"the image holds the output app needs, not tool's main output")
	assert.Equal(t, []string{"usr/bin/tool-extra", "usr/share/tool"}, copyActions(t, m["tool: output extra"])[0].GetCopy().IncludePatterns)
	assert.Equal(t, []string{"usr/include"}, copyActions(t, m["tool: output dev"])[0].GetCopy().IncludePatterns)
	assert.Equal(t, []string{"usr/sbin", "usr/include", "usr/share/man", "usr/share/doc", "usr/share/info", "usr/share/gtk-doc",
		"usr/bin/tool-extra", "usr/share/tool", "usr/share/locale"},
		copyActions(t, m["tool: output"])[0].GetCopy().ExcludePatterns, "main: what dev, doc, extra and locale leave")
	assert.Equal(t, []string{"tool: output", "tool: output dev"}, mergeInputs(t, m["app: build environment"], names),
		"a build dependency brings main and dev; app's own runtime dependencies are not in its build")
}
