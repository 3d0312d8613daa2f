package convert

import (
	"sort"
	"strconv"
	"strings"

	"github.com/moby/buildkit/client/llb"
	"github.com/moby/buildkit/solver/pb"
)

// basePath is the PATH of every step.
const basePath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// outDir is where a step that produces a layer writes it.
const outDir = "/out"

// clamp normalises a step's /out tree so its layer is reproducible: every
// timestamp becomes SOURCE_DATE_EPOCH and libtool archives (which embed
// build paths) are dropped. Every step that produces a layer ends with it
// (see sandbox.layer).
const clamp = "find " + outDir + " -name '*.la' -type f -delete\n" +
	"find " + outDir + " -exec touch -h -d \"@$SOURCE_DATE_EPOCH\" {} +\n"

// sandbox is the hermetic base every build step runs on. What BuildKit
// keeps as state metadata — environment, working directory, network mode —
// is set once on state and inherited by each Run on it; what can only be a
// run option — read-only root, a tmpfs /tmp, no-cache — is the one
// composite option hermetic. A step then adds only its arguments, its name
// and its mounts.
type sandbox struct {
	state llb.State
	// env is state's environment, for deriving sandboxes that differ in
	// a few variables only.
	env map[string]string
	// noCache re-runs every step (Options.NoCache).
	noCache bool
}

// newSandbox returns the hermetic base on root: env and dir as state
// metadata, network disabled.
func newSandbox(root llb.State, env map[string]string, dir string, noCache bool) sandbox {
	st := root.Network(pb.NetMode_NONE).Dir(dir)
	for _, k := range sortedKeys(env) {
		st = st.AddEnv(k, env[k])
	}
	return sandbox{state: st, env: env, noCache: noCache}
}

// hermeticEnv is the environment shared by every step: a fixed PATH, home,
// time zone and locale, and SOURCE_DATE_EPOCH.
func hermeticEnv(epoch int64) map[string]string {
	return map[string]string{
		"PATH":              basePath,
		"HOME":              "/tmp",
		"TZ":                "UTC",
		"LC_ALL":            "C",
		"SOURCE_DATE_EPOCH": strconv.FormatInt(epoch, 10),
	}
}

// with returns a sandbox whose environment also holds env; only the
// variables that differ from s are added to the state.
func (s sandbox) with(env map[string]string) sandbox {
	merged := make(map[string]string, len(s.env)+len(env))
	for k, v := range s.env {
		merged[k] = v
	}
	st := s.state
	for _, k := range sortedKeys(env) {
		if old, ok := s.env[k]; ok && old == env[k] {
			continue
		}
		merged[k] = env[k]
		st = st.AddEnv(k, env[k])
	}
	return sandbox{state: st, env: merged, noCache: s.noCache}
}

// SetRunOption applies what every step shares and state metadata cannot
// carry: a read-only root, a tmpfs /tmp and, with NoCache, no cache.
func (s sandbox) SetRunOption(ei *llb.ExecInfo) {
	ei.ReadonlyRootFS = true
	llb.AddMount("/tmp", llb.Scratch(), llb.Tmpfs()).SetRunOption(ei)
	if s.noCache {
		llb.IgnoreCache.SetRunOption(ei)
	}
}

// run runs script (after "set -eu") as the step called name.
func (s sandbox) run(name, script string, extra ...llb.RunOption) llb.ExecState {
	ro := make([]llb.RunOption, 0, len(extra)+3)
	ro = append(ro, s, llb.Args([]string{"/bin/sh", "-c", script}), llb.WithCustomName(name))
	return s.state.Run(append(ro, extra...)...)
}

// layer runs script as the step called name, then clamps /out, and
// returns the exec; its /out mount is the layer (see outMount).
func (s sandbox) layer(name, script string, extra ...llb.RunOption) llb.ExecState {
	if !strings.HasSuffix(script, "\n") {
		script += "\n"
	}
	return s.run(name, script+clamp, extra...)
}

// outMount is the /out mount of a layer step: the package layer.
func outMount(e llb.ExecState) llb.State {
	return e.AddMount(outDir, llb.Scratch())
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
