package gentree

import (
	"context"
	"fmt"
	"io/fs"

	"github.com/hadron-linux/hadron/buildkit-frontends/frontend"
	"github.com/hadron-linux/hadron/internal/project"
	"github.com/hadron-linux/hadron/internal/recipe"
	"github.com/moby/buildkit/client/llb"
)

// PlanAll is the LLB dry run of a generated Hadron tree: it loads and
// validates the tree in fsys, resolves and converts the AllTarget image
// (every package) for amd64 with the options `hadron build` uses, and
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
	st, _, err := frontend.Plan(tree, AllTarget, frontend.ConvertOptions(opts, recipe.ArchAMD64))
	if err != nil {
		return nil, fmt.Errorf("plan %s: %w", AllTarget, err)
	}
	def, err := st.Marshal(ctx, llb.LinuxAmd64)
	if err != nil {
		return nil, fmt.Errorf("marshal %s: %w", AllTarget, err)
	}
	return def, nil
}
