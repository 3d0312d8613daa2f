package solve

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/hadron-linux/hadron/buildkit-frontends/convert"
	"github.com/hadron-linux/hadron/buildkit-frontends/frontend"
	"github.com/hadron-linux/hadron/buildkit-frontends/target"
	"github.com/hadron-linux/hadron/internal/imagedef"
	"github.com/tonistiigi/fsutil"
)

// SecretIDs returns the ids of buildctl-style secret specs
// ("id=db.key,src=keys/db.key"), in order. A spec without id= is named by
// its source file's base name, as buildctl does.
func SecretIDs(specs []string) []string {
	var ids []string
	for _, spec := range specs {
		var id, src string
		for _, field := range strings.Split(spec, ",") {
			k, v, _ := strings.Cut(strings.TrimSpace(field), "=")
			switch strings.ToLower(k) {
			case "id":
				id = v
			case "src", "source":
				src = v
			}
		}
		if id == "" && src != "" {
			id = filepath.Base(src)
		}
		if id != "" {
			ids = append(ids, id)
		}
	}
	return ids
}

// checkSecrets fails a target t of r that signs (see
// target.NeedsSecrets; images are the tree's) and lacks a signing secret.
// Errors name the secret id and the flag to pass, never a path's content.
func checkSecrets(r Request, t target.Target, images map[string]*imagedef.Image) error {
	have := SecretIDs(r.Secrets)
	need := convert.SecretsFor(t, images)
	what := "boot artifacts"
	if t.Kind == target.Sysext {
		what = "a system extension"
	}
	for _, id := range need {
		if !slices.Contains(have, id) {
			return fmt.Errorf("target %s signs %s and needs the secret %q: pass --secret id=%s,src=PATH (secrets needed: %s)",
				r.Target, what, id, id, strings.Join(need, ", "))
		}
	}
	return nil
}

// checkTarget fails a target whose steps run the hadron binary (see
// target.RunsTools: the ELF gates of images and packages, the boot steps)
// without the directory holding it.
func checkTarget(r Request) error {
	t, err := target.Parse(r.Target)
	if err != nil {
		return err
	}
	if !t.RunsTools() {
		return nil
	}
	if r.ToolsDir == "" {
		return fmt.Errorf("target %s runs the hadron binary inside BuildKit (ELF gate, boot steps): pass --tools-dir DIR, the directory holding it (solve.Request.ToolsDir)", r.Target)
	}
	if _, err := os.Stat(filepath.Join(r.ToolsDir, "hadron")); err != nil {
		return fmt.Errorf("target %s runs the hadron binary inside BuildKit: --tools-dir: %w", r.Target, err)
	}
	return nil
}

// toolsMount is the local holding the hadron binary, or nil when no step
// of plan runs it.
func toolsMount(r Request, plan *frontend.Plan) (fsutil.FS, error) {
	if r.ToolsDir == "" || !plan.RunsTools() {
		return nil, nil
	}
	dir, err := filepath.Abs(r.ToolsDir)
	if err != nil {
		return nil, err
	}
	fs, err := fsutil.NewFS(dir)
	if err != nil {
		return nil, fmt.Errorf("open tools directory %s: %w", dir, err)
	}
	return fs, nil
}
