package repro

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/hadron-linux/hadron/internal/ocilayout"
)

// Options tune a comparison.
type Options struct {
	// Diffoscope is the diffoscope executable to run on each pair of
	// differing layers or files (see FindDiffoscope); empty runs none.
	Diffoscope string
	// WorkDir receives the uncompressed layer tars diffoscope compares;
	// empty means a temporary directory, removed afterwards.
	WorkDir string
	// Explain, when set, adds detail lines to a differing regular file of
	// two trees, given its path in the tree and on both sides.
	Explain func(rel, a, b string) []string
}

// maxConfigFields caps how many differing config fields an item lists.
const maxConfigFields = 20

// CompareLayouts compares two OCI image layouts: index.json, then for
// each image (matched by platform) its manifest, config and every layer
// in order. A differing config lists the fields that differ; a differing
// layer lists the files that differ, with diffoscope's report when
// opts.Diffoscope is set.
func CompareLayouts(ctx context.Context, a, b *ocilayout.Layout, opts Options) (*Report, error) {
	r := &Report{}
	r.add(Item{Kind: KindIndex, Name: ocilayout.IndexFile, A: a.IndexDigest.String(), B: b.IndexDigest.String()})
	ia, err := a.Images(ctx)
	if err != nil {
		return nil, err
	}
	ib, err := b.Images(ctx)
	if err != nil {
		return nil, err
	}
	work, cleanup, err := opts.workDir()
	if err != nil {
		return nil, err
	}
	defer cleanup()
	byPlatform := map[string]*ocilayout.Image{}
	for i := range ib {
		byPlatform[ib[i].Platform] = &ib[i]
	}
	seen := map[string]bool{}
	for i := range ia {
		ima := &ia[i]
		seen[ima.Platform] = true
		imb, ok := byPlatform[ima.Platform]
		if !ok {
			r.add(Item{Kind: KindManifest, Name: platformName(ima.Platform), A: ima.Manifest.Digest.String()})
			continue
		}
		if err := compareImages(ctx, r, a, b, ima, imb, opts, work); err != nil {
			return nil, err
		}
	}
	for i := range ib {
		if !seen[ib[i].Platform] {
			r.add(Item{Kind: KindManifest, Name: platformName(ib[i].Platform), B: ib[i].Manifest.Digest.String()})
		}
	}
	return r, nil
}

// compareImages adds the manifest, config and layers of two images of the
// same platform to r.
func compareImages(ctx context.Context, r *Report, la, lb *ocilayout.Layout, a, b *ocilayout.Image, opts Options, work string) error {
	p := platformName(a.Platform)
	r.add(Item{Kind: KindManifest, Name: p, A: a.Manifest.Digest.String(), B: b.Manifest.Digest.String()})
	cfg := Item{Kind: KindConfig, Name: p, A: a.Config.Digest.String(), B: b.Config.Digest.String()}
	if cfg.A != cfg.B {
		cfg.Details = jsonDiff(a.ConfigJSON, b.ConfigJSON, maxConfigFields)
	}
	r.add(cfg)
	n := max(len(a.Layers), len(b.Layers))
	for i := 0; i < n; i++ {
		var ya, yb *ocilayout.Layer
		if i < len(a.Layers) {
			ya = &a.Layers[i]
		}
		if i < len(b.Layers) {
			yb = &b.Layers[i]
		}
		it := Item{Kind: KindLayer, Name: fmt.Sprintf("%s %d/%d%s", p, i+1, n, layerName(ya, yb))}
		if ya != nil {
			it.A = ya.Descriptor.Digest.String()
		}
		if yb != nil {
			it.B = yb.Descriptor.Digest.String()
		}
		if it.A != it.B && ya != nil && yb != nil {
			if err := diffLayers(ctx, &it, la, lb, ya, yb, opts, filepath.Join(work, fmt.Sprintf("layer-%d", i+1))); err != nil {
				return fmt.Errorf("%s: %w", it.Name, err)
			}
		}
		r.add(it)
	}
	return nil
}

// diffLayers lists the files that differ between two layers into it, and
// runs diffoscope on their uncompressed tars when opts say so.
func diffLayers(ctx context.Context, it *Item, la, lb *ocilayout.Layout, a, b *ocilayout.Layer, opts Options, dir string) error {
	if a.DiffID != b.DiffID {
		it.Details = append(it.Details, fmt.Sprintf("uncompressed: %s / %s", a.DiffID, b.DiffID))
	}
	var tars [2]string
	var files [2][]File
	for i, side := range []struct {
		l  *ocilayout.Layout
		ly *ocilayout.Layer
	}{{la, a}, {lb, b}} {
		rc, err := side.l.OpenLayer(ctx, side.ly.Descriptor)
		if err != nil {
			return err
		}
		var src io.Reader = rc
		var out *os.File
		if opts.Diffoscope != "" {
			if err := os.MkdirAll(dir, 0o755); err != nil {
				rc.Close()
				return err
			}
			tars[i] = filepath.Join(dir, string("ab"[i])+".tar")
			if out, err = os.Create(tars[i]); err != nil {
				rc.Close()
				return err
			}
			src = io.TeeReader(rc, out)
		}
		files[i], err = ListTar(src)
		if err == nil {
			_, err = io.Copy(io.Discard, src) // the tar's padding, for diffoscope's copy
		}
		rc.Close()
		if out != nil {
			if cerr := out.Close(); err == nil {
				err = cerr
			}
		}
		if err != nil {
			return fmt.Errorf("layer %s: %w", side.ly.Descriptor.Digest, err)
		}
	}
	it.Files = DiffFiles(files[0], files[1])
	if len(it.Files) == 0 {
		it.Details = append(it.Details, "same files, same metadata: the tar streams differ (entry order, headers) or only the compression does")
	}
	if a.CreatedBy == "" {
		it.Details = append(it.Details, "holds: "+summarize(files[0]))
	}
	if opts.Diffoscope != "" {
		out, err := Diffoscope(ctx, opts.Diffoscope, tars[0], tars[1])
		if err != nil {
			return err
		}
		it.Diffoscope = out
	}
	return nil
}

// CompareTrees compares two exported file trees file by file: content
// (size, sha256), type, link, mode, owner and modification time. Each
// path is one item; a differing regular file gets opts.Explain's lines
// and diffoscope's report.
func CompareTrees(ctx context.Context, a, b string, opts Options) (*Report, error) {
	fa, err := ListDir(a)
	if err != nil {
		return nil, err
	}
	fb, err := ListDir(b)
	if err != nil {
		return nil, err
	}
	diffs := map[string]FileDiff{}
	for _, d := range DiffFiles(fa, fb) {
		diffs[d.Path] = d
	}
	paths := map[string]*File{}
	for i := range fa {
		paths[fa[i].Path] = &fa[i]
	}
	for i := range fb {
		if _, ok := paths[fb[i].Path]; !ok {
			paths[fb[i].Path] = &fb[i]
		}
	}
	r := &Report{}
	for _, p := range sortedKeys(paths) {
		d, differs := diffs[p]
		if !differs {
			f := paths[p]
			r.add(Item{Kind: KindFile, Name: p, A: fileID(f), B: fileID(f)})
			continue
		}
		it := Item{Kind: KindFile, Name: p, A: fileID(d.A), B: fileID(d.B), Files: []FileDiff{d}}
		if d.A != nil && d.B != nil && d.A.Type == TypeFile && d.B.Type == TypeFile && d.A.Digest != d.B.Digest {
			pa, pb := filepath.Join(a, filepath.FromSlash(p)), filepath.Join(b, filepath.FromSlash(p))
			if opts.Explain != nil {
				it.Details = append(it.Details, opts.Explain(p, pa, pb)...)
			}
			if opts.Diffoscope != "" {
				if it.Diffoscope, err = Diffoscope(ctx, opts.Diffoscope, pa, pb); err != nil {
					return nil, err
				}
			}
		}
		r.add(it)
	}
	return r, nil
}

// CompareFiles compares two single files (disk images, a signed UKI): one
// item, with opts.Explain's lines and diffoscope's report when they differ.
func CompareFiles(ctx context.Context, a, b string, opts Options) (*Report, error) {
	da, na, err := hashFile(a, nil)
	if err != nil {
		return nil, fmt.Errorf("compare %s: %w", a, err)
	}
	db, nb, err := hashFile(b, nil)
	if err != nil {
		return nil, fmt.Errorf("compare %s: %w", b, err)
	}
	it := Item{Kind: KindFile, Name: filepath.Base(a), A: da.String(), B: db.String()}
	if da != db {
		it.Details = append(it.Details, fmt.Sprintf("sizes: %d / %d bytes", na, nb))
		if opts.Explain != nil {
			it.Details = append(it.Details, opts.Explain(filepath.Base(a), a, b)...)
		}
		if opts.Diffoscope != "" {
			if it.Diffoscope, err = Diffoscope(ctx, opts.Diffoscope, a, b); err != nil {
				return nil, err
			}
		}
	}
	r := &Report{}
	r.add(it)
	return r, nil
}

// add appends it, equal when both sides have the same digest and no file
// in it differs (a file whose mode or time differs keeps its digest).
func (r *Report) add(it Item) {
	it.Equal = it.A != "" && it.A == it.B && len(it.Files) == 0
	r.Items = append(r.Items, it)
}

// workDir returns opts.WorkDir, or a temporary directory and its removal.
func (o Options) workDir() (string, func(), error) {
	if o.WorkDir != "" {
		return o.WorkDir, func() {}, nil
	}
	if o.Diffoscope == "" {
		return "", func() {}, nil
	}
	d, err := os.MkdirTemp("", "hadron-repro-")
	if err != nil {
		return "", nil, fmt.Errorf("work directory for diffoscope: %w", err)
	}
	return d, func() { os.RemoveAll(d) }, nil
}

// platformName is how a report names an image's platform.
func platformName(p string) string {
	if p == "" {
		return "image"
	}
	return p
}

// layerName is " (what made the layer)" from its history, when known.
func layerName(a, b *ocilayout.Layer) string {
	for _, l := range []*ocilayout.Layer{a, b} {
		if l != nil && l.CreatedBy != "" {
			s := l.CreatedBy
			if len(s) > 80 {
				s = s[:77] + "..."
			}
			return " (" + s + ")"
		}
	}
	return ""
}

// fileID is what identifies a tree entry on one side of an item: a
// regular file's digest, else its type (and link).
func fileID(f *File) string {
	switch {
	case f == nil:
		return ""
	case f.Type == TypeFile:
		return f.Digest.String()
	case f.Link != "":
		return f.Type + " -> " + f.Link
	}
	return f.Type
}

// summarize names a layer by what it holds: its file count and first
// few regular files.
func summarize(files []File) string {
	var names []string
	n := 0
	for _, f := range files {
		if f.Type != TypeFile {
			continue
		}
		n++
		if len(names) < 3 {
			names = append(names, f.Path)
		}
	}
	if n > len(names) {
		names = append(names, "...")
	}
	return fmt.Sprintf("%d files: %s", n, strings.Join(names, ", "))
}

// jsonDiff lists the fields that differ between two JSON documents as
// "path: a / b" lines, at most limit of them (and a count of the rest).
func jsonDiff(a, b []byte, limit int) []string {
	fa, fb := map[string]string{}, map[string]string{}
	var va, vb any
	if json.Unmarshal(a, &va) != nil || json.Unmarshal(b, &vb) != nil {
		return []string{"a config is not valid JSON"}
	}
	flatten("", va, fa)
	flatten("", vb, fb)
	keys := map[string]bool{}
	for k := range fa {
		keys[k] = true
	}
	for k := range fb {
		keys[k] = true
	}
	var out []string
	for _, k := range sortedKeys(keys) {
		x, okx := fa[k]
		y, oky := fb[k]
		if okx && oky && x == y {
			continue
		}
		if !okx {
			x = "(absent)"
		}
		if !oky {
			y = "(absent)"
		}
		out = append(out, fmt.Sprintf("%s: %s / %s", k, x, y))
	}
	if len(out) > limit {
		out = append(out[:limit], fmt.Sprintf("... and %d more fields", len(out)-limit))
	}
	return out
}

// flatten writes every leaf of v into out as path → JSON value, paths as
// "history[1].created".
func flatten(prefix string, v any, out map[string]string) {
	switch t := v.(type) {
	case map[string]any:
		for k, x := range t {
			p := k
			if prefix != "" {
				p = prefix + "." + k
			}
			flatten(p, x, out)
		}
	case []any:
		for i, x := range t {
			flatten(prefix+"["+strconv.Itoa(i)+"]", x, out)
		}
	default:
		var buf bytes.Buffer
		enc := json.NewEncoder(&buf)
		enc.SetEscapeHTML(false)
		_ = enc.Encode(t)
		out[prefix] = strings.TrimSpace(buf.String())
	}
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
