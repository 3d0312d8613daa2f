package engine

// BuildKit reaches daemons in containers and pods through connection
// helpers that register their address schemes when imported; buildctl
// imports the same set. Without them an address such as
// docker-container://buildx_buildkit_default (a buildx builder) or
// kube-pod://buildkitd-0 (buildx's kubernetes driver) fails as an unknown
// scheme.
import (
	_ "github.com/moby/buildkit/client/connhelper/dockercontainer"
	_ "github.com/moby/buildkit/client/connhelper/kubepod"
	_ "github.com/moby/buildkit/client/connhelper/nerdctlcontainer"
	_ "github.com/moby/buildkit/client/connhelper/podmancontainer"
	_ "github.com/moby/buildkit/client/connhelper/ssh"
)
