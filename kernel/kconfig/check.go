package kconfig

import (
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/hadron-linux/hadron/internal/yamlstrict"
)

// Problem is a fragment setting that the final .config does not honour.
type Problem struct {
	// Setting is the winning setting that was asked for.
	Setting Setting
	// Got is the symbol's value in the final .config; "" when absent.
	Got string
	// NoSuchSymbol is set when the symbol is not a Kconfig symbol of the
	// kernel tree at all (a typo, or one that was renamed or removed).
	NoSuchSymbol bool
	// Suggestion is the closest known symbol when NoSuchSymbol is set,
	// without the CONFIG_ prefix; "" when none is close.
	Suggestion string
}

// String formats the problem as "file:line: CONFIG_X: ..." with a hint at
// the likely cause.
func (p Problem) String() string {
	s := p.Setting
	head := fmt.Sprintf("%s:%d: %s%s: ", s.File, s.Line, Prefix, s.Symbol)
	if p.NoSuchSymbol {
		if p.Suggestion != "" {
			return head + "no such Kconfig symbol (did you mean " + Prefix + p.Suggestion + "?)"
		}
		return head + "no such Kconfig symbol in this kernel version (renamed or removed?)"
	}
	return head + fmt.Sprintf("wanted %s, got %s (%s)", s.Value, displayGot(p.Got), hint(s.Value, p.Got))
}

// displayGot shows a final value in a message; absent reads "not set".
func displayGot(v string) string {
	if v == "" {
		return "not set"
	}
	return v
}

// hint guesses why Kconfig did not keep a wanted value.
func hint(want, got string) string {
	const search = "see `make menuconfig` search"
	isTri := func(v string) bool { return v == "y" || v == "m" }
	switch {
	case got == "":
		return "a dependency is probably off; " + search
	case want == "n":
		return "something selects it, or it has no prompt to turn it off; " + search
	case isTri(want) && got == "n":
		return "a dependency is off or its prompt is hidden; " + search
	case want == "y" && got == "m":
		return "it depends on a symbol that is only m; set that one to y"
	case want == "m" && got == "y":
		return "modules are off, or a built-in symbol selects it"
	}
	return "its prompt is hidden or the value is out of range, so Kconfig kept its own; " + search
}

// satisfied reports whether the final value got (present tells whether the
// symbol was in the .config at all) honours want. Wanting n is satisfied
// by n or by absence.
func satisfied(want, got string, present bool) bool {
	if !present {
		return want == "n"
	}
	return valuesEqual(want, got)
}

// Check compares the final .config (as ParseConfig returns it) with the
// merged settings and returns every setting whose final value differs,
// sorted by file and line. Wanting n is satisfied by n or by the symbol
// being absent. When known is not nil (see ParseSymbols), every setting
// whose symbol is neither known nor in the final .config is reported with
// NoSuchSymbol set and the closest known symbol as Suggestion, even when
// it asked for n: a misspelt "is not set" protects nothing.
func Check(final map[string]string, m *Merged, known map[string]bool) []Problem {
	var out []Problem
	for _, s := range m.Settings {
		got, present := final[s.Symbol]
		if known != nil && !present && !known[s.Symbol] {
			out = append(out, Problem{Setting: s, NoSuchSymbol: true, Suggestion: suggest(s.Symbol, known)})
			continue
		}
		if !satisfied(s.Value, got, present) {
			out = append(out, Problem{Setting: s, Got: got})
		}
	}
	sort.SliceStable(out, func(i, j int) bool {
		a, b := out[i].Setting, out[j].Setting
		if a.File != b.File {
			return a.File < b.File
		}
		return a.Line < b.Line
	})
	return out
}

// suggest returns the known symbol closest to sym, or "". Only symbols
// whose length is within the largest edit distance yamlstrict.Suggest
// accepts can be suggested, so the others are left out before the
// (slower) edit-distance search; sorting makes ties deterministic.
func suggest(sym string, known map[string]bool) string {
	const maxDistance = 2
	var names []string
	for k := range known {
		if d := len(k) - len(sym); -maxDistance <= d && d <= maxDistance {
			names = append(names, k)
		}
	}
	slices.Sort(names)
	return yamlstrict.Suggest(sym, names)
}

// CheckFailure is the error CheckError returns: the problems of one
// board's kernel config. Use errors.As to get at the problems.
type CheckFailure struct {
	Board    string
	Problems []Problem
}

// Error lists every problem, one per line, under a heading naming the
// board.
func (e *CheckFailure) Error() string {
	var b strings.Builder
	noun := "symbols"
	if len(e.Problems) == 1 {
		noun = "symbol"
	}
	fmt.Fprintf(&b, "kernel config for board %s: %d %s did not get the value a fragment asked for:", e.Board, len(e.Problems), noun)
	for _, p := range e.Problems {
		b.WriteString("\n  ")
		b.WriteString(p.String())
	}
	return b.String()
}

// CheckError returns nil when problems is empty and otherwise a
// *CheckFailure listing every problem.
func CheckError(board string, problems []Problem) error {
	if len(problems) == 0 {
		return nil
	}
	return &CheckFailure{Board: board, Problems: problems}
}

// Change is one symbol whose value differs between two configs.
type Change struct {
	Symbol string
	// Old and New are the values; "" when the symbol is absent.
	Old, New string
}

// Diff returns the symbols whose values differ between base and final,
// sorted by symbol. A symbol set to n in one and absent in the other counts
// as a change.
func Diff(base, final map[string]string) []Change {
	var out []Change
	for sym, old := range base {
		if nw, ok := final[sym]; !ok || nw != old {
			out = append(out, Change{Symbol: sym, Old: old, New: nw})
		}
	}
	for sym, nw := range final {
		if _, ok := base[sym]; !ok {
			out = append(out, Change{Symbol: sym, New: nw})
		}
	}
	slices.SortFunc(out, func(a, b Change) int { return strings.Compare(a.Symbol, b.Symbol) })
	return out
}

// FormatDiff renders changes one per line: "CONFIG_X: n -> y",
// "CONFIG_Y: (absent) -> m".
func FormatDiff(changes []Change) string {
	var b strings.Builder
	show := func(v string) string {
		if v == "" {
			return "(absent)"
		}
		return v
	}
	for _, c := range changes {
		fmt.Fprintf(&b, "%s%s: %s -> %s\n", Prefix, c.Symbol, show(c.Old), show(c.New))
	}
	return b.String()
}
