package harness

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/registry"
)

// StartRegistry returns host:port of an OCI registry on 127.0.0.1 that
// lives as long as the test binary (until Shutdown). Blobs are kept on disk
// under the state directory, so large images do not sit in memory and
// pushes of unchanged blobs are skipped on reruns; manifests and tags live
// in memory and start empty in every test binary.
//
// The port is $HADRON_E2E_REGISTRY_PORT when set, else a free one. BuildKit
// talks plain HTTP to loopback registries on any port, so the engine needs
// no per-port configuration.
func StartRegistry(t testing.TB) string {
	t.Helper()
	Require(t)
	shared.mu.Lock()
	defer shared.mu.Unlock()
	r, err := sharedRegistry()
	if err != nil {
		t.Fatalf("harness: registry: %v", err)
	}
	return r.Host()
}

// sharedRegistry starts the binary's registry on first use; the caller
// holds shared.mu.
func sharedRegistry() (*registryServer, error) {
	if shared.registry != nil {
		return shared.registry, nil
	}
	state, err := StateDir()
	if err != nil {
		return nil, err
	}
	port := 0
	if p := os.Getenv(EnvRegistryPort); p != "" {
		if port, err = strconv.Atoi(p); err != nil || port <= 0 || port > 65535 {
			return nil, fmt.Errorf("%s=%q is not a port number", EnvRegistryPort, p)
		}
	}
	r, err := newRegistryServer(filepath.Join(state, "registry", "blobs"), port)
	if err != nil {
		return nil, err
	}
	shared.registry = r
	return r, nil
}

// registryServer is an OCI registry served over plain HTTP on loopback.
type registryServer struct {
	ln  net.Listener
	srv *http.Server
}

// newRegistryServer serves a registry whose blobs live in blobDir on
// 127.0.0.1:port (0: any free port).
func newRegistryServer(blobDir string, port int) (*registryServer, error) {
	if err := os.MkdirAll(blobDir, 0o755); err != nil {
		return nil, fmt.Errorf("creating registry blob dir: %w", err)
	}
	ln, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
	if err != nil {
		return nil, fmt.Errorf("listening for the registry: %w", err)
	}
	h := registry.New(
		registry.WithBlobHandler(registry.NewDiskBlobHandler(blobDir)),
		registry.Logger(log.New(io.Discard, "", 0)),
	)
	r := &registryServer{ln: ln, srv: &http.Server{Handler: h, ReadHeaderTimeout: 30 * time.Second}}
	go func() {
		if err := r.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			fmt.Fprintln(os.Stderr, "harness: registry stopped:", err)
		}
	}()
	return r, nil
}

// Host is the registry's host:port.
func (r *registryServer) Host() string { return r.ln.Addr().String() }

// Close stops the server.
func (r *registryServer) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := r.srv.Shutdown(ctx); err != nil {
		return fmt.Errorf("stopping registry: %w", err)
	}
	return nil
}
