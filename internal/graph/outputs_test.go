package graph_test

import (
	"testing"

	"github.com/hadron-linux/hadron/internal/graph"
	"github.com/hadron-linux/hadron/internal/project"
	"github.com/hadron-linux/hadron/internal/project/projecttest"
	"github.com/hadron-linux/hadron/internal/recipe"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func refs(t *testing.T, rs []recipe.Ref) []string {
	t.Helper()
	out := make([]string, len(rs))
	for i, r := range rs {
		out[i] = r.String()
	}
	return out
}

// TestOutputClosures: an image holds main outputs (and the other outputs
// runtime dependencies name), a build environment main and dev outputs.
func TestOutputClosures(t *testing.T) {
	fsys := projecttest.Tree(
		S{Name: "musl"},
		S{Name: "make", Runtime: []string{"musl"}},
		S{Name: "zlib", Build: []string{"make", "musl"}, Runtime: []string{"musl"}},
		// openssl's tools hold c_rehash; its build needs only zlib's headers.
		S{Name: "openssl", Build: []string{"make", "musl", "zlib:dev"}, Runtime: []string{"zlib", "openssl-certs:data"}},
		S{Name: "openssl-certs", Build: []string{"make"}},
		S{Name: "curl", Build: []string{"openssl", "zlib:doc"}, Runtime: []string{"openssl"}},
	)
	certs := fsys["recipes/openssl-certs/recipe.yaml"]
	certs.Data = append(certs.Data, "outputs:\n  - name: data\n    paths: [usr/share/ca]\n"...)
	tree, err := project.Load(fsys)
	require.NoError(t, err)
	g, err := graph.Resolve(tree, recipe.ArchAMD64, []string{"curl"})
	require.NoError(t, err)

	assert.Equal(t, []string{"musl", "openssl-certs:data", "zlib", "openssl", "curl"}, refs(t, g.RuntimeOutputs("curl")),
		"main outputs only, and the output openssl names; dependencies first")
	assert.Equal(t, []string{"musl", "openssl-certs", "zlib", "openssl", "curl"}, graph.Recipes(g.RuntimeOutputs("curl")))

	assert.Equal(t, []string{"musl", "musl:dev", "openssl-certs:data", "zlib", "zlib:dev", "zlib:doc", "openssl", "openssl:dev"},
		refs(t, g.BuildEnvOutputs("curl")),
		"a build dependency brings main and dev, its runtime closure too; another output reference brings that output")
	assert.Equal(t, []string{"musl", "musl:dev", "make", "make:dev", "zlib", "zlib:dev"}, refs(t, g.BuildEnvOutputs("openssl")),
		"zlib:dev stands for zlib's main and dev outputs")
	assert.Empty(t, g.BuildEnvOutputs("musl"))
	assert.Empty(t, g.BuildEnvOutputs("nothing"))
}
