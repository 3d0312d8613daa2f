package frontend

import (
	"encoding/json"
	"testing"

	controlapi "github.com/moby/buildkit/api/services/control"
	gwclient "github.com/moby/buildkit/frontend/gateway/client"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestCacheImports: the caches a client asks to import reach the frontend
// as BuildKit's client writes them (JSON of control API entries, or the
// older comma-separated cache-from), and come back as solve-request
// entries in the order given.
func TestCacheImports(t *testing.T) {
	asClientWrites, err := json.Marshal([]*controlapi.CacheOptionsEntry{
		{Type: "registry", Attrs: map[string]string{"ref": "127.0.0.1:5000/hadron/cache:mini"}},
		{Type: "local", Attrs: map[string]string{"src": "/cache", "digest": "sha256:abc"}},
	})
	require.NoError(t, err)

	for _, tc := range []struct {
		name    string
		opts    map[string]string
		want    []gwclient.CacheOptionsEntry
		wantErr string
	}{
		{name: "none", opts: map[string]string{"target": "mini"}},
		{name: "cache-imports", opts: map[string]string{optCacheImports: string(asClientWrites)}, want: []gwclient.CacheOptionsEntry{
			{Type: "registry", Attrs: map[string]string{"ref": "127.0.0.1:5000/hadron/cache:mini"}},
			{Type: "local", Attrs: map[string]string{"src": "/cache", "digest": "sha256:abc"}},
		}},
		{name: "older cache-from", opts: map[string]string{optCacheFrom: "reg.example/a:1, reg.example/b:2"}, want: []gwclient.CacheOptionsEntry{
			{Type: "registry", Attrs: map[string]string{"ref": "reg.example/a:1"}},
			{Type: "registry", Attrs: map[string]string{"ref": "reg.example/b:2"}},
		}},
		{name: "bad JSON", opts: map[string]string{optCacheImports: "[{"}, wantErr: "frontend option cache-imports"},
		{name: "no type", opts: map[string]string{optCacheImports: `[{"Attrs":{"ref":"x"}}]`}, wantErr: "an entry without a type"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := CacheImports(tc.opts)
			if tc.wantErr != "" {
				require.ErrorContains(t, err, tc.wantErr)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.want, got)
		})
	}
}
