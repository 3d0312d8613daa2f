package mirror

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestRewrite(t *testing.T) {
	m := Map{
		"https://example.org/":          "http://127.0.0.1:8080/all/",
		"https://example.org/releases/": "http://127.0.0.1:8080/rel/",
	}
	tests := []struct{ in, want string }{
		{"https://example.org/releases/a-1.tar.gz", "http://127.0.0.1:8080/rel/a-1.tar.gz"},
		{"https://example.org/other/b.tar.gz", "http://127.0.0.1:8080/all/other/b.tar.gz"},
		{"HTTPS://EXAMPLE.ORG/releases/c.tar.gz", "http://127.0.0.1:8080/rel/c.tar.gz"},
		{"https://elsewhere.net/d.tar.gz", "https://elsewhere.net/d.tar.gz"},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, m.Rewrite(tt.in), tt.in)
	}
	assert.Equal(t, "https://x/y", Map(nil).Rewrite("https://x/y"))
}
