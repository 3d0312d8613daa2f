package main

import (
	"context"
	"fmt"
	"io"
	"testing"

	"github.com/hadron-linux/hadron/buildkit-frontends/frontend"
	"github.com/hadron-linux/hadron/internal/recipe"
	"github.com/hadron-linux/hadron/tests/gentree"
)

// generated writes the generated tree of n packages to a temporary
// folder for the command benchmarks.
func generated(b *testing.B, n int) string {
	b.Helper()
	dir := b.TempDir()
	if err := gentree.Write(dir, gentree.Hadron(gentree.Generate(n, 1))); err != nil {
		b.Fatal(err)
	}
	return dir
}

// BenchmarkGraphCommand is `hadron graph` (every recipe, dot output) on
// generated trees, without process start-up.
func BenchmarkGraphCommand(b *testing.B) {
	for _, n := range []int{500, 2000} {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			dir := generated(b, n)
			b.ReportAllocs()
			for b.Loop() {
				if err := runGraph(io.Discard, dir, "", recipe.ArchAMD64, "dot"); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkValidateCommand is `hadron validate` on generated trees,
// without process start-up.
func BenchmarkValidateCommand(b *testing.B) {
	for _, n := range []int{500, 2000} {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			dir := generated(b, n)
			b.ReportAllocs()
			for b.Loop() {
				if err := runValidate(io.Discard, io.Discard, dir, nil, nil); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkSBOMCommand is `hadron sbom all` (SPDX, every package of the
// generated tree) without process start-up: load, resolve, the graph walk
// and the encoding. BenchmarkSBOM500 in internal/sbom is the walk alone.
func BenchmarkSBOMCommand(b *testing.B) {
	for _, n := range []int{500, 2000} {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			dir := generated(b, n)
			opts := frontend.Options{Target: gentree.AllTarget}.WithDefaults()
			b.ReportAllocs()
			for b.Loop() {
				if err := runSBOM(context.Background(), io.Discard, dir, opts, sbomSPDX, ""); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
