// Command gentree writes a synthetic package tree for the planning
// benchmarks (make bench-planning) in Hadron's format, bldr's format, or
// both:
//
//	go run ./tests/tools/gentree -n 500 -seed 1 -hadron out/bench/hadron-500 -bldr out/bench/bldr-500
package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/hadron-linux/hadron/tests/gentree"
)

func main() {
	n := flag.Int("n", 500, "number of packages")
	seed := flag.Uint64("seed", 1, "random seed for the dependency graph")
	hadronDir := flag.String("hadron", "", "write the Hadron tree here (must not exist)")
	bldrDir := flag.String("bldr", "", "write the bldr tree here (must not exist)")
	flag.Parse()
	if err := run(*n, *seed, *hadronDir, *bldrDir); err != nil {
		fmt.Fprintln(os.Stderr, "gentree:", err)
		os.Exit(1)
	}
}

func run(n int, seed uint64, hadronDir, bldrDir string) error {
	if n < 1 {
		return fmt.Errorf("-n %d: want at least 1 package", n)
	}
	if hadronDir == "" && bldrDir == "" {
		return fmt.Errorf("nothing to do: pass -hadron DIR and/or -bldr DIR")
	}
	pkgs := gentree.Generate(n, seed)
	if hadronDir != "" {
		if err := writeNew(hadronDir, func() error { return gentree.Write(hadronDir, gentree.Hadron(pkgs)) }); err != nil {
			return err
		}
	}
	if bldrDir != "" {
		if err := writeNew(bldrDir, func() error { return gentree.Write(bldrDir, gentree.Bldr(pkgs)) }); err != nil {
			return err
		}
	}
	return nil
}

// writeNew refuses to write into an existing path, so that a stale tree
// with other files never mixes with a fresh one.
func writeNew(dir string, write func() error) error {
	if _, err := os.Stat(dir); err == nil {
		return fmt.Errorf("%s exists; remove it first", dir)
	}
	return write()
}
