package engine

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// LostError is a build that lost its BuildKit engine halfway: the daemon
// stopped (killed, crashed, out of memory) or the connection broke. Its
// message says what happened, where the managed engine's log is and that
// running the command again resumes from the cache.
type LostError struct {
	// Addr is the engine's address.
	Addr string
	// Managed is set for the local engine hadron manages.
	Managed bool
	// Stopped tells that the managed daemon no longer runs.
	Stopped bool
	// PID is the managed daemon's process id when it still runs.
	PID int
	// LogFile is the managed daemon's log.
	LogFile string
	// Err is what the BuildKit client reported.
	Err error
}

func (e *LostError) Error() string {
	var b strings.Builder
	switch {
	case e.Managed && e.Stopped:
		fmt.Fprintf(&b, "the local BuildKit engine stopped during the build (its log: %s). "+
			"Run the command again: hadron restarts the engine, and the steps that finished come from its cache", e.LogFile)
	case e.Managed:
		fmt.Fprintf(&b, "lost the connection to the local BuildKit engine (pid %d, log: %s) during the build. "+
			"Run the command again: the steps that finished come from its cache", e.PID, e.LogFile)
	default:
		fmt.Fprintf(&b, "lost the connection to BuildKit at %s during the build: the engine stopped or the network failed. "+
			"Run the command again once it answers: the steps that finished come from its cache if it kept its state", e.Addr)
	}
	fmt.Fprintf(&b, " (BuildKit client: %v)", e.Err)
	return b.String()
}

// Unwrap returns the client's error.
func (e *LostError) Unwrap() error { return e.Err }

// ExplainLost returns err unchanged unless it says the connection to the
// engine broke (gRPC Unavailable: "error reading from server: EOF"); then
// it returns a *LostError for the engine that addr and cfg select, the
// same way ConnectConfig selects it (addr, else BUILDKIT_HOST, else the
// managed engine), after checking whether the managed daemon still runs.
func ExplainLost(err error, addr string, cfg Config) error {
	if err == nil || !IsConnectionLoss(err) {
		return err
	}
	if addr == "" {
		addr = os.Getenv("BUILDKIT_HOST")
	}
	if addr != "" {
		return &LostError{Addr: addr, Err: err}
	}
	e, nerr := New(cfg)
	if nerr != nil {
		return &LostError{Managed: true, Stopped: true, Err: err}
	}
	lost := &LostError{Addr: e.Addr(), Managed: true, LogFile: e.Paths().LogFile, Err: err}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	st, serr := e.Status(ctx)
	lost.Stopped = serr != nil || !st.Running
	lost.PID = st.PID
	return lost
}

// IsConnectionLoss reports whether err is the BuildKit client's report of
// a broken connection to its daemon.
func IsConnectionLoss(err error) bool {
	for e := err; e != nil; e = errors.Unwrap(e) {
		if s, ok := status.FromError(e); ok && s.Code() == codes.Unavailable {
			return true
		}
	}
	msg := err.Error()
	return strings.Contains(msg, "code = Unavailable") || strings.Contains(msg, "error reading from server: EOF")
}
