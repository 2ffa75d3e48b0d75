# Sourced by build-crictl.sh and runtime-tools.sh: the plumbing of building a
# test suite from a source tarball into a cache directory keyed by the
# tarball's digest. The caller sets `name` (its file name, for messages) and
# calls, in order:
#   tarball_out TARBALL PREFIX [OUTDIR]  sets sha and out (the cache entry)
#   tarball_lock                         one build at a time per entry
#   tarball_unpack MARKER                unpacks into tmp; sets src to the
#                                        tree holding MARKER (a path in it)
# and exports GOCACHE into the scratch directory unless the caller has one.

die() { echo "$name: $*" >&2; exit 1; }

tarball_out() {
  [ -f "$1" ] || die "no such tarball: $1"
  tarball=$1
  sha=$(sha256sum "$tarball" | cut -d' ' -f1)
  if [ -n "${3:-}" ]; then
    out=$3
    return
  fi
  local cache=${TSRUN_CACHE_DIR:-/var/cache/tsrun-test}
  if ! mkdir -p "$cache" 2>/dev/null || [ ! -w "$cache" ]; then
    cache=${XDG_CACHE_HOME:-$HOME/.cache}/tsrun-test
    mkdir -p "$cache"
  fi
  out=$cache/$2-${sha:0:16}
}

tarball_lock() {
  mkdir -p "$(dirname "$out")"
  # Parallel test runs share the cache.
  exec 9>"$out.lock"
  flock 9
}

tarball_unpack() {
  tmp=$(mktemp -d "$out.tmp.XXXXXX")
  trap 'rm -rf "$tmp"' EXIT
  echo "$name: unpacking $tarball" >&2
  mkdir "$tmp/src"
  tar xzf "$tarball" -C "$tmp/src"
  # The tarball holds either the tree itself or one top-level directory.
  src=$tmp/src
  if [ ! -e "$src/$1" ]; then
    local tops
    mapfile -t tops < <(find "$src" -mindepth 1 -maxdepth 1)
    [ ${#tops[@]} -eq 1 ] && [ -e "${tops[0]}/$1" ] || die "$tarball: no $1 at its top"
    src=${tops[0]}
  fi
  # Without a GOCACHE of the caller's, Go's build cache lives in the scratch
  # directory (a root without a home still builds) and goes away with it.
  export GOCACHE=${GOCACHE:-$tmp/.gocache}
}
