package engine

import (
	"context"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/containerd/platforms"
	"github.com/moby/buildkit/client"
)

// DialTimeout bounds how long Connect waits for an engine to answer before
// it reports the address as unreachable.
const DialTimeout = 10 * time.Second

// Connect returns a BuildKit client for addr. An empty addr means
// $BUILDKIT_HOST, and when that is empty too, the local engine with the
// default Config, started if needed. The engine must answer within
// DialTimeout; otherwise the error says which address could not be reached.
func Connect(ctx context.Context, addr string) (*client.Client, error) {
	return ConnectConfig(ctx, addr, Config{})
}

// ConnectConfig is Connect with the local engine described by cfg.
func ConnectConfig(ctx context.Context, addr string, cfg Config) (*client.Client, error) {
	if addr == "" {
		addr = os.Getenv("BUILDKIT_HOST")
	}
	if addr == "" {
		e, err := New(cfg)
		if err != nil {
			return nil, err
		}
		if err := e.Start(ctx); err != nil {
			return nil, fmt.Errorf("starting the local engine: %w", err)
		}
		return dial(ctx, e.Addr(), DialTimeout)
	}
	opts, err := cfg.RemoteTLS.clientOpts(addr)
	if err != nil {
		return nil, err
	}
	return dial(ctx, addr, DialTimeout, opts...)
}

// dial connects to addr and checks that a BuildKit daemon answers there
// within timeout.
func dial(ctx context.Context, addr string, timeout time.Duration, opts ...client.ClientOpt) (*client.Client, error) {
	if !strings.Contains(addr, "://") {
		return nil, fmt.Errorf("BuildKit address %q has no scheme: use unix://PATH, tcp://HOST:PORT or docker-container://NAME", addr)
	}
	c, err := client.New(ctx, addr, opts...)
	if err != nil {
		return nil, fmt.Errorf("cannot reach BuildKit at %s: %w", addr, err)
	}
	pctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	if _, err := c.ListWorkers(pctx); err != nil {
		c.Close()
		if pctx.Err() != nil && ctx.Err() == nil {
			return nil, fmt.Errorf("cannot reach BuildKit at %s: no answer within %s: %w", addr, timeout, err)
		}
		return nil, fmt.Errorf("cannot reach BuildKit at %s: %w", addr, err)
	}
	return c, nil
}

// ping reports whether a BuildKit daemon answers at addr within timeout.
func ping(ctx context.Context, addr string, timeout time.Duration) error {
	c, err := dial(ctx, addr, timeout)
	if err != nil {
		return err
	}
	return c.Close()
}

// daemonInfo is what describe learns from a daemon.
type daemonInfo struct {
	Version string
	Workers []Worker
}

// describe asks the daemon at addr for its version and workers.
func describe(ctx context.Context, addr string, timeout time.Duration) (daemonInfo, error) {
	var di daemonInfo
	c, err := dial(ctx, addr, timeout)
	if err != nil {
		return di, err
	}
	defer c.Close()
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	info, err := c.Info(ctx)
	if err != nil {
		return di, fmt.Errorf("asking BuildKit at %s for its version: %w", addr, err)
	}
	di.Version = info.BuildkitVersion.Version
	ws, err := c.ListWorkers(ctx)
	if err != nil {
		return di, fmt.Errorf("listing BuildKit workers at %s: %w", addr, err)
	}
	for _, w := range ws {
		ps := make([]string, 0, len(w.Platforms))
		for _, p := range w.Platforms {
			ps = append(ps, platforms.Format(p))
		}
		di.Workers = append(di.Workers, Worker{ID: w.ID, Platforms: ps, Labels: w.Labels})
	}
	return di, nil
}
