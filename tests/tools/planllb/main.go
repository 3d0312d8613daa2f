// Command planllb is the LLB dry run the planning benchmark times while
// `hadron plan` is not available: it loads a tree, resolves and converts
// its "all" image for amd64 and marshals the definition, then prints the
// definition's digest and its vertex count.
//
//	go run ./tests/tools/planllb -C out/bench/hadron-500
package main

import (
	"context"
	"flag"
	"fmt"
	"os"

	"github.com/hadron-linux/hadron/internal/dirfs"
	"github.com/hadron-linux/hadron/tests/gentree"
	digest "github.com/opencontainers/go-digest"
)

func main() {
	dir := flag.String("C", ".", "tree root")
	flag.Parse()
	def, err := gentree.PlanAll(context.Background(), dirfs.New(*dir))
	if err != nil {
		fmt.Fprintln(os.Stderr, "planllb:", err)
		os.Exit(1)
	}
	var all []byte
	for _, d := range def.Def {
		all = append(all, d...)
	}
	fmt.Printf("%s %d vertices\n", digest.FromBytes(all), len(def.Def))
}
