package recipe

import (
	"os"
	"strings"
	"testing"

	"github.com/hadron-linux/hadron/internal/golden"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const (
	recipesDoc        = "../../docs/recipes.md"
	outputsTableBegin = "<!-- outputs-table:begin -->\n"
	outputsTableEnd   = "<!-- outputs-table:end -->"
)

// outputsTable renders DefaultOutputs as the markdown table of
// docs/recipes.md.
func outputsTable() string {
	var sb strings.Builder
	sb.WriteString("| output | holds | in images |\n| --- | --- | --- |\n")
	for _, o := range DefaultOutputs {
		paths := make([]string, len(o.Paths))
		for i, p := range o.Paths {
			paths[i] = "`" + p + "`"
		}
		images := "yes, through runtime dependencies"
		if BuildOnly(o.Name) {
			images = "never"
		}
		sb.WriteString("| `" + o.Name + "` | " + strings.Join(paths, ", ") + " | " + images + " |\n")
	}
	return sb.String()
}

// TestOutputTableInDocs: the table of default outputs in docs/recipes.md
// is the code's; -update rewrites it.
func TestOutputTableInDocs(t *testing.T) {
	data, err := os.ReadFile(recipesDoc)
	require.NoError(t, err)
	doc := string(data)
	i := strings.Index(doc, outputsTableBegin)
	j := strings.Index(doc, outputsTableEnd)
	require.True(t, i >= 0 && j > i, "%s: markers %q ... %q", recipesDoc, outputsTableBegin, outputsTableEnd)
	want := outputsTable()
	if golden.Updating() {
		doc = doc[:i+len(outputsTableBegin)] + want + doc[j:]
		require.NoError(t, os.WriteFile(recipesDoc, []byte(doc), 0o644))
		j = i + len(outputsTableBegin) + len(want)
	}
	assert.Equal(t, want, doc[i+len(outputsTableBegin):j], "%s is out of date: go test ./internal/recipe -run OutputTable -update", recipesDoc)
}
