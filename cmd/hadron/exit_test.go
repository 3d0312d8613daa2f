package main

import (
	"testing"

	"github.com/hadron-linux/hadron/internal/bump"
	"github.com/stretchr/testify/assert"
)

// TestBumpExitCodes: the exit codes docs/bump.md promises the nightly job.
func TestBumpExitCodes(t *testing.T) {
	res := func(name string, s bump.Status) bump.Result { return bump.Result{Recipe: name, Status: s} }
	for _, tc := range []struct {
		name     string
		rep      bump.Report
		code     int
		contains string
	}{
		{"nothing to do", bump.Report{Results: []bump.Result{res("xz", bump.StatusCurrent)}}, exitOK, ""},
		{"nothing selected", bump.Report{}, exitOK, ""},
		{"updated", bump.Report{Results: []bump.Result{res("xz", bump.StatusUpdated), res("zlib", bump.StatusCurrent)}}, 10, ""},
		{"dry run, update available", bump.Report{DryRun: true, Results: []bump.Result{res("xz", bump.StatusAvailable)}}, 10, ""},
		{"updates and a failure", bump.Report{Results: []bump.Result{res("xz", bump.StatusUpdated), res("gone", bump.StatusFailed)}}, 1,
			"bump: 1 of 2 recipes failed: gone"},
		{"run error", bump.Report{Errors: []string{"affected: no image mini"}}, 1, "bump: affected: no image mini"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := bumpExit(&tc.rep)
			if tc.code == exitOK {
				assert.NoError(t, err)
				return
			}
			var ec exitCoder
			if assert.ErrorAs(t, err, &ec) {
				assert.Equal(t, tc.code, ec.ExitCode())
			}
			if tc.contains == "" {
				assert.Empty(t, err.Error(), "an update is not an error message")
			} else {
				assert.Contains(t, err.Error(), tc.contains)
			}
		})
	}
}
