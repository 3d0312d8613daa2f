package convert

import (
	"strconv"
	"time"

	"github.com/moby/buildkit/client/llb"
	"github.com/moby/buildkit/solver/pb"

	"github.com/hadron-linux/hadron/internal/imagedef"
	"github.com/hadron-linux/hadron/internal/recipe"
)

// systemdRecipe is the recipe whose tools set an image up at build time
// (see systemdSetup).
const systemdRecipe = "systemd"

// setupExclude are the trees systemd-tmpfiles leaves alone at build time:
// API file systems and the volatile folders systemd mounts at boot.
var setupExclude = []string{"/dev", "/proc", "/sys", "/run", "/tmp"}

// setupStep is one command of the build-time setup of an image.
type setupStep struct {
	name string
	args []string
}

// setupSteps are what systemd would otherwise do on the image's first
// boot, in the order systemd's own units run them: the system users and
// groups of sysusers.d, the files and folders of tmpfiles.d, and the
// enabled units of the presets.
func setupSteps() []setupStep {
	tmpfiles := []string{"/usr/bin/systemd-tmpfiles", "--create"}
	for _, p := range setupExclude {
		tmpfiles = append(tmpfiles, "--exclude-prefix="+p)
	}
	return []setupStep{
		{"systemd-sysusers", []string{"/usr/bin/systemd-sysusers"}},
		{"systemd-tmpfiles --create", tmpfiles},
		{"systemctl preset-all", []string{"/usr/bin/systemctl", "preset-all"}},
	}
}

// wantsSetup reports whether the image of refs gets the build-time setup
// layer: it holds systemd, and the target's programs run on the build
// platform (a foreign-arch image is set up by systemd on its first boot,
// as systemd does for any image whose /etc is empty).
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

// systemdSetup runs the image's own systemd-sysusers, systemd-tmpfiles and
// systemctl preset-all with root (the assembled image) as their root file
// system, and returns what they changed as one layer: /etc/passwd, group
// and shadow with the system users, the folders and links of tmpfiles.d,
// the enablement links of the presets. The tools run from the image, so
// they are the version the image boots, and read the image's
// configuration only. SOURCE_DATE_EPOCH fixes shadow's last-change day;
// every file of the layer gets it as its time, like every other layer.
func (c *Converter) systemdSetup(img *imagedef.Image, root llb.State) llb.State {
	epoch := c.opts.SourceDateEpoch
	st := root.Network(pb.NetMode_NONE).Dir("/").
		AddEnv("PATH", basePath).
		AddEnv("SOURCE_DATE_EPOCH", strconv.FormatInt(epoch, 10)).
		// Work on the files only: no service manager to talk to.
		AddEnv("SYSTEMD_OFFLINE", "1")
	for _, s := range setupSteps() {
		opts := []llb.RunOption{llb.Args(s.args), llb.WithCustomNamef("%s: %s", img.Name, s.name)}
		if c.opts.NoCache {
			opts = append(opts, llb.IgnoreCache)
		}
		st = st.Run(opts...).Root()
	}
	t := time.Unix(epoch, 0).UTC()
	changed := llb.Diff(root, st)
	return llb.Scratch().File(
		llb.Copy(changed, "/", "/", &llb.CopyInfo{CopyDirContentsOnly: true, CreatedTime: &t}),
		llb.WithCustomNamef("%s: systemd setup layer", img.Name))
}
