package graph_test

import (
	"slices"
	"testing"

	"github.com/hadron-linux/hadron/internal/graph"
	"github.com/hadron-linux/hadron/internal/project"
	"github.com/hadron-linux/hadron/internal/project/projecttest"
	"github.com/hadron-linux/hadron/internal/recipe"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// S is short for the recipe specs the tests build trees from.
type S = projecttest.Spec

func load(t testing.TB, specs ...S) *project.Tree {
	t.Helper()
	tree, err := project.Load(projecttest.Tree(specs...))
	require.NoError(t, err)
	return tree
}

// distro is a small realistic tree:
//
//	musl; make -r-> musl; zlib -b-> make, -r-> musl; openssl -b-> make, zlib;
//	systemd -b-> openssl, -r-> openssl, dbus; dbus -r-> systemd (runtime cycle).
func distro(t testing.TB) *project.Tree {
	return load(t,
		S{Name: "musl"},
		S{Name: "make", Runtime: []string{"musl"}},
		S{Name: "zlib", Build: []string{"make"}, Runtime: []string{"musl"}},
		S{Name: "openssl", Build: []string{"make", "zlib"}, Runtime: []string{"zlib"}},
		S{Name: "systemd", Build: []string{"openssl"}, Runtime: []string{"openssl", "dbus"}},
		S{Name: "dbus", Build: []string{"make"}, Runtime: []string{"systemd"}},
		S{Name: "rpi-firmware", Arches: []recipe.Arch{recipe.ArchARM64}},
	)
}

func TestResolveOrder(t *testing.T) {
	tree := distro(t)
	g, err := graph.Resolve(tree, recipe.ArchAMD64, []string{"systemd"})
	require.NoError(t, err)
	assert.Equal(t, []string{"musl", "make", "zlib", "openssl", "dbus", "systemd"}, g.Names())
	assert.Equal(t, recipe.ArchAMD64, g.Arch)

	// Every build dependency comes before its dependent.
	for i, r := range g.Order {
		for _, d := range r.Dependencies.Build {
			assert.Less(t, slices.Index(g.Names(), d), i, "%s before %s", d, r.Name)
		}
	}

	// All recipes for the arch when no roots are given; rpi-firmware is arm64 only.
	all, err := graph.Resolve(tree, recipe.ArchAMD64, nil)
	require.NoError(t, err)
	assert.NotContains(t, all.Names(), "rpi-firmware")
	assert.Len(t, all.Order, 6)
	arm, err := graph.Resolve(tree, recipe.ArchARM64, nil)
	require.NoError(t, err)
	assert.Contains(t, arm.Names(), "rpi-firmware")

	// Deterministic, independent of root order.
	g2, err := graph.Resolve(tree, recipe.ArchAMD64, []string{"dbus", "systemd", "zlib"})
	require.NoError(t, err)
	assert.Equal(t, g.Names(), g2.Names())
}

func TestBuildEnvAndRuntimeClosure(t *testing.T) {
	g, err := graph.Resolve(distro(t), recipe.ArchAMD64, nil)
	require.NoError(t, err)
	assert.Equal(t, []string{"musl", "make", "zlib"}, g.BuildEnv("openssl"))
	assert.Equal(t, []string{"musl", "zlib", "openssl"}, g.BuildEnv("systemd"), "openssl and its runtime closure")
	assert.Empty(t, g.BuildEnv("musl"))
	assert.Nil(t, g.BuildEnv("nope"))
	assert.Equal(t, []string{"musl", "zlib", "openssl", "dbus", "systemd"}, g.RuntimeClosure("dbus"))
	assert.Equal(t, []string{"musl", "make"}, g.RuntimeClosure("make", "not-in-graph"))
	assert.Nil(t, g.Recipe("nope"))
}

func TestResolveProblems(t *testing.T) {
	tests := []struct {
		name  string
		specs []S
		arch  recipe.Arch
		roots []string
		want  string
	}{
		{"build cycle", []S{
			{Name: "a", Build: []string{"b"}},
			{Name: "b", Build: []string{"a"}},
		}, recipe.ArchAMD64, []string{"a"}, "recipes/a/recipe.yaml:8: build dependency cycle: a -> b -> a"},
		{"longer build cycle", []S{
			{Name: "a", Build: []string{"b"}},
			{Name: "b", Build: []string{"c"}},
			{Name: "c", Build: []string{"a"}},
			{Name: "d", Build: []string{"a"}},
		}, recipe.ArchAMD64, []string{"d"}, "build dependency cycle: a -> b -> c -> a"},
		{"cycle through a runtime dependency of a build dependency", []S{
			{Name: "gcc", Build: []string{"libc"}},
			{Name: "libc", Runtime: []string{"gcc"}},
		}, recipe.ArchAMD64, nil, "build dependency cycle: gcc -> libc -(runtime)-> gcc"},
		{"root does not support arch", []S{
			{Name: "rpi-firmware", Arches: []recipe.Arch{recipe.ArchARM64}},
		}, recipe.ArchAMD64, []string{"rpi-firmware"}, "recipes/rpi-firmware/recipe.yaml:9: recipe rpi-firmware does not support amd64 (arches: arm64) (requested directly)"},
		{"dependency does not support arch", []S{
			{Name: "fw", Arches: []recipe.Arch{recipe.ArchARM64}},
			{Name: "boot", Runtime: []string{"fw"}},
			{Name: "image", Build: []string{"boot"}},
		}, recipe.ArchAMD64, []string{"image"}, "recipe fw does not support amd64 (arches: arm64), needed by boot (runtime dependency), needed by image (build dependency)"},
		{"unknown root", []S{{Name: "a"}}, recipe.ArchAMD64, []string{"b"}, `unknown recipe "b" (requested directly)`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g, err := graph.Resolve(load(t, tt.specs...), tt.arch, tt.roots)
			require.Error(t, err)
			assert.Nil(t, g)
			assert.Contains(t, err.Error(), tt.want)
		})
	}
}

func TestRuntimeCycleAllowed(t *testing.T) {
	tree := load(t,
		S{Name: "a", Runtime: []string{"b"}},
		S{Name: "b", Runtime: []string{"c"}},
		S{Name: "c", Runtime: []string{"a"}},
		S{Name: "user", Build: []string{"b"}},
	)
	g, err := graph.Resolve(tree, recipe.ArchAMD64, []string{"user"})
	require.NoError(t, err)
	assert.Equal(t, []string{"a", "b", "c", "user"}, g.Names())
	assert.Equal(t, []string{"a", "b", "c"}, g.BuildEnv("user"))
}

func TestReverseDeps(t *testing.T) {
	fsys := projecttest.Tree(
		S{Name: "musl"},
		S{Name: "make", Runtime: []string{"musl"}},
		S{Name: "zlib", Build: []string{"make"}, Runtime: []string{"musl"}},
		S{Name: "openssl", Build: []string{"make", "zlib"}, Runtime: []string{"zlib"}},
		S{Name: "curl", Build: []string{"openssl"}, Runtime: []string{"openssl"}},
		S{Name: "tzdata"},
		S{Name: "app", Runtime: []string{"zlib"}},
	)
	projecttest.Image(fsys, "base", "musl", "tzdata")
	projecttest.Image(fsys, "web", "curl")
	projecttest.Image(fsys, "tz", "tzdata")
	tree, err := project.Load(fsys)
	require.NoError(t, err)

	tests := []struct {
		changed        []string
		recipes, imags []string
	}{
		// musl is in make's runtime closure, and make builds zlib and openssl;
		// curl builds against openssl. make itself does not build with musl,
		// and app only runs with zlib: neither is rebuilt.
		{[]string{"musl"}, []string{"curl", "musl", "openssl", "zlib"}, []string{"base", "web"}},
		// zlib: openssl builds with it, curl builds with openssl (whose runtime
		// closure has zlib). app needs no rebuild but images with it would change.
		{[]string{"zlib"}, []string{"curl", "openssl", "zlib"}, []string{"web"}},
		{[]string{"tzdata"}, []string{"tzdata"}, []string{"base", "tz"}},
		{[]string{"app"}, []string{"app"}, nil},
		{[]string{"unknown"}, nil, nil},
	}
	for _, tt := range tests {
		r, i := graph.ReverseDeps(tree, tt.changed)
		assert.Equal(t, tt.recipes, r, "recipes for %v", tt.changed)
		assert.Equal(t, tt.imags, i, "images for %v", tt.changed)
	}
}

func TestResolveRandomTree(t *testing.T) {
	tree, err := project.Load(projecttest.Random(200, 42))
	require.NoError(t, err)
	g, err := graph.Resolve(tree, recipe.ArchAMD64, nil)
	require.NoError(t, err)
	require.Len(t, g.Order, 200)
	pos := map[string]int{}
	for i, n := range g.Names() {
		pos[n] = i
	}
	for i, r := range g.Order {
		for _, d := range append(r.Dependencies.Build, r.Dependencies.Runtime...) {
			assert.Less(t, pos[d], i, "%s must come before %s", d, r.Name)
		}
	}
}

// BenchmarkLoadResolve500 loads a generated 500-recipe tree (random DAG,
// fixed seed) and resolves the full graph for amd64.
func BenchmarkLoadResolve500(b *testing.B) {
	fsys := projecttest.Random(500, 1)
	b.ReportAllocs()
	for b.Loop() {
		tree, err := project.Load(fsys)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := graph.Resolve(tree, recipe.ArchAMD64, nil); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkResolve500 measures graph resolution alone on the same tree.
func BenchmarkResolve500(b *testing.B) {
	tree, err := project.Load(projecttest.Random(500, 1))
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := graph.Resolve(tree, recipe.ArchAMD64, nil); err != nil {
			b.Fatal(err)
		}
	}
}

func TestGraphConcurrentUse(t *testing.T) {
	g, err := graph.Resolve(distro(t), recipe.ArchAMD64, nil)
	require.NoError(t, err)
	done := make(chan []string)
	for range 8 {
		go func() { done <- g.BuildEnv("systemd") }()
	}
	for range 8 {
		assert.Equal(t, []string{"musl", "zlib", "openssl"}, <-done)
	}
}
