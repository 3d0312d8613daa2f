// Package yamledit changes single scalar values in a YAML document without
// touching anything else: comments, key order, quoting, indentation and
// blank lines stay byte-for-byte as they were.
//
// It locates the scalar with gopkg.in/yaml.v3's node positions, splices the
// new text into the original bytes, and then re-parses the result to prove
// that exactly that value (and nothing else) changed.
package yamledit

import (
	"bytes"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"

	"gopkg.in/yaml.v3"
)

// Set returns src with the scalar at path replaced by value. Path elements
// are mapping keys, or decimal indexes into sequences: Set(src, "13.1",
// "version") or Set(src, "abc123", "sources", "0", "commit"). The value keeps
// the original quoting style (plain, 'single' or "double"); a plain value
// that would not read back as the same string is written double-quoted.
func Set(src []byte, value string, path ...string) ([]byte, error) {
	if len(path) == 0 {
		return nil, errors.New("yamledit: empty path")
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(src, &doc); err != nil {
		return nil, fmt.Errorf("yamledit: parse: %w", err)
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) != 1 {
		return nil, errors.New("yamledit: not a single YAML document")
	}
	node, err := find(doc.Content[0], path)
	if err != nil {
		return nil, err
	}
	if node.Kind != yaml.ScalarNode {
		return nil, fmt.Errorf("yamledit: %s is not a scalar", strings.Join(path, "."))
	}
	if node.Style&(yaml.LiteralStyle|yaml.FoldedStyle) != 0 {
		return nil, fmt.Errorf("yamledit: %s is a block scalar; refusing to edit", strings.Join(path, "."))
	}
	start, err := offset(src, node.Line, node.Column)
	if err != nil {
		return nil, fmt.Errorf("yamledit: %s: %w", strings.Join(path, "."), err)
	}
	end, err := scalarEnd(src, start, node.Style)
	if err != nil {
		return nil, fmt.Errorf("yamledit: %s: %w", strings.Join(path, "."), err)
	}
	out := make([]byte, 0, len(src)+len(value))
	out = append(out, src[:start]...)
	out = append(out, render(value, node.Style)...)
	out = append(out, src[end:]...)
	if err := verify(src, out, path, value); err != nil {
		return nil, err
	}
	return out, nil
}

// find walks path from n.
func find(n *yaml.Node, path []string) (*yaml.Node, error) {
	for i, p := range path {
		where := strings.Join(path[:i+1], ".")
		switch n.Kind {
		case yaml.MappingNode:
			var next *yaml.Node
			for j := 0; j+1 < len(n.Content); j += 2 {
				if n.Content[j].Value == p {
					next = n.Content[j+1]
					break
				}
			}
			if next == nil {
				return nil, fmt.Errorf("yamledit: %s: no such key", where)
			}
			n = next
		case yaml.SequenceNode:
			idx, err := strconv.Atoi(p)
			if err != nil || idx < 0 || idx >= len(n.Content) {
				return nil, fmt.Errorf("yamledit: %s: no such sequence index", where)
			}
			n = n.Content[idx]
		default:
			return nil, fmt.Errorf("yamledit: %s: cannot descend into a scalar or alias", where)
		}
	}
	return n, nil
}

// offset converts yaml.v3's 1-based line and rune column to a byte offset.
func offset(src []byte, line, col int) (int, error) {
	off := 0
	for l := 1; l < line; l++ {
		i := bytes.IndexByte(src[off:], '\n')
		if i < 0 {
			return 0, fmt.Errorf("line %d past end of file", line)
		}
		off += i + 1
	}
	for c := 1; c < col; c++ {
		if off >= len(src) || src[off] == '\n' {
			return 0, fmt.Errorf("column %d past end of line %d", col, line)
		}
		_, size := utf8.DecodeRune(src[off:])
		off += size
	}
	return off, nil
}

// scalarEnd finds the byte just past the scalar's source text.
func scalarEnd(src []byte, start int, style yaml.Style) (int, error) {
	switch {
	case style&yaml.DoubleQuotedStyle != 0:
		for i := start + 1; i < len(src); i++ {
			switch src[i] {
			case '\\':
				i++
			case '"':
				return i + 1, nil
			case '\n':
				return 0, errors.New("multi-line quoted scalar")
			}
		}
		return 0, errors.New("unterminated double-quoted scalar")
	case style&yaml.SingleQuotedStyle != 0:
		for i := start + 1; i < len(src); i++ {
			switch src[i] {
			case '\'':
				if i+1 < len(src) && src[i+1] == '\'' {
					i++
					continue
				}
				return i + 1, nil
			case '\n':
				return 0, errors.New("multi-line quoted scalar")
			}
		}
		return 0, errors.New("unterminated single-quoted scalar")
	}
	// Plain scalar: up to a comment (" #") or the end of the line, without
	// trailing blanks. Plain scalars continued on the next line are refused
	// by verify, which re-reads the document.
	end := start
	for end < len(src) && src[end] != '\n' && src[end] != '\r' {
		if src[end] == '#' && end > start && (src[end-1] == ' ' || src[end-1] == '\t') {
			break
		}
		end++
	}
	for end > start && (src[end-1] == ' ' || src[end-1] == '\t') {
		end--
	}
	return end, nil
}

// render spells value in style, falling back to double quotes when a plain
// scalar would change meaning (a number-looking string stays a string only
// if it was quoted before; the loader reads version as a string either way).
func render(value string, style yaml.Style) string {
	switch {
	case style&yaml.DoubleQuotedStyle != 0:
		return strconv.Quote(value)
	case style&yaml.SingleQuotedStyle != 0:
		return "'" + strings.ReplaceAll(value, "'", "''") + "'"
	}
	if plainSafe(value) {
		return value
	}
	return strconv.Quote(value)
}

// plainSafe reports whether value reads back unchanged as a plain scalar.
func plainSafe(value string) bool {
	if value == "" || strings.ContainsAny(value, "#:\n\r\t\"'{}[],&*!|>%@`") || strings.TrimSpace(value) != value {
		return false
	}
	var back string
	if err := yaml.Unmarshal([]byte("v: "+value), &struct {
		V *string `yaml:"v"`
	}{&back}); err != nil {
		return false
	}
	return back == value
}

// verify re-parses both documents and checks that only the node at path
// changed, and that it now reads as value.
func verify(before, after []byte, path []string, value string) error {
	var a, b yaml.Node
	if err := yaml.Unmarshal(before, &a); err != nil {
		return fmt.Errorf("yamledit: re-parse original: %w", err)
	}
	if err := yaml.Unmarshal(after, &b); err != nil {
		return fmt.Errorf("yamledit: edit of %s broke the document: %w", strings.Join(path, "."), err)
	}
	target, err := find(a.Content[0], path)
	if err != nil {
		return err
	}
	if !same(&a, &b, target, value) {
		return fmt.Errorf("yamledit: edit of %s changed more than that value (multi-line scalar?)", strings.Join(path, "."))
	}
	return nil
}

// same compares two node trees by content, ignoring positions; at target
// (a node of the first tree) it only requires the second tree's value to be
// value.
func same(a, b, target *yaml.Node, value string) bool {
	if a == target {
		return b.Kind == yaml.ScalarNode && b.Value == value
	}
	if a.Kind != b.Kind || a.Value != b.Value || a.Tag != b.Tag || a.Anchor != b.Anchor ||
		a.HeadComment != b.HeadComment || a.LineComment != b.LineComment || a.FootComment != b.FootComment ||
		len(a.Content) != len(b.Content) {
		return false
	}
	for i := range a.Content {
		if !same(a.Content[i], b.Content[i], target, value) {
			return false
		}
	}
	return true
}
