// Command sleeper is the only program of the root file system that the
// engine's e2e tests run inside BuildKit: static, no shell needed.
//
//	sleeper write FILE TEXT   writes TEXT to FILE
//	sleeper sleep SECONDS     sleeps
package main

import (
	"fmt"
	"os"
	"strconv"
	"time"
)

func main() {
	if len(os.Args) != 3 && len(os.Args) != 4 {
		fmt.Fprintln(os.Stderr, "usage: sleeper write FILE TEXT | sleeper sleep SECONDS")
		os.Exit(2)
	}
	switch os.Args[1] {
	case "write":
		if err := os.WriteFile(os.Args[2], []byte(os.Args[3]), 0o644); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
	case "sleep":
		n, err := strconv.Atoi(os.Args[2])
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
		time.Sleep(time.Duration(n) * time.Second)
	default:
		os.Exit(2)
	}
}
