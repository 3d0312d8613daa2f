package convert

import (
	"os"
	"strings"
	"testing"

	"github.com/hadron-linux/hadron/internal/golden"
	"github.com/hadron-linux/hadron/internal/recipe"
	"github.com/hadron-linux/hadron/toolchain"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const (
	recipesDoc      = "../../docs/recipes.md"
	styleTableBegin = "<!-- style-table:begin -->\n"
	styleTableEnd   = "<!-- style-table:end -->"
)

// styleTable renders the default phases of every build style as the
// markdown table of docs/recipes.md, with $args and $make_args standing for
// the quoted lists.
func styleTable(t *testing.T) string {
	t.Helper()
	target, err := toolchain.For(recipe.ArchAMD64)
	require.NoError(t, err)
	cell := func(s string) string {
		if strings.TrimSpace(s) == "" {
			return "—"
		}
		s = strings.ReplaceAll(s, "@ARGS@", "$args")
		s = strings.ReplaceAll(s, "@MAKEARGS@", "$make_args")
		return "`" + strings.ReplaceAll(s, "|", `\|`) + "`"
	}
	var sb strings.Builder
	sb.WriteString("| style | " + PhaseConfigure + " | " + PhaseCompile + " | " + PhaseCheck + " | " + PhaseInstall + " |\n")
	sb.WriteString("| --- | --- | --- | --- | --- |\n")
	for _, style := range recipe.Styles {
		d, err := styleDefaults(recipe.Build{Style: style, Args: []string{"@ARGS@"}, MakeArgs: []string{"@MAKEARGS@"}}, target, false)
		require.NoError(t, err)
		sb.WriteString("| `" + string(style) + "` | " + cell(d.configure) + " | " + cell(d.compile) + " | " +
			cell(d.check) + " | " + cell(d.install) + " |\n")
	}
	return sb.String()
}

// TestStyleTableInDocs: the table of default phases in docs/recipes.md is
// the code's; -update rewrites it.
func TestStyleTableInDocs(t *testing.T) {
	data, err := os.ReadFile(recipesDoc)
	require.NoError(t, err)
	doc := string(data)
	i := strings.Index(doc, styleTableBegin)
	j := strings.Index(doc, styleTableEnd)
	require.True(t, i >= 0 && j > i, "%s: markers %q ... %q", recipesDoc, styleTableBegin, styleTableEnd)
	want := styleTable(t)
	if golden.Updating() {
		doc = doc[:i+len(styleTableBegin)] + want + doc[j:]
		require.NoError(t, os.WriteFile(recipesDoc, []byte(doc), 0o644))
		j = i + len(styleTableBegin) + len(want)
	}
	assert.Equal(t, want, doc[i+len(styleTableBegin):j], "%s: style table differs from the code; rerun with -update", recipesDoc)
}
