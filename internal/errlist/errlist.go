// Package errlist collects positioned problems ("file:line: message") so that
// loaders can report every mistake in a tree at once instead of the first one.
package errlist

import (
	"errors"
	"fmt"
	"sort"
	"strings"
)

// Error is one problem at a position in a file. Line 0 means the whole file;
// an empty File means no particular file.
type Error struct {
	File string
	Line int
	Msg  string
}

// Error formats the problem as "file:line: msg", dropping the parts that are
// unknown.
func (e *Error) Error() string {
	switch {
	case e.File == "":
		return e.Msg
	case e.Line <= 0:
		return e.File + ": " + e.Msg
	default:
		return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg)
	}
}

// List is a list of problems. It implements error; use Err to turn an empty
// list into a nil error.
type List []*Error

// Error joins the problems, one per line.
func (l List) Error() string {
	lines := make([]string, len(l))
	for i, e := range l {
		lines[i] = e.Error()
	}
	return strings.Join(lines, "\n")
}

// Add appends problems to the list.
func (l *List) Add(errs ...*Error) {
	for _, e := range errs {
		if e != nil {
			*l = append(*l, e)
		}
	}
}

// Addf appends a problem built from a format string.
func (l *List) Addf(file string, line int, format string, args ...any) {
	*l = append(*l, &Error{File: file, Line: line, Msg: fmt.Sprintf(format, args...)})
}

// Append merges any error into the list: a List is flattened, an *Error is
// kept as is, anything else becomes a problem with no position.
func (l *List) Append(err error) {
	if err == nil {
		return
	}
	var list List
	if errors.As(err, &list) {
		*l = append(*l, list...)
		return
	}
	var e *Error
	if errors.As(err, &e) {
		*l = append(*l, e)
		return
	}
	*l = append(*l, &Error{Msg: err.Error()})
}

// Err returns nil when the list is empty and the list itself otherwise.
func (l List) Err() error {
	if len(l) == 0 {
		return nil
	}
	return l
}

// Sorted returns a copy ordered by file, line and message, with exact
// duplicates removed.
func (l List) Sorted() List {
	out := make(List, len(l))
	copy(out, l)
	sort.SliceStable(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.File != b.File {
			return a.File < b.File
		}
		if a.Line != b.Line {
			return a.Line < b.Line
		}
		return a.Msg < b.Msg
	})
	dedup := out[:0]
	for i, e := range out {
		if i > 0 && *e == *out[i-1] {
			continue
		}
		dedup = append(dedup, e)
	}
	return dedup
}
