package main

import "github.com/hadron-linux/hadron/internal/bump"

// Process exit codes of hadron. Every failure exits exitFailed unless a
// command documents more (docs/bump.md for `hadron bump`).
const (
	// exitOK: success; for bump, every recipe is up to date.
	exitOK = 0
	// exitFailed: the command failed; for bump, at least one recipe failed.
	exitFailed = 1
	// exitNotReproducible: `hadron repro-check` (or `repro-diff`) found
	// that two builds differ; the report says where.
	exitNotReproducible = 3
	// exitBumpUpdated: `hadron bump` updated at least one recipe (or, with
	// --dry-run, found an update) and none failed.
	exitBumpUpdated = 10
)

// exitCoder is implemented by errors that want a specific process exit
// code.
type exitCoder interface {
	ExitCode() int
}

// exitError carries an exit code to main. Its message may be empty (an
// update found by bump is not an error; the report says it).
type exitError struct {
	code    int
	message string
}

// Error returns the message.
func (e *exitError) Error() string { return e.message }

// ExitCode returns the process exit code.
func (e *exitError) ExitCode() int { return e.code }

// bumpExit maps a bump report to the command's result: nil when nothing
// changed, exitBumpUpdated for updates, exitFailed with what failed.
func bumpExit(rep *bump.Report) error {
	switch rep.Outcome() {
	case bump.Nothing:
		return nil
	case bump.Updated:
		return &exitError{code: exitBumpUpdated}
	default:
		return &exitError{code: exitFailed, message: "bump: " + rep.Problem()}
	}
}
