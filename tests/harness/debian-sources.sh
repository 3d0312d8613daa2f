#!/bin/sh
# debian-sources.sh adds a deb-src entry for Debian bookworm (the same mirror
# as the binary entry in /etc/apt/sources.list.d/debian.sources) so that
# `apt-get source --download-only NAME=VERSION` can fetch Debian's .orig
# tarballs, which are byte-identical to the upstream release tarballs the
# e2e tests mirror. The harness asks for the exact version pinned in
# tests/harness/sources.go, and only when the pool file cannot be downloaded
# directly.
# Idempotent; needs root. Usage: tests/harness/debian-sources.sh
set -eu

list=/etc/apt/sources.list.d/hadron-deb-src.sources
mirror=${HADRON_DEBIAN_MIRROR:-}
if [ -z "$mirror" ] && [ -r /etc/apt/sources.list.d/debian.sources ]; then
	mirror=$(awk '/^URIs:/ && $2 ~ /\/debian\/?$/ { print $2; exit }' /etc/apt/sources.list.d/debian.sources)
fi
mirror=${mirror:-http://deb.debian.org/debian}

if [ "$(id -u)" -ne 0 ]; then
	echo "debian-sources.sh: must run as root (writes $list, runs apt-get update)" >&2
	exit 1
fi

want="Types: deb-src
URIs: $mirror
Suites: bookworm
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg"

if [ ! -f "$list" ] || [ "$(cat "$list")" != "$want" ]; then
	printf '%s\n' "$want" >"$list"
	echo "debian-sources.sh: wrote $list ($mirror)"
fi
apt-get update -qq
