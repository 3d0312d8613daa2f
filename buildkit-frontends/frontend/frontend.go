// Package frontend is Hadron's BuildKit gateway frontend: it reads the
// project tree from the build context, converts the requested image or
// recipe to LLB with buildkit-frontends/convert and solves it, once per
// platform. cmd/hadron-frontend serves it as a gateway image; the hadron CLI
// runs the same Build function in-process.
package frontend

import (
	"context"
	"encoding/json"
	"fmt"
	"io/fs"
	"path"
	"strings"
	"time"

	"github.com/hadron-linux/hadron/buildkit-frontends/convert"
	"github.com/hadron-linux/hadron/buildkit-frontends/target"
	"github.com/hadron-linux/hadron/internal/imagedef"
	"github.com/hadron-linux/hadron/internal/project"
	"github.com/moby/buildkit/client/llb"
	gwclient "github.com/moby/buildkit/frontend/gateway/client"
	dockerspec "github.com/moby/docker-image-spec/specs-go/v1"
	ocispecs "github.com/opencontainers/image-spec/specs-go/v1"
)

// TreeRoots are the top-level folders of the project tree the frontend
// reads from the build context. Nothing else is transferred.
var TreeRoots = []string{"recipes", "toolchain", "kernel", "vendor-hashes", "images"}

// Build is the gateway entry point: gwclient.BuildFunc. It reads the
// project tree from the build context, plans the target (see NewPlan) and
// solves the plan.
func Build(ctx context.Context, c gwclient.Client) (*gwclient.Result, error) {
	opts, err := ParseOptions(c.BuildOpts().Opts)
	if err != nil {
		return nil, err
	}
	tree, err := loadTree(ctx, c, opts)
	if err != nil {
		return nil, err
	}
	if opts.Target == "" {
		img, err := imageFromDefinition(ctx, c, opts)
		if err != nil {
			return nil, err
		}
		opts.Target = img.Name
	}
	t, err := target.Lookup(tree, opts.Target)
	if err != nil {
		return nil, err
	}
	self, err := currentFrontend(c)
	if err != nil {
		return nil, err
	}
	plan, err := newPlan(tree, opts, self, t)
	if err != nil {
		return nil, err
	}
	if self != nil && plan.RunsTools() {
		if err := checkToolsImage(ctx, c, *self, t.String()); err != nil {
			return nil, err
		}
	}
	return plan.Solve(ctx, c)
}

// currentFrontend returns the frontend's own image when it runs from one
// (gateway.v0 or a # syntax= line): BuildKit mounts the image's LLB
// definition, pinned by digest, into the frontend's container, and the
// gateway client reads it back (grpcclient's CurrentFrontend, the method
// BuildKit's own Dockerfile frontend uses). That image carries the hadron
// binary ELF gates and boot steps run. Run in-process (the CLI) there is none: nil, and
// the client sends the binary as the tools local.
func currentFrontend(c gwclient.Client) (*llb.State, error) {
	cf, ok := c.(interface{ CurrentFrontend() (*llb.State, error) })
	if !ok {
		return nil, nil
	}
	st, err := cf.CurrentFrontend()
	if err != nil {
		return nil, fmt.Errorf("read the frontend image's definition: %w", err)
	}
	return st, nil
}

// checkToolsImage fails with a clear message when the frontend image does
// not carry the hadron binary its ELF gates and boot steps run (an image
// built before it did, or by hand).
func checkToolsImage(ctx context.Context, c gwclient.Client, self llb.State, target string) error {
	ref, err := solveRef(ctx, c, self, "read the frontend image")
	if err != nil {
		return err
	}
	tool := path.Join(convert.ToolsDir, convert.ToolBinary)
	if _, err := ref.StatFile(ctx, gwclient.StatRequest{Path: tool}); err != nil {
		return fmt.Errorf("target %s runs hadron inside BuildKit, but the frontend image (%s) has no %s: "+
			"use a frontend image built by `make frontend-image` or buildkit-frontends/Dockerfile: %w", target, c.BuildOpts().Opts["source"], tool, err)
	}
	return nil
}

// solveRef solves st and returns its result. A failed solve is reported
// as what went wrong: "what: err".
func solveRef(ctx context.Context, c gwclient.Client, st llb.State, what string) (gwclient.Reference, error) {
	def, err := st.Marshal(ctx)
	if err != nil {
		return nil, err
	}
	r, err := c.Solve(ctx, gwclient.SolveRequest{Definition: def.ToPB()})
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	return r.SingleRef()
}

// loadTree reads the project tree from the context local and validates it.
func loadTree(ctx context.Context, c gwclient.Client, opts Options) (*project.Tree, error) {
	incl := make([]string, 0, len(TreeRoots))
	for _, r := range TreeRoots {
		incl = append(incl, r+"/**")
	}
	src := llb.Local(opts.ContextName,
		llb.IncludePatterns(incl),
		llb.SessionID(c.BuildOpts().SessionID),
		llb.SharedKeyHint(opts.ContextName+":tree"),
		llb.WithCustomName("load project tree"),
	)
	ref, err := solveRef(ctx, c, src, fmt.Sprintf("read build context %q", opts.ContextName))
	if err != nil {
		return nil, err
	}
	fsys, err := readTree(ctx, ref, TreeRoots)
	if err != nil {
		return nil, err
	}
	return project.Load(fsys)
}

// imageFromDefinition reads the image definition file the build was started
// with (docker buildx build -f images/x.yaml, or --local dockerfile=...).
func imageFromDefinition(ctx context.Context, c gwclient.Client, opts Options) (*imagedef.Image, error) {
	src := llb.Local(opts.DefinitionName,
		llb.IncludePatterns([]string{opts.Filename}),
		llb.SessionID(c.BuildOpts().SessionID),
		llb.SharedKeyHint(opts.DefinitionName),
		llb.WithCustomName("load image definition"),
	)
	ref, err := solveRef(ctx, c, src, fmt.Sprintf("no target given and no image definition readable (%s)", opts.Filename))
	if err != nil {
		return nil, err
	}
	data, err := ref.ReadFile(ctx, gwclient.ReadRequest{Filename: opts.Filename})
	if err != nil {
		return nil, fmt.Errorf("no target given and no image definition at %s: %w", opts.Filename, err)
	}
	name := path.Join("images", path.Base(opts.Filename))
	return imagedef.Load(singleFileFS(name, data), name)
}

// HistoryComment is the comment of every history entry Hadron writes into
// an image config: it tells Hadron's layer descriptions (see
// convert.Converter.ImageLayers) from those BuildKit writes itself.
const HistoryComment = "hadron"

// imageConfig is the OCI image config of a Hadron root filesystem whose
// layers are described by layers, bottom first (nil: unknown, BuildKit
// describes them). Every time in it is the epoch: the image's creation
// time and each history entry's, so the config, and the image digest,
// depend on the build's inputs only.
func imageConfig(p ocispecs.Platform, epoch int64, layers []string) ([]byte, error) {
	created := time.Unix(epoch, 0).UTC()
	img := dockerspec.DockerOCIImage{
		Image: ocispecs.Image{
			Created:  &created,
			Platform: p,
			RootFS:   ocispecs.RootFS{Type: "layers"},
		},
		Config: dockerspec.DockerOCIImageConfig{
			ImageConfig: ocispecs.ImageConfig{
				Env: []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"},
				Cmd: []string{"/bin/sh"},
			},
		},
	}
	for _, l := range layers {
		img.History = append(img.History, ocispecs.History{Created: &created, CreatedBy: l, Comment: HistoryComment})
	}
	b, err := json.Marshal(img)
	if err != nil {
		return nil, fmt.Errorf("encode image config: %w", err)
	}
	return b, nil
}

// singleFileFS is an fs.FS holding one file.
func singleFileFS(name string, data []byte) fs.FS {
	return mapFS(map[string][]byte{name: data})
}

// lowerKeys is used by ParseOptions for case-insensitive build args.
func lowerKeys(m map[string]string) map[string]string {
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[strings.ToLower(k)] = v
	}
	return out
}
