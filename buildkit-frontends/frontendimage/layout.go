package frontendimage

import (
	"archive/tar"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
)

// WriteOCITar writes img as an OCI image layout in a tar archive (what
// `buildctl --output type=oci` writes and `docker load`, `skopeo copy
// oci-archive:` and `ctr images import` read), its index naming it ref
// (org.opencontainers.image.ref.name). Entries are sorted and stamped with
// epoch, so the same image gives the same bytes.
func WriteOCITar(w io.Writer, img v1.Image, ref string, epoch int64) error {
	dir, err := os.MkdirTemp("", "hadron-frontend-image-")
	if err != nil {
		return fmt.Errorf("oci layout: %w", err)
	}
	defer os.RemoveAll(dir)
	p, err := layout.Write(dir, empty.Index)
	if err != nil {
		return fmt.Errorf("oci layout: %w", err)
	}
	if err := p.AppendImage(img, layout.WithAnnotations(map[string]string{"org.opencontainers.image.ref.name": ref})); err != nil {
		return fmt.Errorf("oci layout: %w", err)
	}
	var files []string
	if err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || p == dir {
			return err
		}
		files = append(files, p)
		return nil
	}); err != nil {
		return fmt.Errorf("oci layout: %w", err)
	}
	sort.Strings(files)
	mtime := time.Unix(epoch, 0).UTC()
	tw := tar.NewWriter(w)
	for _, p := range files {
		if err := addFile(tw, dir, p, mtime); err != nil {
			return fmt.Errorf("oci layout: %w", err)
		}
	}
	return tw.Close()
}

func addFile(tw *tar.Writer, dir, p string, mtime time.Time) error {
	st, err := os.Stat(p)
	if err != nil {
		return err
	}
	rel, err := filepath.Rel(dir, p)
	if err != nil {
		return err
	}
	h := &tar.Header{Name: filepath.ToSlash(rel), ModTime: mtime, Mode: 0o644, Typeflag: tar.TypeReg, Size: st.Size()}
	if st.IsDir() {
		h.Name, h.Mode, h.Typeflag, h.Size = h.Name+"/", 0o755, tar.TypeDir, 0
		return tw.WriteHeader(h)
	}
	if err := tw.WriteHeader(h); err != nil {
		return err
	}
	f, err := os.Open(p)
	if err != nil {
		return err
	}
	defer f.Close()
	_, err = io.Copy(tw, f)
	return err
}
