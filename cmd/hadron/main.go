// Command hadron builds the Hadron Linux distribution: it loads recipes and
// image definitions, converts them to one BuildKit LLB graph, and drives a
// BuildKit engine (a local one it manages, or any --addr).
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"
)

// gcPercent is the garbage collector's target for a hadron process unless
// GOGC says otherwise. Commands are short and their live heap is small
// (tens of MB for a 2000-recipe tree): collecting less often saves a
// tenth of the planning time for a few tens of MB.
const gcPercent = 400

func main() {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(gcPercent)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	root := newRootCmd()
	err := root.ExecuteContext(ctx)
	if err == nil {
		return
	}
	var ec exitCoder
	if errors.As(err, &ec) {
		if msg := err.Error(); msg != "" {
			fmt.Fprintln(os.Stderr, "hadron:", msg)
		}
		os.Exit(ec.ExitCode())
	}
	fmt.Fprintln(os.Stderr, "hadron:", err)
	os.Exit(exitFailed)
}
