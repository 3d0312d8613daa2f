//go:build ignore

// Command bldr-llb is bldr's side of the planning benchmark's LLB dry run:
// bldr v0.6.3 has no command that marshals LLB without BuildKit, so this
// program does what its frontend does before solving (load the pkg.yaml
// tree, resolve the target, convert and marshal) and prints the
// definition's digest and vertex count, like tests/tools/planllb does for
// Hadron.
//
// It imports bldr's internal packages, so it is built inside a bldr
// checkout, not in this module (hence the ignore constraint):
//
//	make bldr-llb BLDR_SRC=/path/to/bldr    # copies it to cmd/bldr-llb and builds
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log"
	"os"

	"github.com/opencontainers/go-digest"

	"github.com/siderolabs/bldr/internal/pkg/convert"
	"github.com/siderolabs/bldr/internal/pkg/environment"
	"github.com/siderolabs/bldr/internal/pkg/solver"
)

func main() {
	root := flag.String("root", ".", "the pkg root (holds Pkgfile)")
	target := flag.String("target", "all", "the package to convert")
	flag.Parse()
	opts := &environment.Options{
		BuildPlatform:  environment.LinuxAmd64,
		TargetPlatform: environment.LinuxAmd64,
		Target:         *target,
	}
	// bldr's CLI commands log every loaded file to stderr; the
	// benchmark throws that output away, so this driver does not log
	// at all (which only favours bldr).
	loader := solver.FilesystemPackageLoader{Root: *root, Context: opts.GetVariables(), Logger: log.New(io.Discard, "", 0)}
	pkgs, err := solver.NewPackages(&loader)
	if err != nil {
		fail(err)
	}
	graph, err := pkgs.Resolve(*target)
	if err != nil {
		fail(err)
	}
	def, err := convert.MarshalLLB(context.Background(), graph, nil, opts)
	if err != nil {
		fail(err)
	}
	var all []byte
	for _, d := range def.Def {
		all = append(all, d...)
	}
	fmt.Printf("%s %d vertices\n", digest.FromBytes(all), len(def.Def))
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "bldr-llb:", err)
	os.Exit(1)
}
