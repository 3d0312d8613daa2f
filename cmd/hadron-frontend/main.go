// Command hadron-frontend is Hadron's BuildKit gateway frontend. It is the
// entry point of the frontend image: BuildKit starts it for
// `buildctl build --frontend gateway.v0 --opt source=<image>` and for image
// definitions whose first line is `# syntax=<image>`.
package main

import (
	"fmt"
	"os"

	"github.com/hadron-linux/hadron/buildkit-frontends/frontend"
	"github.com/moby/buildkit/frontend/gateway/grpcclient"
	"github.com/moby/buildkit/util/appcontext"
)

func main() {
	if err := grpcclient.RunFromEnvironment(appcontext.Context(), frontend.Build); err != nil {
		fmt.Fprintf(os.Stderr, "hadron-frontend: %v\n", err)
		os.Exit(1)
	}
}
