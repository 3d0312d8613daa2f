package convert

import (
	"fmt"

	"github.com/hadron-linux/hadron/bootchain/toolcmd"
	"github.com/hadron-linux/hadron/internal/recipe"
	"github.com/moby/buildkit/client/llb"
)

// StepELFGate names a package's ELF hygiene gate step: "<recipe>: elf gate".
const StepELFGate = "elf gate"

// ClosureDir is where a gate step mounts the package's runtime closure.
const ClosureDir = "/closure"

// gatePattern is what an image or package target copies from each gate's
// output to depend on it (see requireGates). The gate step writes nothing
// to its /out, and nothing anywhere by this name, so the copy never adds a
// file, whatever the gate's output holds.
const gatePattern = "/.hadron-elf-gate-*"

// gate returns the output of recipe name's ELF hygiene gate, and false when
// name has none: host recipes (binutils, gcc: the cross toolchain, glibc
// programs of the build platform that no image holds) are not checked, nor
// are recipes of a tree without a toolchain (test fixtures, generated
// benchmark trees: nothing there is compiled for musl, so the musl rules
// would not apply). Kernel board builds have no gate either; they do not
// come through here.
//
// The gate runs `hadron elf-check` (toolcmd.ELFCheck) for the converter's
// arch on the package's runtime closure, mounted read-only at ClosureDir:
// the layers of the package's outputs that may hold programs and can go
// into an image (its main output and those it declares beyond the
// defaults, unless recipe.BuildOnly) merged with those of their runtime
// dependencies: what an image holding them holds. A library the package
// needs must be there: one left in a dev output fails the gate. The step's /out stays empty;
// it is what a target depends on (see requireGates), and a violation fails
// the step with the report ("<pkg>: <file>: <rule>: <msg>") in its log.
//
// The gate is a step of its own beside the package, never part of it: the
// package layer keeps its exact LLB digest, so a change of the hadron
// binary re-runs the gates only, never a compile. Dependents' build steps
// mount the ungated layers in their /sysroot: a build dependency's gate is
// run by the targets whose runtime closure holds it.
func (c *Converter) gate(name string) (llb.State, bool, error) {
	if st, ok := c.gates[name]; ok {
		return st, true, nil
	}
	r, ok := c.tree.Recipes[name]
	if !ok {
		return llb.State{}, false, fmt.Errorf("no recipe or image named %q", name)
	}
	if r.Host || len(r.Dependencies.Toolchain) == 0 {
		return llb.State{}, false, nil
	}
	closure, err := c.runtimeClosure(name)
	if err != nil {
		return llb.State{}, false, fmt.Errorf("recipe %s: elf gate: %w", name, err)
	}
	run := c.toolRun(name+": "+StepELFGate, "",
		toolcmd.ELFCheck{Arch: string(c.target.Arch), Package: name, Dir: ClosureDir},
		llb.AddMount(ClosureDir, closure, llb.Readonly))
	st := outMount(run)
	c.gates[name] = st
	return st, true, nil
}

// runtimeClosure is the layers of recipe name's outputs that the gate
// checks merged with those of their runtime dependencies, in build order
// (see gate).
func (c *Converter) runtimeClosure(name string) (llb.State, error) {
	roots := []string{name}
	for _, o := range c.tree.Recipes[name].Outputs {
		if !recipe.IsDefaultOutput(o.Name) && !recipe.BuildOnly(o.Name) {
			roots = append(roots, recipe.Ref{Recipe: name, Output: o.Name}.String())
		}
	}
	layers, err := c.outputLayers(c.graph.RuntimeOutputs(roots...))
	if err != nil {
		return llb.State{}, err
	}
	if len(layers) == 1 {
		return layers[0], nil
	}
	return llb.Merge(layers, llb.WithCustomNamef("%s: runtime closure", name)), nil
}

// gatesOf returns the gate outputs of names, skipping the recipes that
// have none.
func (c *Converter) gatesOf(names []string) ([]llb.State, error) {
	var out []llb.State
	for _, n := range names {
		g, ok, err := c.gate(n)
		if err != nil {
			return nil, err
		}
		if ok {
			out = append(out, g)
		}
	}
	return out, nil
}

// gatedOutput is the package target ref: the layer of one output of a
// recipe (see Output), once the recipe's gate has passed. The state is
// the layer with a file step on top that copies nothing (see
// requireGates), so its files are exactly the output's; its name is
// "<recipe>: gated" ("<recipe>:dev: gated"). A recipe without a gate
// gives the output's layer itself.
func (c *Converter) gatedOutput(ref recipe.Ref) (llb.State, error) {
	st, err := c.Output(ref)
	if err != nil {
		return llb.State{}, err
	}
	return c.afterGate(st, ref.Recipe, ref.String())
}

// afterGate returns st once the gate of recipe name has passed: st with a
// file step that copies nothing on top (see requireGates), called
// "<label>: gated"; st itself when the recipe has no gate.
func (c *Converter) afterGate(st llb.State, name, label string) (llb.State, error) {
	gates, err := c.gatesOf([]string{name})
	if err != nil || len(gates) == 0 {
		return st, err
	}
	return st.File(requireGates(nil, gates), llb.WithCustomNamef("%s: gated", label)), nil
}

// requireGates appends to fa (nil: starts a new action chain) one copy from
// each gate's output, so that the file step fa becomes part of depends on
// every gate and adds no file:
//
//   - a copy's source state is an input of the FileOp (llb's
//     marshalState.add makes it a pb.Input), and BuildKit solves every
//     input of an op before it runs the op, and a failed input fails it.
//     The copy's content checksum (its cache key) is computed on the
//     gate's result, too, so a cached file step was made after the same
//     gate passed;
//   - the source is a wildcard (gatePattern) that matches nothing, and
//     AllowEmptyWildcard makes BuildKit's file backend (docopy) return
//     before it touches the destination when nothing matches: no file, no
//     directory, no time stamp changes.
//
// An image's finalize step carries these copies: its layer, and so the
// image's layers, are byte for byte what they would be without the gates.
func requireGates(fa *llb.FileAction, gates []llb.State) *llb.FileAction {
	nothing := &llb.CopyInfo{AllowWildcard: true, AllowEmptyWildcard: true}
	for _, g := range gates {
		if fa == nil {
			fa = llb.Copy(g, gatePattern, "/", nothing)
			continue
		}
		fa = fa.Copy(g, gatePattern, "/", nothing)
	}
	return fa
}
