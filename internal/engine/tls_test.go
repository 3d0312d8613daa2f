package engine

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestTLSClientOpts(t *testing.T) {
	dir := t.TempDir()
	ca := filepath.Join(dir, "ca.pem")
	require.NoError(t, os.WriteFile(ca, []byte("pem"), 0o644))
	tests := []struct {
		name    string
		tls     TLS
		opts    int
		wantErr string
	}{
		{"none", TLS{}, 0, ""},
		{"CA only", TLS{CACert: ca}, 1, ""},
		{"server name only: system roots", TLS{ServerName: "builder.example"}, 1, ""},
		{"mutual", TLS{CACert: ca, Cert: ca, Key: ca}, 2, ""},
		{"cert without key", TLS{CACert: ca, Cert: ca}, 0, "a client certificate and its key go together"},
		{"missing CA", TLS{CACert: filepath.Join(dir, "nope.pem")}, 0, "--tls-ca-cert"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			opts, err := tc.tls.clientOpts("tcp://builder.example:1234")
			if tc.wantErr != "" {
				assert.ErrorContains(t, err, tc.wantErr)
				assert.ErrorContains(t, err, "tcp://builder.example:1234")
				return
			}
			require.NoError(t, err)
			assert.Len(t, opts, tc.opts)
		})
	}
}
