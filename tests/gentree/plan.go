package gentree

import (
	"context"
	"fmt"
	"io/fs"

	"github.com/hadron-linux/hadron/buildkit-frontends/frontend"
	"github.com/hadron-linux/hadron/buildkit-frontends/target"
	"github.com/hadron-linux/hadron/internal/project"
	"github.com/moby/buildkit/client/llb"
)

// PlanAll is the LLB dry run of a generated Hadron tree: it loads and
// validates the tree in fsys, resolves and converts the AllTarget image
// (every package) for the default platform with the options `hadron build` uses, and
// marshals one definition, the way the CLI plans a build before it
// contacts BuildKit.
func PlanAll(ctx context.Context, fsys fs.FS) (*llb.Definition, error) {
	tree, err := project.Load(fsys)
	if err != nil {
		return nil, fmt.Errorf("load: %w", err)
	}
	opts, err := frontend.ParseOptions(map[string]string{frontend.OptTarget: AllTarget})
	if err != nil {
		return nil, err
	}
	t, err := target.Lookup(tree, AllTarget)
	if err != nil {
		return nil, err
	}
	plan, err := frontend.NewPlan(tree, opts, t)
	if err != nil {
		return nil, fmt.Errorf("plan %s: %w", AllTarget, err)
	}
	return plan.Definition(ctx, 0, 0)
}
