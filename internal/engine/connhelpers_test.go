package engine

import (
	"testing"

	"github.com/moby/buildkit/client/connhelper"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestConnectionHelpers checks that the container and pod address schemes
// that buildx builders use are understood.
func TestConnectionHelpers(t *testing.T) {
	for _, addr := range []string{
		"docker-container://buildx_buildkit_fleet0",
		"kube-pod://buildkitd-0?namespace=ci",
		"podman-container://buildkitd",
		"nerdctl-container://buildkitd",
		"ssh://builder@builder.example",
	} {
		h, err := connhelper.GetConnectionHelper(addr)
		require.NoError(t, err, addr)
		assert.NotNil(t, h, "%s: no connection helper registered", addr)
	}
}
