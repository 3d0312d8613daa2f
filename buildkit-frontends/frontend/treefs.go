package frontend

import (
	"context"
	"fmt"
	"io/fs"
	"path"
	"testing/fstest"

	gwclient "github.com/moby/buildkit/frontend/gateway/client"
)

// maxTreeFiles bounds how many files are read from the build context, so a
// mistaken context (a home directory) fails clearly instead of hanging.
const maxTreeFiles = 20000

// readTree copies the project files of ref (recipes, locks, images, ...)
// into an in-memory fs.FS. The tree is small text, so reading it whole once
// is simpler and faster than a lazy remote file system.
func readTree(ctx context.Context, ref gwclient.Reference, roots []string) (fs.FS, error) {
	out := fstest.MapFS{}
	var walk func(dir string) error
	walk = func(dir string) error {
		entries, err := ref.ReadDir(ctx, gwclient.ReadDirRequest{Path: dir})
		if err != nil {
			return fmt.Errorf("read %s from build context: %w", dir, err)
		}
		for _, e := range entries {
			p := path.Join(dir, e.Path)
			mode := fs.FileMode(e.Mode)
			switch {
			case mode.IsDir():
				out[p] = &fstest.MapFile{Mode: fs.ModeDir | 0o755}
				if err := walk(p); err != nil {
					return err
				}
			case mode&fs.ModeSymlink != 0:
				out[p] = &fstest.MapFile{Mode: fs.ModeSymlink | 0o777, Data: []byte(e.Linkname)}
			case mode.IsRegular():
				if len(out) > maxTreeFiles {
					return fmt.Errorf("build context has more than %d files under %s: is it the Hadron tree?", maxTreeFiles, dir)
				}
				data, err := ref.ReadFile(ctx, gwclient.ReadRequest{Filename: p})
				if err != nil {
					return fmt.Errorf("read %s from build context: %w", p, err)
				}
				out[p] = &fstest.MapFile{Data: data, Mode: mode.Perm()}
			}
		}
		return nil
	}
	for _, r := range roots {
		if _, err := ref.StatFile(ctx, gwclient.StatRequest{Path: r}); err != nil {
			continue // an absent top-level folder (e.g. no kernel/ yet) is fine
		}
		if err := walk(r); err != nil {
			return nil, err
		}
	}
	return out, nil
}
