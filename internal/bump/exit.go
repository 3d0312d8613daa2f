package bump

import (
	"fmt"
	"strings"
)

// Exit codes of `hadron bump`.
const (
	// ExitNothing: every recipe is up to date (also: nothing selected).
	ExitNothing = 0
	// ExitErrors: at least one recipe failed (whatever else happened).
	ExitErrors = 1
	// ExitUpdated: at least one recipe was updated (or, with --dry-run, has
	// an update available) and none failed.
	ExitUpdated = 10
)

// ExitError carries a bump outcome to the CLI's exit code. Its message is
// empty for ExitUpdated (an update is not an error; the report says it).
type ExitError struct {
	Code    int    // ExitUpdated, ExitErrors, ...
	Message string // what failed; empty for ExitUpdated
}

// Error returns the message.
func (e *ExitError) Error() string { return e.Message }

// ExitCode returns the process exit code.
func (e *ExitError) ExitCode() int { return e.Code }

// Err returns nil when there was nothing to do, or an *ExitError with the
// code for updates or failures.
func (r *Report) Err() error {
	switch code := r.ExitCode(); code {
	case ExitNothing:
		return nil
	case ExitUpdated:
		return &ExitError{Code: code}
	default:
		var parts []string
		if failed := r.Failed(); len(failed) > 0 {
			parts = append(parts, fmt.Sprintf("%d of %d recipes failed: %s", len(failed), len(r.Results), strings.Join(failed, ", ")))
		}
		parts = append(parts, r.Errors...)
		return &ExitError{Code: code, Message: "bump: " + strings.Join(parts, "; ")}
	}
}

// ExitCode classifies the report: ExitErrors when anything failed,
// ExitUpdated when something was (or, in a dry run, would be) updated,
// ExitNothing otherwise.
func (r *Report) ExitCode() int {
	if len(r.Failed()) > 0 || len(r.Errors) > 0 {
		return ExitErrors
	}
	for _, res := range r.Results {
		if res.Status == StatusUpdated || res.Status == StatusAvailable {
			return ExitUpdated
		}
	}
	return ExitNothing
}
