package bump

import (
	"fmt"
	"strings"
)

// Outcome classifies a run as a whole; cmd/hadron maps it to the process
// exit code.
type Outcome int

// The outcomes of a run, from best to worst.
const (
	// Nothing: every recipe is up to date (also: nothing selected).
	Nothing Outcome = iota
	// Updated: at least one recipe was updated (or, with DryRun, has an
	// update available) and none failed.
	Updated
	// Failed: at least one recipe failed (whatever else happened).
	Failed
)

// Outcome classifies the report: Failed when anything failed, Updated
// when something was (or, in a dry run, would be) updated, Nothing
// otherwise.
func (r *Report) Outcome() Outcome {
	if len(r.Failed()) > 0 || len(r.Errors) > 0 {
		return Failed
	}
	for _, res := range r.Results {
		if res.Status == StatusUpdated || res.Status == StatusAvailable {
			return Updated
		}
	}
	return Nothing
}

// Problem summarises what failed ("" when nothing did): the failed
// recipes and the run's own errors.
func (r *Report) Problem() string {
	var parts []string
	if failed := r.Failed(); len(failed) > 0 {
		parts = append(parts, fmt.Sprintf("%d of %d recipes failed: %s", len(failed), len(r.Results), strings.Join(failed, ", ")))
	}
	parts = append(parts, r.Errors...)
	return strings.Join(parts, "; ")
}
