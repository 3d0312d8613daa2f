package main

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestDotID(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", `""`},
		{"musl", `"musl"`},
		{"image:mini", `"image:mini"`},
		{`a"b`, `"a\"b"`},
		{`c:\dir`, `"c:\\dir"`},
		{`\"`, `"\\\""`},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, dotID(tt.in), tt.in)
	}
}
