package kconfig

import (
	"bytes"
	"strings"
)

// Override records a symbol that a later fragment set to a different value
// than an earlier one did.
type Override struct {
	Symbol string
	// Old is the earlier setting, New the one that won.
	Old, New Setting
}

// Merged is the result of merging fragments.
type Merged struct {
	// Settings holds the winning setting of every symbol, in the order in
	// which the symbols first appeared.
	Settings []Setting
	// Overrides lists, in merge order, every time a fragment changed the
	// value an earlier fragment had set.
	Overrides []Override
}

// Merge merges fragments in order; for a symbol set by several fragments
// the last one wins, as with scripts/kconfig/merge_config.sh. A later
// fragment repeating an earlier value is not an override, but the later
// setting becomes the winner (it is the line merge_config.sh keeps).
func Merge(frags ...*Fragment) *Merged {
	n := 0
	for _, f := range frags {
		if f != nil {
			n += len(f.Settings)
		}
	}
	m := &Merged{Settings: make([]Setting, 0, n)}
	at := make(map[string]int, n) // symbol -> index into m.Settings
	for _, f := range frags {
		if f == nil {
			continue
		}
		for _, s := range f.Settings {
			i, seen := at[s.Symbol]
			if !seen {
				at[s.Symbol] = len(m.Settings)
				m.Settings = append(m.Settings, s)
				continue
			}
			if old := m.Settings[i]; !valuesEqual(old.Value, s.Value) {
				m.Overrides = append(m.Overrides, Override{Symbol: s.Symbol, Old: old, New: s})
			}
			m.Settings[i] = s
		}
	}
	return m
}

// Bytes returns the merged settings as .config text, one line each in
// Settings order: "CONFIG_X=<value>", or "# CONFIG_X is not set" for n.
func (m *Merged) Bytes() []byte {
	var b bytes.Buffer
	for _, s := range m.Settings {
		b.WriteString(s.ConfigLine())
		b.WriteByte('\n')
	}
	return b.Bytes()
}

// ApplyToBase returns base (a .config) with every line that sets a merged
// symbol, as "CONFIG_X=..." or "# CONFIG_X is not set", removed and the
// merged settings appended: the file that merge_config.sh hands to
// `make olddefconfig`. Every other line of base is kept as it is.
func ApplyToBase(base []byte, m *Merged) []byte {
	merged := make(map[string]bool, len(m.Settings))
	for _, s := range m.Settings {
		merged[s.Symbol] = true
	}
	var b bytes.Buffer
	b.Grow(len(base) + 32*len(m.Settings))
	for _, line := range lines(base) {
		if sym := lineSymbol(line); sym != "" && merged[sym] {
			continue
		}
		b.WriteString(line)
		b.WriteByte('\n')
	}
	b.Write(m.Bytes())
	return b.Bytes()
}

// lineSymbol returns the symbol a .config line sets ("CONFIG_X=..." or
// "# CONFIG_X is not set"), or "".
func lineSymbol(line string) string {
	if rest, ok := strings.CutPrefix(line, Prefix); ok {
		sym, _, _ := strings.Cut(rest, "=")
		return sym
	}
	if rest, ok := strings.CutPrefix(line, "# "+Prefix); ok {
		if sym, ok := strings.CutSuffix(strings.TrimRight(rest, " \t\r"), " is not set"); ok {
			return sym
		}
	}
	return ""
}

// valuesEqual compares two values as Kconfig would: hex numbers without
// regard to case or leading zeros, integers without regard to leading
// zeros, everything else literally.
func valuesEqual(a, b string) bool {
	if a == b {
		return true
	}
	switch {
	case isHex(a) && isHex(b):
		return canonHex(a) == canonHex(b)
	case isInt(a) && isInt(b):
		return canonInt(a) == canonInt(b)
	}
	return false
}

func canonHex(v string) string {
	v = strings.TrimLeft(strings.ToLower(v[2:]), "0")
	if v == "" {
		return "0"
	}
	return v
}

func canonInt(v string) string {
	neg := strings.HasPrefix(v, "-")
	v = strings.TrimLeft(strings.TrimPrefix(v, "-"), "0")
	switch {
	case v == "":
		return "0"
	case neg:
		return "-" + v
	}
	return v
}
