package cilint

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestRepositoryWorkflows lints every workflow of this repository.
func TestRepositoryWorkflows(t *testing.T) {
	root, err := FindRoot(".")
	require.NoError(t, err)
	files, err := Files(filepath.Join(root, WorkflowsDir))
	require.NoError(t, err)
	require.NotEmpty(t, files, "no workflows found under %s", WorkflowsDir)
	problems, err := Lint(files)
	require.NoError(t, err)
	assert.Empty(t, problems, "actionlint:\n%s", strings.Join(problems, "\n"))
}

// TestFixtures proves the lint can fail: a broken workflow is caught, a
// good one passes.
func TestFixtures(t *testing.T) {
	problems, err := Lint([]string{"testdata/good.yml"})
	require.NoError(t, err)
	assert.Empty(t, problems)

	problems, err = Lint([]string{"testdata/bad.yml"})
	require.NoError(t, err)
	all := strings.Join(problems, "\n")
	for _, want := range []string{
		"testdata/bad.yml:",
		"[syntax-check]", // unknown key "step"
		"[expression]",   // undefined context property
		"[events]",       // unknown webhook event
		"[job-needs]",    // needs a job that does not exist
		"[runner-label]", // unknown runner label
	} {
		assert.Contains(t, all, want)
	}
}
