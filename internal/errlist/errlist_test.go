package errlist

import (
	"errors"
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestErrorFormat(t *testing.T) {
	tests := []struct {
		e    Error
		want string
	}{
		{Error{File: "a.yaml", Line: 3, Msg: "bad"}, "a.yaml:3: bad"},
		{Error{File: "a.yaml", Msg: "bad"}, "a.yaml: bad"},
		{Error{Msg: "bad"}, "bad"},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, tt.e.Error())
	}
}

func TestListAddSortErr(t *testing.T) {
	var l List
	require.NoError(t, l.Err())
	l.Addf("b.yaml", 2, "second %d", 2)
	l.Addf("a.yaml", 9, "late")
	l.Add(&Error{File: "a.yaml", Line: 1, Msg: "early"}, nil)
	l.Addf("a.yaml", 9, "late") // exact duplicate
	require.Error(t, l.Err())
	assert.Len(t, l, 4)
	s := l.Sorted()
	assert.Equal(t, "a.yaml:1: early\na.yaml:9: late\nb.yaml:2: second 2", s.Error())
	assert.Len(t, l, 4, "Sorted must not modify the receiver")
}

func TestAppend(t *testing.T) {
	var l List
	l.Append(nil)
	l.Append(List{{File: "x", Line: 1, Msg: "a"}, {File: "x", Line: 2, Msg: "b"}})
	l.Append(fmt.Errorf("wrapped: %w", &Error{File: "y", Line: 3, Msg: "c"}))
	l.Append(errors.New("plain"))
	require.Len(t, l, 4)
	assert.Equal(t, "x:1: a\nx:2: b\ny:3: c\nplain", l.Error())
}
