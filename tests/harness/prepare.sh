#!/bin/sh
# prepare.sh gets a fresh machine ready for `make test-e2e`:
#   1. builds buildkitd and buildctl at the version go.mod pins into out/bin
#      (skipped when they are there with that version);
#   2. makes sure runc and mmdebstrap are installed (apt-get, as root);
#   3. adds Debian's deb-src entry (tests/harness/debian-sources.sh), used
#      only when Debian's pool cannot be reached directly;
#   4. downloads the mirrored source tarballs (the exact pool files, digests
#      checked) and builds the stage0 rootfs into out/cache
#      (go run ./tests/harness/prepare).
# Every step is skipped when its result is already there. Run as root from
# anywhere in the tree.
set -eu

cd "$(dirname "$0")/../.."
mkdir -p out/bin

# Rebuild when missing or stamped with another release (a plain `go build`
# without the -X stamp reports v0.0.0+unknown; that is accepted).
version=$(go list -m -f '{{.Version}}' github.com/moby/buildkit)
current() {
	"$1" --version 2>/dev/null | grep -Eq " ($version|v0\.0\.0\+unknown) "
}
if ! current out/bin/buildkitd || ! current out/bin/buildctl; then
	echo "prepare: building buildkitd and buildctl $version into out/bin"
	CGO_ENABLED=0 go build \
		-ldflags "-X github.com/moby/buildkit/version.Version=$version" \
		-o out/bin/ \
		github.com/moby/buildkit/cmd/buildkitd github.com/moby/buildkit/cmd/buildctl
fi

missing=
command -v runc >/dev/null 2>&1 || missing="$missing runc"
command -v mmdebstrap >/dev/null 2>&1 || missing="$missing mmdebstrap"
if [ -n "$missing" ]; then
	echo "prepare: installing$missing"
	apt-get install -y --no-install-recommends $missing
fi

if [ "$(id -u)" -eq 0 ]; then
	tests/harness/debian-sources.sh
else
	echo "prepare: not root; skipping the deb-src entry (tests/harness/debian-sources.sh)" >&2
fi

go run ./tests/harness/prepare
