package frontend

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"

	"github.com/containerd/platforms"
	"github.com/hadron-linux/hadron/buildkit-frontends/convert"
	"github.com/hadron-linux/hadron/buildkit-frontends/target"
	"github.com/hadron-linux/hadron/internal/project"
	"github.com/hadron-linux/hadron/internal/recipe"
	"github.com/hadron-linux/hadron/toolchain"
	"github.com/moby/buildkit/client/llb"
	"github.com/moby/buildkit/exporter/containerimage/exptypes"
	commonexptypes "github.com/moby/buildkit/exporter/exptypes"
	gwclient "github.com/moby/buildkit/frontend/gateway/client"
	ocispecs "github.com/opencontainers/image-spec/specs-go/v1"
)

// Plan is a build converted to LLB and not yet solved: its targets for
// every platform of its options. Planning needs no BuildKit, so the CLI
// plans before it starts an engine (to fail fast, to print what a build
// would do, for `hadron plan`) and then solves that same plan in-process;
// the gateway plans and solves in one go. A tree is planned once per build.
type Plan struct {
	// Options are the build's options, defaults filled in.
	Options Options
	// Targets are what the plan builds, in the order given.
	Targets []target.Target
	// Platforms hold the conversion for each of Options.Platforms.
	Platforms []PlatformPlan
	// tree is the project tree the plan was made from (for its SBOM).
	tree *project.Tree
}

// PlatformPlan is a plan's conversion for one platform.
type PlatformPlan struct {
	// Platform is the OCI platform, Arch the recipe architecture for it.
	Platform ocispecs.Platform
	Arch     recipe.Arch
	// Converter converted every target; it knows their sources and kernel
	// configurations.
	Converter *convert.Converter
	// States are the targets' LLB states, in Plan.Targets order.
	States []llb.State
	// marshaler marshals the states for Plan.Definition.
	marshaler *Marshaler
}

// NewPlan converts targets (each checked with target.Lookup or built by
// target.All) of tree for every platform of opts. One converter per
// platform serves every target, so a recipe shared by several targets is
// converted once and a target's LLB is the same whether it is planned
// alone or with others.
func NewPlan(tree *project.Tree, opts Options, targets ...target.Target) (*Plan, error) {
	return newPlan(tree, opts, nil, targets...)
}

// newPlan is NewPlan for a frontend running from its image, tools: its
// tool steps mount the hadron binary from that image (see
// convert.Options.ToolsImage) instead of the tools local.
func newPlan(tree *project.Tree, opts Options, tools *llb.State, targets ...target.Target) (*Plan, error) {
	if len(targets) == 0 {
		return nil, fmt.Errorf("nothing to plan: no target given")
	}
	opts = opts.WithDefaults()
	var roots []string
	seen := map[string]bool{}
	for _, t := range targets {
		for _, r := range t.Roots(tree.Images) {
			if !seen[r] {
				seen[r] = true
				roots = append(roots, r)
			}
		}
	}
	p := &Plan{Options: opts, Targets: targets, tree: tree}
	for _, pl := range opts.Platforms {
		arch, err := toolchain.ArchForPlatform(pl)
		if err != nil {
			return nil, fmt.Errorf("platform %s: %w", platforms.Format(pl), err)
		}
		co := opts.ForArch(arch)
		co.ToolsImage = tools
		conv, err := convert.New(tree, co, roots...)
		if err != nil {
			return nil, err
		}
		pp := PlatformPlan{Platform: pl, Arch: arch, Converter: conv, marshaler: NewMarshaler(pl)}
		// Packages are marshalled on a second core while the next ones
		// are converted (see Marshaler.Background).
		feed, done := pp.marshaler.Background()
		conv.OnPackage(feed)
		for _, t := range targets {
			st, err := conv.State(t)
			if err != nil {
				done()
				return nil, err
			}
			pp.States = append(pp.States, st)
		}
		done()
		p.Platforms = append(p.Platforms, pp)
	}
	return p, nil
}

// Definition marshals target ti (in Targets order) for platform pi (in
// Platforms order) as `hadron plan` shows it: the definition a build
// solves, with PlanLocalID for local sources (see Marshaler), so equal LLB
// gives equal bytes on every run. Targets of one platform share the
// marshalled vertices they have in common.
func (p *Plan) Definition(ctx context.Context, pi, ti int) (*llb.Definition, error) {
	pp := p.Platforms[pi]
	def, err := pp.marshaler.Marshal(ctx, pp.States[ti])
	if err != nil {
		return nil, fmt.Errorf("marshal LLB for %s (%s): %w", p.Targets[ti], platforms.Format(pp.Platform), err)
	}
	if err := RerunDownstream(def); err != nil {
		return nil, err
	}
	return def, nil
}

// RunsTools reports whether a step of the plan runs the hadron binary
// inside BuildKit: an ELF gate (image and package targets), a boot
// target's initrd, UKI and signing steps.
func (p *Plan) RunsTools() bool {
	for _, pp := range p.Platforms {
		if len(pp.Converter.ToolInvocations()) > 0 {
			return true
		}
	}
	return false
}

// Solve solves a plan of one target on c, checking every kernel
// configuration it uses first, and returns the result with one ref (and
// image config) per platform.
func (p *Plan) Solve(ctx context.Context, c gwclient.Client) (*gwclient.Result, error) {
	if len(p.Targets) != 1 {
		return nil, fmt.Errorf("a build solves one target, this plan has %d", len(p.Targets))
	}
	imports, err := CacheImports(c.BuildOpts().Opts)
	if err != nil {
		return nil, err
	}
	res := gwclient.NewResult()
	expPlatforms := &exptypes.Platforms{}
	for _, pp := range p.Platforms {
		if err := checkKernelConfigs(ctx, c, pp.Converter, pp.Platform, imports); err != nil {
			return nil, err
		}
		def, err := pp.States[0].Marshal(ctx, llb.Platform(pp.Platform))
		if err != nil {
			return nil, fmt.Errorf("marshal LLB for %s: %w", p.Targets[0], err)
		}
		if err := RerunDownstream(def); err != nil {
			return nil, err
		}
		r, err := c.Solve(ctx, gwclient.SolveRequest{Definition: def.ToPB(), Evaluate: true, CacheImports: imports})
		if err != nil {
			return nil, ExplainSolveError(err, pp.Converter.Sources())
		}
		ref, err := r.SingleRef()
		if err != nil {
			return nil, err
		}
		cfg, err := imageConfig(pp.Platform, p.Options.SourceDateEpoch, pp.Converter.ImageLayers(p.Targets[0]))
		if err != nil {
			return nil, err
		}
		// The epoch also goes to the exporter, as BuildKit's Dockerfile
		// frontend passes SOURCE_DATE_EPOCH: it clamps every time it
		// writes itself (history entries it adds, the OCI tarball's file
		// times) to it.
		epoch := []byte(strconv.FormatInt(p.Options.SourceDateEpoch, 10))
		id := platforms.FormatAll(platforms.Normalize(pp.Platform))
		if len(p.Platforms) == 1 {
			res.SetRef(ref)
			res.AddMeta(exptypes.ExporterImageConfigKey, cfg)
			res.AddMeta(commonexptypes.ExporterEpochKey, epoch)
		} else {
			res.AddRef(id, ref)
			res.AddMeta(fmt.Sprintf("%s/%s", exptypes.ExporterImageConfigKey, id), cfg)
			res.AddMeta(fmt.Sprintf("%s/%s", commonexptypes.ExporterEpochKey, id), epoch)
		}
		expPlatforms.Platforms = append(expPlatforms.Platforms, exptypes.Platform{ID: id, Platform: pp.Platform})
		if p.Options.WantsSBOM() {
			att, err := p.sbomAttestation(ctx, c, pp.Platform)
			if err != nil {
				return nil, err
			}
			res.AddAttestation(id, att)
		}
	}
	if len(p.Platforms) > 1 {
		b, err := json.Marshal(expPlatforms)
		if err != nil {
			return nil, err
		}
		res.AddMeta(exptypes.ExporterPlatformsKey, b)
	}
	return res, nil
}

// Sources lists the sources every platform of the plan fetches.
func (p *Plan) Sources() []convert.SourceRef {
	var out []convert.SourceRef
	for _, pp := range p.Platforms {
		out = append(out, pp.Converter.Sources()...)
	}
	return out
}
