// Package yamlstrict decodes YAML into Go structs strictly: unknown keys (with
// a "did you mean" suggestion), values of the wrong type and duplicate keys
// are all reported, each as "file:line: message", instead of being ignored.
// It also records the line of every decoded value so that later validation
// can point at the offending line.
//
// Supported targets are the shapes Hadron's formats use: structs (by `yaml`
// tag), pointers to structs, slices, maps with string keys, strings (and
// named string types), integers, floats and booleans. A struct field named
// Line of type int and tagged `yaml:"-"` receives the line where the struct's
// value starts.
package yamlstrict

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/hadron-linux/hadron/internal/errlist"
	"gopkg.in/yaml.v3"
)

// Lines maps the path of a decoded value to its line in the file. Paths use
// the YAML keys joined by dots, with list indexes in brackets:
// "name", "build.style", "sources[1].url", "patches[0]". The empty path is the
// document itself.
type Lines map[string]int

// Of returns the line of path, or of its nearest recorded ancestor, or 0.
func (l Lines) Of(path string) int {
	for {
		if n, ok := l[path]; ok {
			return n
		}
		if path == "" {
			return 0
		}
		path = parent(path)
	}
}

// parent strips the last element from a path ("a.b[2]" -> "a.b" -> "a").
func parent(path string) string {
	i := strings.LastIndexAny(path, ".[")
	if i < 0 {
		return ""
	}
	return path[:i]
}

var syntaxErrRE = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// Decode parses data, which must hold exactly one YAML document, into out (a
// pointer) strictly. The returned error, when not nil, is an errlist.List
// naming file and line for every problem found; decoding continues past
// problems so that all of them are reported. Lines is returned even when
// there are problems.
func Decode(file string, data []byte, out any) (Lines, error) {
	var doc yaml.Node
	if !hasDocumentMarker(data) {
		// At most one document: parse the bytes directly, without the
		// stream decoder's reader and a second pass to look for more.
		if err := yaml.Unmarshal(data, &doc); err != nil {
			return Lines{}, errlist.List{syntaxError(file, err)}
		}
		if doc.Kind == 0 || (doc.Kind == yaml.DocumentNode && len(doc.Content) == 0) {
			return Lines{}, errlist.List{{File: file, Msg: "empty document"}}
		}
		return DecodeNode(file, &doc, out)
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return Lines{}, errlist.List{{File: file, Msg: "empty document"}}
		}
		return Lines{}, errlist.List{syntaxError(file, err)}
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); err == nil {
		return Lines{}, errlist.List{{File: file, Line: extra.Line, Msg: "more than one YAML document; expected exactly one"}}
	} else if !errors.Is(err, io.EOF) {
		return Lines{}, errlist.List{syntaxError(file, err)}
	}
	return DecodeNode(file, &doc, out)
}

// hasDocumentMarker reports whether a line of data starts with "---" or
// "...", the only way a YAML stream can hold a second document. Without
// one, data holds at most one document.
func hasDocumentMarker(data []byte) bool {
	for len(data) > 0 {
		if bytes.HasPrefix(data, []byte("---")) || bytes.HasPrefix(data, []byte("...")) {
			return true
		}
		i := bytes.IndexByte(data, '\n')
		if i < 0 {
			return false
		}
		data = data[i+1:]
	}
	return false
}

// DecodeNode decodes an already parsed node (a document or any value node)
// into out strictly, like Decode.
func DecodeNode(file string, node *yaml.Node, out any) (Lines, error) {
	rv := reflect.ValueOf(out)
	if rv.Kind() != reflect.Pointer || rv.IsNil() {
		return nil, fmt.Errorf("yamlstrict: decode target must be a non-nil pointer, got %T", out)
	}
	if node.Kind == yaml.DocumentNode {
		if len(node.Content) == 0 {
			return Lines{}, errlist.List{{File: file, Msg: "empty document"}}
		}
		node = node.Content[0]
	}
	d := &decoder{file: file, lines: Lines{}}
	d.decode(node, rv.Elem(), "", node.Line)
	return d.lines, d.errs.Err()
}

// syntaxError turns a yaml.v3 parse error into a positioned problem.
func syntaxError(file string, err error) *errlist.Error {
	msg := err.Error()
	if m := syntaxErrRE.FindStringSubmatch(msg); m != nil {
		line, _ := strconv.Atoi(m[1])
		return &errlist.Error{File: file, Line: line, Msg: "malformed YAML: " + m[2]}
	}
	return &errlist.Error{File: file, Msg: "malformed YAML: " + strings.TrimPrefix(msg, "yaml: ")}
}

// maxValues bounds the values one document may decode to, counting every
// expansion of an alias, so that alias bombs ("billion laughs") fail fast.
const maxValues = 100000

type decoder struct {
	file   string
	lines  Lines
	errs   errlist.List
	depth  int
	values int
	over   bool
}

func (d *decoder) errorf(line int, path, format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	if path != "" {
		msg = path + ": " + msg
	}
	d.errs.Addf(d.file, line, "%s", msg)
}

// decode fills v from n. keyLine is the line of the key that introduced the
// value (or the value's own line for list items and the document).
func (d *decoder) decode(n *yaml.Node, v reflect.Value, path string, keyLine int) {
	if d.over {
		return
	}
	if d.values++; d.values > maxValues {
		d.over = true
		d.errorf(n.Line, path, "document too large: more than %d values (alias expansion?)", maxValues)
		return
	}
	d.depth++
	defer func() { d.depth-- }()
	if d.depth > 100 {
		d.over = true
		d.errorf(n.Line, path, "nesting too deep (alias loop?)")
		return
	}
	if n.Kind == yaml.AliasNode {
		if n.Alias == nil {
			d.errorf(n.Line, path, "unresolved alias")
			return
		}
		n = n.Alias
	}
	d.lines[path] = keyLine
	if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
		return // leave the zero value
	}
	switch v.Kind() {
	case reflect.Pointer:
		if v.IsNil() {
			v.Set(reflect.New(v.Type().Elem()))
		}
		d.decode(n, v.Elem(), path, keyLine)
	case reflect.Struct:
		d.decodeStruct(n, v, path, keyLine)
	case reflect.Slice:
		if n.Kind != yaml.SequenceNode {
			d.errorf(n.Line, path, "expected a list, got %s", describe(n))
			return
		}
		s := reflect.MakeSlice(v.Type(), len(n.Content), len(n.Content))
		for i, item := range n.Content {
			d.decode(item, s.Index(i), path+"["+strconv.Itoa(i)+"]", item.Line)
		}
		v.Set(s)
	case reflect.Map:
		d.decodeMap(n, v, path)
	case reflect.String:
		if n.Kind != yaml.ScalarNode {
			d.errorf(n.Line, path, "expected a string, got %s", describe(n))
			return
		}
		if n.Tag == "!!bool" {
			d.errorf(n.Line, path, "expected a string, got the boolean %s (quote it if you mean the text)", n.Value)
			return
		}
		v.SetString(n.Value)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		var x int64
		if !d.scalar(n, path, "an integer", &x, "!!int") {
			return
		}
		if v.OverflowInt(x) {
			d.errorf(n.Line, path, "integer %s out of range", n.Value)
			return
		}
		v.SetInt(x)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		var x uint64
		if !d.scalar(n, path, "a non-negative integer", &x, "!!int") {
			return
		}
		if v.OverflowUint(x) {
			d.errorf(n.Line, path, "integer %s out of range", n.Value)
			return
		}
		v.SetUint(x)
	case reflect.Float32, reflect.Float64:
		var x float64
		if d.scalar(n, path, "a number", &x, "!!int", "!!float") {
			v.SetFloat(x)
		}
	case reflect.Bool:
		var x bool
		if d.scalar(n, path, "true or false", &x, "!!bool") {
			v.SetBool(x)
		}
	case reflect.Interface:
		if err := n.Decode(v.Addr().Interface()); err != nil {
			d.errorf(n.Line, path, "%v", err)
		}
	default:
		d.errorf(n.Line, path, "cannot decode into Go type %s", v.Type())
	}
}

// scalar decodes n into x when n is a scalar tagged with one of tags, and
// otherwise reports that want was expected and returns false.
func (d *decoder) scalar(n *yaml.Node, path, want string, x any, tags ...string) bool {
	if n.Kind != yaml.ScalarNode || !slices.Contains(tags, n.Tag) || n.Decode(x) != nil {
		d.errorf(n.Line, path, "expected %s, got %s", want, describe(n))
		return false
	}
	return true
}

// field is one YAML-visible struct field.
type field struct {
	index []int
}

// fieldTable is the cached result of structFields for one type.
type fieldTable struct {
	fields map[string]field
	names  []string
	// line is the index of the Line field (int, `yaml:"-"`), or nil.
	line []int
}

var fieldCache sync.Map // reflect.Type -> fieldTable

// structFields maps yaml key names to fields, with the sorted names and
// the Line field, for struct type t.
func structFields(t reflect.Type) fieldTable {
	if ft, ok := fieldCache.Load(t); ok {
		return ft.(fieldTable)
	}
	fields := map[string]field{}
	var names []string
	for i := 0; i < t.NumField(); i++ {
		sf := t.Field(i)
		if !sf.IsExported() {
			continue
		}
		tag := sf.Tag.Get("yaml")
		if tag == "-" {
			continue
		}
		name, _, _ := strings.Cut(tag, ",")
		if name == "" {
			name = strings.ToLower(sf.Name)
		}
		fields[name] = field{index: sf.Index}
		names = append(names, name)
	}
	sort.Strings(names)
	ft := fieldTable{fields: fields, names: names}
	if sf, ok := t.FieldByName("Line"); ok && sf.Type.Kind() == reflect.Int && sf.Tag.Get("yaml") == "-" {
		ft.line = sf.Index
	}
	fieldCache.Store(t, ft)
	return ft
}

// isMapping reports whether n is a mapping, and reports a problem when it
// is not.
func (d *decoder) isMapping(n *yaml.Node, path string) bool {
	if n.Kind != yaml.MappingNode {
		d.errorf(n.Line, path, "expected a mapping, got %s", describe(n))
		return false
	}
	return true
}

// eachKey calls fn for each key and value of the mapping n, in order. Keys
// that are not plain strings, that repeat an earlier key or, unless
// mergeKeys, that are the merge key "<<" are reported and skipped.
func (d *decoder) eachKey(n *yaml.Node, path string, mergeKeys bool, fn func(k, val *yaml.Node)) {
	// Small mappings (nearly all of them) look for a repeated key among
	// the earlier keys; a map pays off only for large ones.
	var seen map[string]int
	if len(n.Content) > 32 {
		seen = make(map[string]int, len(n.Content)/2)
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, val := n.Content[i], n.Content[i+1]
		if k.Kind != yaml.ScalarNode {
			d.errorf(k.Line, path, "mapping keys must be plain strings, got %s", describe(k))
			continue
		}
		if !mergeKeys && k.Value == "<<" {
			d.errorf(k.Line, path, "merge keys (<<) are not supported; write the keys out")
			continue
		}
		if first, dup := d.earlier(n, i, mergeKeys, seen); dup {
			d.errorf(k.Line, path, "duplicate key `%s` (first set on line %d)", k.Value, first)
			continue
		}
		if seen != nil {
			seen[k.Value] = k.Line
		}
		fn(k, val)
	}
}

// earlier returns the line of the first key before position i of mapping
// n with the same value as the key at i (seen holds them for large
// mappings). Keys reported as problems before (not plain strings, merge
// keys where they are not allowed) do not count.
func (d *decoder) earlier(n *yaml.Node, i int, mergeKeys bool, seen map[string]int) (int, bool) {
	k := n.Content[i]
	if seen != nil {
		line, ok := seen[k.Value]
		return line, ok
	}
	for j := 0; j < i; j += 2 {
		if e := n.Content[j]; e.Kind == yaml.ScalarNode && e.Value == k.Value && (mergeKeys || e.Value != "<<") {
			return e.Line, true
		}
	}
	return 0, false
}

func (d *decoder) decodeStruct(n *yaml.Node, v reflect.Value, path string, keyLine int) {
	if !d.isMapping(n, path) {
		return
	}
	ft := structFields(v.Type())
	if ft.line != nil {
		v.FieldByIndex(ft.line).SetInt(int64(keyLine))
	}
	fields, names := ft.fields, ft.names
	d.eachKey(n, path, false, func(k, val *yaml.Node) {
		f, ok := fields[k.Value]
		if !ok {
			where := ""
			if path != "" {
				where = " in " + path
			}
			d.errs.Addf(d.file, k.Line, "unknown key `%s`%s%s", k.Value, where,
				DidYouMean(k.Value, names, "; known keys: "+strings.Join(names, ", ")))
			return
		}
		d.decode(val, v.FieldByIndex(f.index), join(path, k.Value), k.Line)
	})
}

func (d *decoder) decodeMap(n *yaml.Node, v reflect.Value, path string) {
	if !d.isMapping(n, path) {
		return
	}
	if v.Type().Key().Kind() != reflect.String {
		d.errorf(n.Line, path, "cannot decode into Go type %s", v.Type())
		return
	}
	m := reflect.MakeMapWithSize(v.Type(), len(n.Content)/2)
	d.eachKey(n, path, true, func(k, val *yaml.Node) {
		ev := reflect.New(v.Type().Elem()).Elem()
		d.decode(val, ev, join(path, k.Value), k.Line)
		m.SetMapIndex(reflect.ValueOf(k.Value).Convert(v.Type().Key()), ev)
	})
	v.Set(m)
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// describe names a node's kind for error messages.
func describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		switch n.Tag {
		case "!!bool":
			return "the boolean " + n.Value
		case "!!int", "!!float":
			return "the number " + n.Value
		case "!!null":
			return "null"
		}
		v := n.Value
		if r := []rune(v); len(r) > 40 {
			v = string(r[:40]) + "..."
		}
		return strconv.Quote(v)
	case yaml.AliasNode:
		return "an alias"
	}
	return "an empty value"
}
