package lockfile

import (
	"bytes"
	"strconv"
	"strings"

	"github.com/hadron-linux/hadron/internal/yamlstrict"
)

// decodeCanonical decodes data into l without a YAML parser when data is
// in the plain layout that Marshal writes (comment lines, `recipe:` and
// `version:` at the top, `sources:` with `  - key: value` items) and every
// value is a plain word or a simple double-quoted string. It returns the
// same Lines as yamlstrict.Decode. ok is false, and l untouched, for
// anything else (other keys, other layouts, flow style, escapes, anything
// YAML would read as a non-string): the caller then decodes strictly,
// which also reports every problem with its line.
//
// Lock files are a machine-written half of every tree's files; this path
// reads them several times faster than a full YAML decode.
func decodeCanonical(data []byte, l *Lock) (lines yamlstrict.Lines, ok bool) {
	if bytes.ContainsAny(data, "\r\t") {
		return nil, false
	}
	var out Lock
	lines = yamlstrict.Lines{}
	seenTop := map[string]bool{}
	var pin *Pin
	var pinKeys map[string]bool
	inSources := false
	lineNo := 0
	for len(data) > 0 {
		var line []byte
		if i := bytes.IndexByte(data, '\n'); i >= 0 {
			line, data = data[:i], data[i+1:]
		} else {
			line, data = data, nil
		}
		lineNo++
		if len(line) == 0 || line[0] == '#' {
			continue
		}
		s := string(line)
		switch {
		case strings.HasPrefix(s, "  - "):
			if !inSources {
				return nil, false
			}
			out.Sources = append(out.Sources, Pin{Line: lineNo})
			pin = &out.Sources[len(out.Sources)-1]
			pinKeys = map[string]bool{}
			idx := "sources[" + strconv.Itoa(len(out.Sources)-1) + "]"
			lines[idx] = lineNo
			if !pinField(pin, pinKeys, s[4:], idx, lineNo, lines) {
				return nil, false
			}
		case strings.HasPrefix(s, "    "):
			if pin == nil {
				return nil, false
			}
			idx := "sources[" + strconv.Itoa(len(out.Sources)-1) + "]"
			if !pinField(pin, pinKeys, s[4:], idx, lineNo, lines) {
				return nil, false
			}
		default:
			key, val, found := strings.Cut(s, ":")
			if !found || seenTop[key] || inSources {
				return nil, false
			}
			seenTop[key] = true
			if len(lines) == 0 {
				lines[""] = lineNo
			}
			lines[key] = lineNo
			switch key {
			case "recipe", "version":
				v, ok := word(val)
				if !ok {
					return nil, false
				}
				if key == "recipe" {
					out.Recipe = v
				} else {
					out.Version = v
				}
			case "sources":
				if val != "" {
					return nil, false
				}
				inSources = true
			default:
				return nil, false
			}
		}
	}
	if len(lines) == 0 || (inSources && len(out.Sources) == 0) {
		return nil, false // empty document, or a null sources list
	}
	out.Line = lines[""] // as the strict decoder sets a struct's Line
	*l = out
	return lines, true
}

// pinField sets one `key: value` of a pin (text after the indentation).
func pinField(p *Pin, seen map[string]bool, text, idx string, lineNo int, lines yamlstrict.Lines) bool {
	key, val, found := strings.Cut(text, ":")
	if !found || seen[key] {
		return false
	}
	seen[key] = true
	v, ok := word(val)
	if !ok {
		return false
	}
	switch key {
	case "url":
		p.URL = v
	case "git":
		p.Git = v
	case "commit":
		p.Commit = v
	case "sha256":
		p.SHA256 = v
	case "sha512":
		p.SHA512 = v
	case "note":
		p.Note = v
	case "size":
		// A plain decimal without sign or leading zero: what YAML reads
		// as the same integer.
		if v != val[1:] || v == "" || v[0] == '0' || !allDigits(v) {
			return false
		}
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return false
		}
		p.Size = n
	default:
		return false
	}
	lines[idx+"."+key] = lineNo
	return true
}

// word returns the string value of the text after a key's colon: a
// space and then a plain scalar made of safe bytes, or a double-quoted
// string without escapes. Anything YAML might read differently (null,
// booleans, indicators, comments, ": " inside) is refused.
func word(val string) (string, bool) {
	if len(val) < 2 || val[0] != ' ' {
		return "", false
	}
	v := val[1:]
	if strings.ContainsAny(v, "\\'{}[]&*!|>`") {
		return "", false
	}
	if v[0] == '"' {
		if len(v) < 2 || v[len(v)-1] != '"' || strings.IndexByte(v[1:len(v)-1], '"') >= 0 {
			return "", false
		}
		return v[1 : len(v)-1], true
	}
	if strings.Contains(v, ": ") || strings.Contains(v, " #") || strings.HasSuffix(v, ":") || strings.HasSuffix(v, " ") {
		return "", false
	}
	switch v[0] {
	case '-', '?', ':', ',', '#', '%', '@', '"', ' ':
		return "", false
	}
	switch strings.ToLower(v) {
	case "null", "~", "true", "false":
		return "", false
	}
	for i := 0; i < len(v); i++ {
		c := v[i]
		if c < 0x20 || c >= 0x7f {
			return "", false
		}
	}
	return v, true
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
