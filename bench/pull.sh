#!/usr/bin/env bash
# Cold image pulls from a local registry: `tsrun pull` against
# `podman pull` (unpacks too) and `skopeo copy ... dir:` (download only),
# each into a fresh store every run; plus unpack-only throughput of tsrun's
# layer unpacker on the same blobs.
#
#   sudo bash bench/pull.sh            BENCH_N=7 BENCH_LAYERS=5 BENCH_MB=60 sudo bash bench/pull.sh
#
# Target (issue: image pull): tsrun/podman median ratio <= 0.7.
# Everything lives under one temp dir and is removed on exit (registry
# killed, podman storage reset and unmounted).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/.." && pwd)
runs=${BENCH_N:-5}
layers=${BENCH_LAYERS:-5}
mb=${BENCH_MB:-60}
driver=${BENCH_PODMAN_DRIVER:-overlay}
# Where every store lives. /tmp is the real disk; BENCH_TMP=/dev/shm (tmpfs)
# takes the filesystem's inode-creation cost (and other tenants' I/O) out
# of the comparison, leaving what the pullers themselves spend.
base_tmp=${BENCH_TMP:-/tmp}
name=pull
# shellcheck source=bench/lib.sh
source "$here/lib.sh"
preflight
for t in docker-registry skopeo curl gzip tar; do command -v "$t" >/dev/null || die "$t is missing (scripts/setup.sh)"; done
have_podman=1
command -v podman >/dev/null || { have_podman=0; echo "pull: podman not installed, its column is skipped" >&2; }


tmp=$(mktemp -d "$base_tmp/tsrun-bench-pull.XXXXXX")
reg_pid=
podman_reset() {
  [ -d "$1" ] || return 0
  podman --root "$1/storage" --runroot "$1/run" --tmpdir "$1/tmp" --storage-driver "$driver" system reset -f >/dev/null 2>&1 || true
  unmount_under "$1"
  rm -rf "$1"
}
cleanup() {
  set +e
  stop_registry "$reg_pid"
  for d in "$tmp"/podman-*; do [ -d "$d" ] && podman_reset "$d"; done
  unmount_under "$tmp"
  rm -rf "$tmp"
  remove_side_effects
}
trap cleanup EXIT
trap 'exit 130' INT TERM


# --- image --------------------------------------------------------------------
read -r n_layers plain_bytes gz_bytes n_files < <(node "$here/make-pull-image.mjs" "$tmp/layout" "$layers" "$mb")
echo "image: $n_layers gzip layers, $n_files files, $((plain_bytes / 1048576)) MiB uncompressed, $((gz_bytes / 1048576)) MiB compressed" >&2

# --- registry (Debian's docker-registry, filesystem storage, loopback only) ------
reg=$(start_registry "$tmp/registry") || die "the registry did not start"
read -r reg_pid port <<<"$reg"
ref="127.0.0.1:$port/bench/pull:latest"
mkdir -p "$tmp/skopeo-tmp"
TMPDIR=$tmp/skopeo-tmp skopeo --insecure-policy copy --quiet --dest-tls-verify=false --preserve-digests \
  "oci:$tmp/layout:latest" "docker://$ref"

# --- the three pullers, each into a fresh store -----------------------------------
podman_config "$tmp"

pull_tsrun() {
  local d=$tmp/tsrun-$1 t0
  t0=$(date +%s%N)
  node -- "$repo/bin/tsrun" --root "$d/root" --runroot "$d/run" pull -q "$ref" >/dev/null
  ms_since "$t0"
  rm -rf "$d"
}
pull_podman() {
  local d=$tmp/podman-$1 t0
  mkdir -p "$d/tmp"
  t0=$(date +%s%N)
  TMPDIR=$d/tmp podman --root "$d/storage" --runroot "$d/run" --tmpdir "$d/tmp" --storage-driver "$driver" \
    pull -q --tls-verify=false "$ref" >/dev/null
  ms_since "$t0"
  podman_reset "$d"
}
pull_skopeo() {
  local d=$tmp/skopeo-$1 t0
  mkdir -p "$d/tmp"
  t0=$(date +%s%N)
  TMPDIR=$d/tmp skopeo --insecure-policy copy --quiet --src-tls-verify=false "docker://$ref" "dir:$d/out"
  ms_since "$t0"
  rm -rf "$d"
}

# One untimed warm-up each (page cache, registry), then alternate.
pull_tsrun warm >/dev/null || die "tsrun pull $ref failed"
pull_skopeo warm >/dev/null
((have_podman)) && pull_podman warm >/dev/null
: >"$tmp/t-tsrun"; : >"$tmp/t-podman"; : >"$tmp/t-skopeo"
for ((i = 0; i < runs; i++)); do
  pull_tsrun "$i" >>"$tmp/t-tsrun"
  ((have_podman)) && pull_podman "$i" >>"$tmp/t-podman"
  pull_skopeo "$i" >>"$tmp/t-skopeo"
  sync
done

# --- unpack only -------------------------------------------------------------------
blobs=()
while read -r dg; do blobs+=("$tmp/layout/blobs/sha256/${dg#sha256:}"); done < <(
  node -e 'const fs=require("fs"),p=process.argv[1];const i=JSON.parse(fs.readFileSync(p+"/index.json"));
    const m=JSON.parse(fs.readFileSync(p+"/blobs/sha256/"+i.manifests[0].digest.slice(7)));
    for (const l of m.layers) console.log(l.digest)' "$tmp/layout")
mkdir -p "$tmp/unpack"
declare -A u
while read -r k v rest; do
  u[$k]=$v
  [ -z "$rest" ] || { set -- $rest; u[$1]=$2; }
done < <(node "$here/unpack-layers.mjs" "$tmp/unpack" 3 "${blobs[@]}")

# --- report ------------------------------------------------------------------------
t_ts=$(median <"$tmp/t-tsrun")
t_sk=$(median <"$tmp/t-skopeo")
t_pm=n/a
((have_podman)) && t_pm=$(median <"$tmp/t-podman")
row() { printf '%-44s %8s %8s %8s  %s\n' "$@"; }
echo
echo "cold pull of $ref into $(stat -f -c %T "$tmp") ($base_tmp): $n_layers layers, $n_files files, $((plain_bytes / 1048576)) MiB tar / $((gz_bytes / 1048576)) MiB gzip; $runs runs each (ms)"
row "" median min max runs
for k in tsrun podman skopeo; do
  f=$tmp/t-$k
  [ -s "$f" ] || continue
  case $k in
    tsrun) label="tsrun pull" ;;
    podman) label="podman pull (storage driver $driver)" ;;
    skopeo) label="skopeo copy docker:// dir: (no unpack)" ;;
  esac
  row "$label" "$(median <"$f")" "$(sort -n "$f" | head -n1)" "$(sort -n "$f" | tail -n1)" "$(tr '\n' ' ' <"$f")"
done
if ((have_podman)); then
  echo "tsrun/podman: $(awk -v a="$t_ts" -v b="$t_pm" 'BEGIN { printf "%.2f", a / b }')   (target <= 0.70)"
fi
echo "tsrun/skopeo: $(awk -v a="$t_ts" -v b="$t_sk" 'BEGIN { printf "%.2f", a / b }')   (skopeo only downloads)"
echo
echo "unpack only, same $n_layers blobs one after another, best of 3 (uncompressed MB/s):"
row "read + gunzip" "${u[gunzip_ms]} ms" "" "" "${u[gunzip_mbs]} MB/s"
row "read + gunzip + sha256" "${u[hash_ms]} ms" "" "" "${u[hash_mbs]} MB/s"
row "unpackLayer (+ tar parse + write entries)" "${u[unpack_ms]} ms" "" "" "${u[unpack_mbs]} MB/s"
