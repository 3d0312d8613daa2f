// Package kconfig handles Linux kernel configuration text: fragments that
// ask for symbol values, merged the way scripts/kconfig/merge_config.sh
// merges them (a later fragment wins), applied to a base .config before
// `make olddefconfig`, and checked against the .config Kconfig produced so
// that a setting Kconfig silently dropped (an unmet dependency, a typo, a
// hidden prompt) fails the build with the fragment's file and line.
//
// Symbols are kept without their CONFIG_ prefix. Values are kept as the
// literal text of the right-hand side: "y", "m", "n" (also for
// "# CONFIG_X is not set"), a quoted string with its quotes, a decimal
// integer or a 0x-prefixed hex number.
package kconfig

import (
	"fmt"
	"strings"

	"github.com/hadron-linux/hadron/internal/errlist"
)

// Prefix is the prefix every symbol carries in .config text.
const Prefix = "CONFIG_"

// Setting is one symbol assignment from a fragment.
type Setting struct {
	// Symbol is the Kconfig symbol without the CONFIG_ prefix.
	Symbol string
	// Value is "y", "m", "n" (also for "# CONFIG_X is not set"), or the
	// literal right-hand side for strings (with their quotes, `"hadron"`),
	// integers and hex numbers.
	Value string
	// File and Line locate the assignment.
	File string
	Line int
}

// ConfigLine returns the setting as one .config line without a newline:
// "CONFIG_X=y", or "# CONFIG_X is not set" for n.
func (s Setting) ConfigLine() string {
	if s.Value == "n" {
		return "# " + Prefix + s.Symbol + " is not set"
	}
	return Prefix + s.Symbol + "=" + s.Value
}

// Fragment is a parsed config fragment: the assignments of one file, in
// file order.
type Fragment struct {
	File     string
	Settings []Setting
}

// ParseFragment parses a config fragment. Blank lines and '#' comments are
// ignored, except "# CONFIG_X is not set", which sets X to n. Every other
// line must be CONFIG_X=<value> with a value of y, m, n, a quoted string, a
// decimal integer or a 0x hex number. Setting one symbol twice in a
// fragment is an error, whether or not the values agree. All problems are
// reported at once as an errlist.List naming file and line; the fragment
// holds the lines that did parse.
func ParseFragment(file string, data []byte) (*Fragment, error) {
	f := &Fragment{File: file}
	var errs errlist.List
	first := map[string]int{} // symbol -> index into f.Settings
	for n, line := range lines(data) {
		sym, val, ok, msg := parseLine(line)
		if msg != "" {
			errs.Addf(file, n, "%s", msg)
			continue
		}
		if !ok {
			continue
		}
		if i, dup := first[sym]; dup {
			prev := f.Settings[i]
			if valuesEqual(prev.Value, val) {
				errs.Addf(file, n, "duplicate: %s%s is already set to %s on line %d; remove one", Prefix, sym, val, prev.Line)
			} else {
				errs.Addf(file, n, "%s%s is set to %s here but to %s on line %d of the same fragment; keep one",
					Prefix, sym, val, prev.Value, prev.Line)
			}
			continue
		}
		first[sym] = len(f.Settings)
		f.Settings = append(f.Settings, Setting{Symbol: sym, Value: val, File: file, Line: n})
	}
	return f, errs.Err()
}

// ParseConfig parses a full .config as Kconfig writes it into symbol ->
// value. "# CONFIG_X is not set" gives "n"; symbols that the file does not
// mention are absent from the map. A symbol assigned twice keeps its last
// value, as Kconfig does when it reads the file. Malformed lines are
// reported as an errlist.List naming ".config" and the line; the map holds
// the lines that did parse.
func ParseConfig(data []byte) (map[string]string, error) {
	out := map[string]string{}
	var errs errlist.List
	for n, line := range lines(data) {
		sym, val, ok, msg := parseLine(line)
		if msg != "" {
			errs.Addf(".config", n, "%s", msg)
			continue
		}
		if ok {
			out[sym] = val
		}
	}
	return out, errs.Err()
}

// ParseSymbols reads a list of Kconfig symbols, one a line, with or
// without the CONFIG_ prefix; blank lines and '#' comments are skipped. It
// is meant for the list of every symbol a kernel tree's Kconfig files
// define:
//
//	find $SRC -name 'Kconfig*' | xargs grep -hoE \
//	  '^[[:space:]]*(menu)?config[[:space:]]+[A-Za-z0-9_]+' | awk '{print $2}' | sort -u
func ParseSymbols(data []byte) map[string]bool {
	out := map[string]bool{}
	for _, line := range lines(data) {
		line = strings.TrimSpace(line)
		if line == "" || line[0] == '#' {
			continue
		}
		out[strings.TrimPrefix(line, Prefix)] = true
	}
	return out
}

// lines splits data into lines numbered from 1, without their line ends
// (LF or CRLF).
func lines(data []byte) func(yield func(int, string) bool) {
	return func(yield func(int, string) bool) {
		s := string(data)
		for n := 1; s != ""; n++ {
			line, rest, _ := strings.Cut(s, "\n")
			if !yield(n, strings.TrimSuffix(line, "\r")) {
				return
			}
			s = rest
		}
	}
}

// parseLine parses one .config line. ok reports an assignment; msg, when
// not empty, says why the line is malformed. Blank lines and comments give
// neither.
func parseLine(raw string) (sym, val string, ok bool, msg string) {
	line := strings.TrimRight(raw, " \t")
	trimmed := strings.TrimLeft(line, " \t")
	switch {
	case trimmed == "":
		return "", "", false, ""
	case trimmed[0] == '#':
		return parseComment(line)
	case trimmed != line:
		return "", "", false, "indented line: Kconfig only reads assignments that start the line"
	}
	name, rhs, found := strings.Cut(line, "=")
	if !strings.HasPrefix(name, Prefix) {
		return "", "", false, fmt.Sprintf("malformed line %q: expected CONFIG_<SYMBOL>=<value>, \"# CONFIG_<SYMBOL> is not set\" or a '#' comment", clip(line))
	}
	sym = strings.TrimPrefix(name, Prefix)
	if !validSymbol(sym) {
		return "", "", false, fmt.Sprintf("malformed symbol name %q: use letters, digits and _", clip(name))
	}
	if !found {
		return "", "", false, fmt.Sprintf("%s%s has no value: write %s%s=y, =m, =n or a value", Prefix, sym, Prefix, sym)
	}
	if m := checkValue(rhs); m != "" {
		return "", "", false, fmt.Sprintf("%s%s: %s", Prefix, sym, m)
	}
	return sym, rhs, true, ""
}

// parseComment handles a line starting with '#': "# CONFIG_X is not set"
// is an assignment of n; a near miss of that form (which Kconfig would
// silently ignore) is an error; anything else is a comment.
func parseComment(line string) (sym, val string, ok bool, msg string) {
	if rest, isNotSet := strings.CutPrefix(line, "# "+Prefix); isNotSet {
		if s, exact := strings.CutSuffix(rest, " is not set"); exact && validSymbol(s) {
			return s, "n", true, ""
		}
	}
	f := strings.Fields(strings.TrimLeft(line, " \t#"))
	if len(f) == 4 && strings.HasPrefix(f[0], Prefix) && validSymbol(strings.TrimPrefix(f[0], Prefix)) &&
		f[1] == "is" && f[2] == "not" && f[3] == "set" {
		return "", "", false, fmt.Sprintf("write %q exactly (one '#', single spaces, at the start of the line): Kconfig ignores other spellings", "# "+f[0]+" is not set")
	}
	return "", "", false, ""
}

// checkValue returns why rhs is not a valid .config value, or "".
func checkValue(v string) string {
	switch {
	case v == "":
		return `empty value: write "# CONFIG_X is not set" to turn a symbol off, or "" for an empty string`
	case v == "y" || v == "m" || v == "n":
		return ""
	case v[0] == '"':
		return checkString(v)
	case isInt(v) || isHex(v):
		return ""
	case strings.ContainsAny(v, "# \t"):
		return fmt.Sprintf("malformed value %q: put comments on a line of their own", clip(v))
	}
	return fmt.Sprintf("malformed value %q: expected y, m, n, a quoted string, a decimal integer or a 0x hex number", clip(v))
}

// checkString checks a double-quoted .config string: backslash escapes the
// next character and nothing may follow the closing quote.
func checkString(v string) string {
	for i := 1; i < len(v); i++ {
		switch v[i] {
		case '\\':
			i++
		case '"':
			if i != len(v)-1 {
				return fmt.Sprintf("text after the closing quote of %s: put comments on a line of their own", clip(v))
			}
			return ""
		}
	}
	return fmt.Sprintf("unterminated string %s", clip(v))
}

func isInt(v string) bool {
	v = strings.TrimPrefix(v, "-")
	if v == "" {
		return false
	}
	for _, c := range []byte(v) {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

func isHex(v string) bool {
	if len(v) < 3 || v[0] != '0' || (v[1] != 'x' && v[1] != 'X') {
		return false
	}
	for _, c := range []byte(v[2:]) {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
			return false
		}
	}
	return true
}

func validSymbol(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range []byte(s) {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || c == '_') {
			return false
		}
	}
	return true
}

// clip shortens s for an error message.
func clip(s string) string {
	if r := []rune(s); len(r) > 60 {
		return string(r[:60]) + "..."
	}
	return s
}
