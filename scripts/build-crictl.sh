#!/usr/bin/env bash
# Builds crictl (the CRI client of Kubernetes' node tooling) from a
# cri-tools source tarball and prints the path of the binary.
#
#   scripts/build-crictl.sh TARBALL [OUTDIR]
#
# TARBALL  a cri-tools source tarball with its Go modules vendored (see
#          ../shared/third_party/README.md: cri-tools-v1.26.1.tar.gz, the
#          newest tag Debian 12's Go 1.19 builds; any copy of your own works).
# OUTDIR   where to put the binary (default: $TSRUN_CACHE_DIR/crictl-<sha256
#          prefix>, TSRUN_CACHE_DIR defaulting to /var/cache/tsrun-test, or
#          ~/.cache/tsrun-test when that is not writable).
#
# A directory that already holds a build of the same tarball (its sha256 is
# recorded in .tsrun-built) is reused as it is. The build needs Go (Debian:
# apt-get install golang-go) and no network: the modules come from the
# tarball's vendor/ directory; CGO is off, so the binary is static.
#
# Output: the crictl binary's path on stdout (one line); progress on stderr.
set -euo pipefail

name=build-crictl.sh
# shellcheck source=scripts/tarball-build.sh
. "$(dirname "${BASH_SOURCE[0]}")/tarball-build.sh"

[ $# -ge 1 ] && [ $# -le 2 ] || die "usage: build-crictl.sh TARBALL [OUTDIR]"
command -v go >/dev/null || die "go not found (Debian: apt-get install golang-go)"
tarball_out "$1" crictl "${2:-}"

built() {
  [ -f "$out/.tsrun-built" ] && [ "$(cat "$out/.tsrun-built")" = "$sha" ] && [ -x "$out/crictl" ]
}

tarball_lock
if built; then
  echo "$out/crictl"
  exit 0
fi
tarball_unpack cmd/crictl

echo "build-crictl.sh: building crictl (a minute or two)" >&2
(cd "$src" && CGO_ENABLED=0 GOFLAGS=-mod=vendor GOPROXY=off GO111MODULE=on \
  go build -trimpath -o "$tmp/crictl" ./cmd/crictl >&2) || die "the build failed"

rm -rf "$out"
mkdir -p "$out"
mv "$tmp/crictl" "$out/crictl"
echo "$sha" >"$out/.tsrun-built"
chmod 755 "$out" "$out/crictl"
echo "$out/crictl"
