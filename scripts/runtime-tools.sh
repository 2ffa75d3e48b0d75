#!/usr/bin/env bash
# Builds the OCI runtime-tools validation suite from a source tarball and
# prints the directory it was built in.
#
#   scripts/runtime-tools.sh TARBALL [OUTDIR]
#   scripts/runtime-tools.sh compare [--tarball T | --suite DIR] [--runtime NAME=CMD]...
#       [--only REGEX] [--jobs N] [--timeout SEC] [--json FILE] [--no-cache]
#
# TARBALL  a runtime-tools source tarball with its Go modules vendored (see
#          ../shared/third_party/README.md; any copy of your own works too).
# OUTDIR   where to build (default: $TSRUN_CACHE_DIR/runtime-tools-<sha256
#          prefix>, TSRUN_CACHE_DIR defaulting to /var/cache/tsrun-test, or
#          ~/.cache/tsrun-test when that is not writable).
#
# A directory that already holds a complete build of the same tarball (its
# sha256 is recorded in .tsrun-built) is reused as it is. The build needs Go
# (Debian: apt-get install golang-go make) and no network: the modules come
# from the tarball's vendor/ directory.
#
# Output: the build directory on stdout (one line); progress on stderr.
# Run a test: cd DIR && RUNTIME=/path/to/runtime validation/default/default.t
#
# `compare` runs every validation file against runc and this checkout's
# tsrun-oci (or the --runtime command lines given; each gets a private
# --root), prints a per-file table and every case the first runtime passes
# and another does not (test/helpers/runtime-tools.ts; runc's results are
# cached next to the suite, keyed by `runc --version`).
set -euo pipefail

name=runtime-tools.sh
# shellcheck source=scripts/tarball-build.sh
. "$(dirname "${BASH_SOURCE[0]}")/tarball-build.sh"

if [ "${1:-}" = compare ]; then
  shift
  repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
  cd "$repo"
  TSRUN_RUNTIME_TOOLS_CLI=1 exec node_modules/.bin/vite-node test/helpers/runtime-tools.ts -- "$@"
fi

[ $# -ge 1 ] && [ $# -le 2 ] || die "usage: runtime-tools.sh TARBALL [OUTDIR]"
command -v go >/dev/null || die "go not found (Debian: apt-get install golang-go make)"
command -v make >/dev/null || die "make not found (Debian: apt-get install make)"
tarball_out "$1" runtime-tools "${2:-}"

built() {
  [ -f "$out/.tsrun-built" ] && [ "$(cat "$out/.tsrun-built")" = "$sha" ] &&
    [ -x "$out/runtimetest" ] && compgen -G "$out/validation/*/*.t" >/dev/null
}

tarball_lock
if built; then
  echo "$out"
  exit 0
fi
tarball_unpack Makefile

echo "runtime-tools.sh: building runtimetest and the validation executables (this takes a few minutes)" >&2
(cd "$src" && GOFLAGS=-mod=vendor GOPROXY=off GO111MODULE=on make runtimetest validation-executables >&2) ||
  die "the build failed"
echo "$sha" >"$src/.tsrun-built"

rm -rf "$out"
mv "$src" "$out"
chmod 755 "$out"
rm -rf "$out/.gocache"
echo "$out"
