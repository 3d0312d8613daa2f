// Command benchplanning times Hadron's planning commands side by side with
// bldr's on generated trees (see tests/gentree): `graph`, `validate` and
// an LLB dry run, whole processes, median of paired runs, and prints the
// ratios and Hadron's growth from the smallest to the largest tree. It is
// what `make bench-planning` runs.
//
// bldr is used when -bldr (or $BLDR) names a binary or `bldr` is on PATH;
// its LLB dry run needs -bldr-llb (or $BLDR_LLB, see tests/tools/bldrllb).
// Without them only Hadron's figures are printed, and the report says so.
package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/hadron-linux/hadron/tests/gentree"
)

func main() {
	var o options
	flag.StringVar(&o.hadron, "hadron", "out/bin/hadron", "the hadron binary")
	flag.StringVar(&o.planllb, "planllb", "out/bin/planllb", "the LLB dry run used when hadron has no `plan --all`")
	flag.StringVar(&o.base, "base", os.Getenv("HADRON_BASE"), "an older hadron binary to compare with (optional; $HADRON_BASE)")
	flag.StringVar(&o.basePlanllb, "base-planllb", os.Getenv("HADRON_BASE_PLANLLB"), "the LLB dry run built from the older tree (optional)")
	flag.StringVar(&o.bldr, "bldr", os.Getenv("BLDR"), "the bldr binary (default: bldr on PATH)")
	flag.StringVar(&o.bldrLLB, "bldr-llb", os.Getenv("BLDR_LLB"), "bldr's LLB dry run, built from tests/tools/bldrllb (default: bldr-llb on PATH)")
	flag.StringVar(&o.dir, "dir", "out/bench", "where the generated trees go")
	sizes := flag.String("sizes", "500,2000", "tree sizes (packages), comma separated")
	flag.IntVar(&o.runs, "runs", 7, "paired runs per command; the median is reported")
	flag.Uint64Var(&o.seed, "seed", 1, "seed of the generated trees")
	flag.Parse()
	for _, s := range strings.Split(*sizes, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || n < 1 {
			fmt.Fprintf(os.Stderr, "benchplanning: -sizes: bad size %q\n", s)
			os.Exit(2)
		}
		o.sizes = append(o.sizes, n)
	}
	if err := run(o, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "benchplanning:", err)
		os.Exit(1)
	}
}

type options struct {
	hadron, planllb, base, basePlanllb, bldr, bldrLLB, dir string
	sizes                                                  []int
	runs                                                   int
	seed                                                   uint64
}

// tool is one way to run a command: a program and its arguments for a
// tree. nil means the tool cannot run that command.
type tool func(tree string) []string

// row is one command of the comparison.
type row struct {
	name          string
	hadron, other tool // other is bldr's, or the base hadron's
}

func run(o options, w io.Writer) error {
	hadron, err := exec.LookPath(o.hadron)
	if err != nil {
		return fmt.Errorf("hadron binary: %w (run `make tools` or pass -hadron)", err)
	}
	bldr := lookup(o.bldr, "bldr")
	bldrLLB := lookup(o.bldrLLB, "bldr-llb")

	plan := hadronPlan(hadron, o.planllb)
	rows := []row{
		{"graph", func(t string) []string { return []string{hadron, "-C", t, "graph"} }, nil},
		{"validate", func(t string) []string { return []string{hadron, "-C", t, "validate"} }, nil},
		{"llb (all packages)", plan, nil},
	}
	otherName := "bldr"
	if bldr != "" {
		rows[0].other = func(t string) []string { return []string{bldr, "graph", "--root", t} }
		rows[1].other = func(t string) []string { return []string{bldr, "validate", "--checksums=false", "--root", t} }
		if bldrLLB != "" {
			rows[2].other = func(t string) []string { return []string{bldrLLB, "--root", t, "--target", gentree.AllTarget} }
		}
	}
	if o.base != "" {
		// Before/after: compare with an older hadron instead of bldr.
		otherName = "base"
		base := o.base
		rows[0].other = func(t string) []string { return []string{base, "-C", t, "graph"} }
		rows[1].other = func(t string) []string { return []string{base, "-C", t, "validate"} }
		rows[2].other = nil
		if o.basePlanllb != "" {
			rows[2].other = hadronPlan(base, o.basePlanllb)
		}
	}

	trees := map[int][2]string{}
	for _, n := range o.sizes {
		h, b, err := generate(o.dir, n, o.seed)
		if err != nil {
			return err
		}
		trees[n] = [2]string{h, b}
	}

	fmt.Fprintf(w, "planning benchmark: median of %d paired runs, whole process: wall clock and CPU (user+system) ms\n", o.runs)
	fmt.Fprintf(w, "hadron: %s (LLB dry run: %s)\n", hadron, strings.Join(plan("TREE"), " "))
	switch {
	case o.base != "":
		fmt.Fprintf(w, "base:   %s\n", o.base)
	case bldr == "":
		fmt.Fprintf(w, "bldr:   not found (pass -bldr or $BLDR, or put bldr on PATH); no ratios\n")
	default:
		fmt.Fprintf(w, "bldr:   %s\n", bldr)
		if bldrLLB == "" {
			fmt.Fprintf(w, "bldr-llb: not found (make bldr-llb BLDR_SRC=...); no LLB ratio\n")
		}
	}
	fmt.Fprintf(w, "\n%-20s %6s %10s %10s %7s %10s %10s %7s\n", "command", "size", "hadron ms", otherName+" ms", "ratio",
		"hadron CPU", otherName+" CPU", "ratio")
	for _, r := range rows {
		medians := map[int]sample{}
		for _, n := range o.sizes {
			tree := trees[n]
			otherTree := tree[1]
			if o.base != "" {
				otherTree = tree[0]
			}
			var hs, others []sample
			for i := range o.runs {
				// One paired run; who goes first alternates so that
				// neither always finds the warmer cache.
				steps := []func() error{
					func() error { return timed(r.hadron(tree[0]), &hs) },
				}
				if r.other != nil {
					other := func() error { return timed(r.other(otherTree), &others) }
					if i%2 == 1 {
						steps = []func() error{other, steps[0]}
					} else {
						steps = append(steps, other)
					}
				}
				for _, step := range steps {
					if err := step(); err != nil {
						return err
					}
				}
			}
			hm := median(hs)
			medians[n] = hm
			if r.other == nil {
				fmt.Fprintf(w, "%-20s %6d %10.1f %10s %7s %10.1f %10s %7s\n", r.name, n, ms(hm.wall), "-", "-", ms(hm.cpu), "-", "-")
				continue
			}
			om := median(others)
			fmt.Fprintf(w, "%-20s %6d %10.1f %10.1f %7.2f %10.1f %10.1f %7.2f\n", r.name, n,
				ms(hm.wall), ms(om.wall), float64(hm.wall)/float64(om.wall), ms(hm.cpu), ms(om.cpu), float64(hm.cpu)/float64(om.cpu))
		}
		if len(o.sizes) > 1 {
			lo, hi := o.sizes[0], o.sizes[len(o.sizes)-1]
			fmt.Fprintf(w, "%-20s hadron growth %d -> %d packages (x%.1f): x%.2f wall, x%.2f CPU\n", "", lo, hi,
				float64(hi)/float64(lo), float64(medians[hi].wall)/float64(medians[lo].wall), float64(medians[hi].cpu)/float64(medians[lo].cpu))
		}
	}
	return nil
}

// hadronPlan is the LLB dry run of the tree's all target (one definition
// holding every package, as bldr's side plans it): `hadron plan all` when
// the binary has the plan command, else the planllb program. (`plan --all`
// would marshal one definition per recipe, a different job.)
func hadronPlan(hadron, planllb string) tool {
	if err := exec.Command(hadron, "plan", "--help").Run(); err == nil {
		return func(t string) []string { return []string{hadron, "-C", t, "plan", gentree.AllTarget} }
	}
	return func(t string) []string { return []string{planllb, "-C", t} }
}

// lookup returns the binary named by flag, else name on PATH, else "".
func lookup(flagValue, name string) string {
	if flagValue != "" {
		if p, err := exec.LookPath(flagValue); err == nil {
			return p
		}
		return ""
	}
	p, err := exec.LookPath(name)
	if err != nil {
		return ""
	}
	return p
}

// generate writes the two trees of n packages under dir (afresh) and
// returns their paths.
func generate(dir string, n int, seed uint64) (hadronTree, bldrTree string, err error) {
	pkgs := gentree.Generate(n, seed)
	hadronTree = filepath.Join(dir, fmt.Sprintf("hadron-%d", n))
	bldrTree = filepath.Join(dir, fmt.Sprintf("bldr-%d", n))
	if err := os.RemoveAll(hadronTree); err != nil {
		return "", "", err
	}
	if err := os.RemoveAll(bldrTree); err != nil {
		return "", "", err
	}
	if err := gentree.Write(hadronTree, gentree.Hadron(pkgs)); err != nil {
		return "", "", err
	}
	if err := gentree.Write(bldrTree, gentree.Bldr(pkgs)); err != nil {
		return "", "", err
	}
	return hadronTree, bldrTree, nil
}

// sample is one run's wall time and CPU time (user + system).
type sample struct{ wall, cpu time.Duration }

// timed runs argv and appends its times to ds.
func timed(argv []string, ds *[]sample) error {
	d, err := timeRun(argv)
	if err != nil {
		return err
	}
	*ds = append(*ds, d)
	return nil
}

// timeRun runs argv with output discarded and returns its wall time. A
// failing command is an error: a benchmark of a failure means nothing.
func timeRun(argv []string) (sample, error) {
	cmd := exec.Command(argv[0], argv[1:]...)
	var stderr bytes.Buffer
	cmd.Stdout = io.Discard
	cmd.Stderr = &stderr
	start := time.Now()
	err := cmd.Run()
	d := time.Since(start)
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			msg := stderr.String()
			if len(msg) > 2000 {
				msg = msg[len(msg)-2000:]
			}
			return sample{}, fmt.Errorf("%s: %v\n%s", strings.Join(argv, " "), err, msg)
		}
		return sample{}, fmt.Errorf("%s: %w", strings.Join(argv, " "), err)
	}
	return sample{wall: d, cpu: cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()}, nil
}

// median returns the median wall time and the median CPU time of ss.
func median(ss []sample) sample {
	var walls, cpus []time.Duration
	for _, s := range ss {
		walls = append(walls, s.wall)
		cpus = append(cpus, s.cpu)
	}
	return sample{wall: mid(walls), cpu: mid(cpus)}
}

func mid(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
