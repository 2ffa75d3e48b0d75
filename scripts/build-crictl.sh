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

die() { echo "build-crictl.sh: $*" >&2; exit 1; }

[ $# -ge 1 ] && [ $# -le 2 ] || die "usage: build-crictl.sh TARBALL [OUTDIR]"
tarball=$1
[ -f "$tarball" ] || die "no such tarball: $tarball"
command -v go >/dev/null || die "go not found (Debian: apt-get install golang-go)"

sha=$(sha256sum "$tarball" | cut -d' ' -f1)
if [ $# -ge 2 ]; then
  out=$2
else
  cache=${TSRUN_CACHE_DIR:-/var/cache/tsrun-test}
  if ! mkdir -p "$cache" 2>/dev/null || [ ! -w "$cache" ]; then
    cache=${XDG_CACHE_HOME:-$HOME/.cache}/tsrun-test
    mkdir -p "$cache"
  fi
  out=$cache/crictl-${sha:0:16}
fi

built() {
  [ -f "$out/.tsrun-built" ] && [ "$(cat "$out/.tsrun-built")" = "$sha" ] && [ -x "$out/crictl" ]
}

mkdir -p "$(dirname "$out")"
# One build at a time per output directory (parallel test runs share the cache).
exec 9>"$out.lock"
flock 9

if built; then
  echo "$out/crictl"
  exit 0
fi

tmp=$(mktemp -d "$out.tmp.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
echo "build-crictl.sh: unpacking $tarball" >&2
mkdir "$tmp/src"
tar xzf "$tarball" -C "$tmp/src"
# The tarball holds either the tree itself or one top-level directory.
src=$tmp/src
if [ ! -d "$src/cmd/crictl" ]; then
  mapfile -t tops < <(find "$src" -mindepth 1 -maxdepth 1)
  [ ${#tops[@]} -eq 1 ] && [ -d "${tops[0]}/cmd/crictl" ] || die "$tarball: no cmd/crictl at its top"
  src=${tops[0]}
fi

echo "build-crictl.sh: building crictl (a minute or two)" >&2
# Without a GOCACHE of the caller's, Go's build cache lives in the scratch
# directory (a root without a home still builds) and goes away with it.
export GOCACHE=${GOCACHE:-$tmp/.gocache}
(cd "$src" && CGO_ENABLED=0 GOFLAGS=-mod=vendor GOPROXY=off GO111MODULE=on \
  go build -trimpath -o "$tmp/crictl" ./cmd/crictl >&2) || die "the build failed"

rm -rf "$out"
mkdir -p "$out"
mv "$tmp/crictl" "$out/crictl"
echo "$sha" >"$out/.tsrun-built"
chmod 755 "$out" "$out/crictl"
echo "$out/crictl"
