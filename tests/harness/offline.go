package harness

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
)

// Offline is the harness outside of tests: the loopback registry holding
// the stage-0 image and the source mirror, for `make build` on a machine
// without internet. Close stops both.
type Offline struct {
	// Stage0 is the digest-pinned stage-0 reference in the registry.
	Stage0 string
	// Mirrors maps upstream URL prefixes to the loopback mirror.
	Mirrors map[string]string

	registry *registryServer
	mirror   *mirrorServer
}

// StartOffline builds (or reuses from the cache) the stage-0 rootfs and the
// mirrored sources and serves them on 127.0.0.1 until Close.
func StartOffline(ctx context.Context) (*Offline, error) {
	state, err := StateDir()
	if err != nil {
		return nil, err
	}
	cache, err := CacheDir()
	if err != nil {
		return nil, err
	}
	o := &Offline{}
	if o.registry, err = newRegistryServer(filepath.Join(state, "registry", "blobs"), 0); err != nil {
		return nil, err
	}
	spec := DefaultStage0()
	rootfs, err := BuildStage0(ctx, spec, cache)
	if err != nil {
		return nil, errors.Join(err, o.Close())
	}
	if o.Stage0, err = PushStage0(ctx, spec, rootfs, o.registry.Host()); err != nil {
		return nil, errors.Join(err, o.Close())
	}
	dir := filepath.Join(cache, "sources")
	if err := FetchSources(ctx, dir, Sources); err != nil {
		return nil, errors.Join(err, o.Close())
	}
	if o.mirror, err = newMirrorServer(dir, Sources); err != nil {
		return nil, errors.Join(err, o.Close())
	}
	o.Mirrors = o.mirror.Mirrors()
	return o, nil
}

// Close stops the registry and the mirror.
func (o *Offline) Close() error {
	var errs []error
	if o.mirror != nil {
		errs = append(errs, o.mirror.Close())
	}
	if o.registry != nil {
		errs = append(errs, o.registry.Close())
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("offline environment: %w", err)
	}
	return nil
}
