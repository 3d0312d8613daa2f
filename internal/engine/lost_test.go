package engine

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	pkgerrors "github.com/pkg/errors"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

func TestExplainLost(t *testing.T) {
	t.Setenv("BUILDKIT_HOST", "")
	// What the BuildKit client returns when its daemon dies mid-build.
	eof := pkgerrors.Wrap(status.Error(codes.Unavailable, "error reading from server: EOF"), "failed to receive status")
	root := t.TempDir()
	cfg := Config{Root: root, Binary: "/nonexistent/buildkitd"}

	t.Run("managed engine stopped", func(t *testing.T) {
		err := ExplainLost(fmt.Errorf("solve: %w", eof), "", cfg)
		var lost *LostError
		require.ErrorAs(t, err, &lost)
		assert.True(t, lost.Stopped)
		msg := err.Error()
		assert.Contains(t, msg, "the local BuildKit engine stopped during the build")
		assert.Contains(t, msg, filepath.Join(root, "buildkitd.log"))
		assert.Contains(t, msg, "Run the command again")
		assert.Contains(t, msg, "come from its cache")
		assert.Contains(t, msg, "error reading from server: EOF", "the client's words are kept")
		assert.ErrorIs(t, err, eof)
	})
	t.Run("remote engine", func(t *testing.T) {
		err := ExplainLost(eof, "tcp://builder.example:1234", cfg)
		assert.ErrorContains(t, err, "lost the connection to BuildKit at tcp://builder.example:1234")
	})
	t.Run("BUILDKIT_HOST", func(t *testing.T) {
		t.Setenv("BUILDKIT_HOST", "unix:///run/buildkit/buildkitd.sock")
		err := ExplainLost(eof, "", cfg)
		assert.ErrorContains(t, err, "lost the connection to BuildKit at unix:///run/buildkit/buildkitd.sock")
	})
	t.Run("message only", func(t *testing.T) {
		err := ExplainLost(errors.New("failed to receive status: rpc error: code = Unavailable desc = error reading from server: EOF"), "", cfg)
		assert.ErrorContains(t, err, "stopped during the build")
	})
	t.Run("other errors pass through", func(t *testing.T) {
		other := errors.New("process \"/bin/sh -c make\" did not complete successfully: exit code: 2")
		assert.Same(t, other, ExplainLost(other, "", cfg))
		assert.NoError(t, ExplainLost(nil, "", cfg))
	})
	_, err := os.Stat(filepath.Join(root, "buildkitd.pid"))
	assert.True(t, os.IsNotExist(err), "explaining starts nothing")
}
