package convert

import (
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/moby/buildkit/client/llb"
	"github.com/moby/buildkit/solver/pb"

	"github.com/hadron-linux/hadron/bootchain/toolcmd"
	"github.com/hadron-linux/hadron/internal/imagedef"
	"github.com/hadron-linux/hadron/internal/recipe"
)

// systemdRecipe is the recipe whose tools set an image up at build time
// (see systemdSetup).
const systemdRecipe = "systemd"

// wantsSetup reports whether the image of refs gets the build-time setup
// layer: it holds systemd, and the target's programs run on the build
// platform (a foreign-arch image is set up by systemd on its first boot,
// as systemd does for any image whose /etc lacks it).
func (c *Converter) wantsSetup(refs []recipe.Ref) bool {
	if !c.target.Native() {
		return false
	}
	for _, r := range refs {
		if r.Recipe == systemdRecipe {
			return true
		}
	}
	return false
}

// systemdSetup runs `hadron image-setup` (internal/imagesetup) with root,
// the assembled image, as its root file system: the image's own
// systemd-sysusers, systemd-tmpfiles --create and systemctl preset-all,
// offline and without network. It returns what they changed as one layer
// (/etc/passwd, group and shadow with the system users, the folders and
// links of tmpfiles.d, the enablement links of the presets), every file at
// SOURCE_DATE_EPOCH like every other layer; SOURCE_DATE_EPOCH also fixes
// shadow's last-change day. The hadron binary is mounted from the tools
// (it is static, so it runs on musl).
func (c *Converter) systemdSetup(img *imagedef.Image, root llb.State) llb.State {
	epoch := c.opts.SourceDateEpoch
	inv := toolcmd.ImageSetup{}.Invocation()
	c.toolInvocations = append(c.toolInvocations, inv)
	opts := []llb.RunOption{
		llb.Args(append([]string{path.Join(ToolsDir, ToolBinary)}, inv.Argv()...)),
		c.tools(),
		llb.WithCustomNamef("%s: systemd setup", img.Name),
	}
	if c.opts.NoCache {
		opts = append(opts, llb.IgnoreCache)
	}
	ran := root.Network(pb.NetMode_NONE).Dir("/").
		AddEnv("PATH", basePath).
		AddEnv("SOURCE_DATE_EPOCH", strconv.FormatInt(epoch, 10)).
		Run(opts...).Root()
	t := time.Unix(epoch, 0).UTC()
	// The tools' mount point is not part of the image, should the
	// runtime leave it behind.
	exclude := []string{strings.TrimPrefix(ToolsDir, "/")}
	return llb.Scratch().File(
		llb.Copy(llb.Diff(root, ran), "/", "/", &llb.CopyInfo{CopyDirContentsOnly: true, CreatedTime: &t, ExcludePatterns: exclude}),
		llb.WithCustomNamef("%s: systemd setup layer", img.Name))
}
