#!/usr/bin/env bash
# Image pushes to a local registry: `tsrun push` against `podman push` of
# the same ~100 MB, 4-layer image, side by side in one run.
#
#   sudo bash bench/push.sh            BENCH_N=7 BENCH_LAYERS=4 BENCH_MB=100 sudo bash bench/push.sh
#
# Target (issue 11): tsrun/podman median ratio <= 0.8.
# Both tools first get the image from a source registry (untimed); every
# timed push goes to a target registry whose storage is wiped before each
# push, so every blob is uploaded every time (no "Layer already exists", no
# cross-repository mount from an earlier run). Everything lives under one
# temp dir and is removed on exit (registries killed, podman storage reset).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/.." && pwd)
runs=${BENCH_N:-5}
layers=${BENCH_LAYERS:-4}
mb=${BENCH_MB:-100}
driver=${BENCH_PODMAN_DRIVER:-overlay}
base_tmp=${BENCH_TMP:-/tmp}
name=push
# shellcheck source=bench/lib.sh
source "$here/lib.sh"
preflight
for t in docker-registry skopeo curl gzip tar podman; do command -v "$t" >/dev/null || die "$t is missing (scripts/setup.sh)"; done


tmp=$(mktemp -d "$base_tmp/tsrun-bench-push.XXXXXX")
src_pid=
dst_pid=
cleanup() {
  set +e
  stop_registry "$src_pid"
  stop_registry "$dst_pid"
  [ -d "$tmp/podman" ] && podman --root "$tmp/podman/storage" --runroot "$tmp/podman/run" --tmpdir "$tmp/podman/tmp" \
    --storage-driver "$driver" system reset -f >/dev/null 2>&1
  unmount_under "$tmp"
  rm -rf "$tmp"
  remove_side_effects
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Registry NAME (storage under $tmp/NAME) on PORT; prints its pid (lib.sh start_registry).
registry() { local r; r=$(start_registry "$tmp/$1" "$2") || die "registry $1 did not start"; echo "${r% *}"; }

# --- image, source registry ------------------------------------------------------
read -r n_layers plain_bytes gz_bytes n_files < <(node "$here/make-pull-image.mjs" "$tmp/layout" "$layers" "$mb")
echo "image: $n_layers gzip layers, $n_files files, $((plain_bytes / 1048576)) MiB uncompressed, $((gz_bytes / 1048576)) MiB compressed" >&2
src_port=$(free_port)
src_pid=$(registry src "$src_port")
src_ref="127.0.0.1:$src_port/bench/push:latest"
mkdir -p "$tmp/skopeo-tmp"
TMPDIR=$tmp/skopeo-tmp skopeo --insecure-policy copy --quiet --dest-tls-verify=false --preserve-digests \
  "oci:$tmp/layout:latest" "docker://$src_ref"

# The target: a fresh registry (same port, empty storage) before every push.
dst_port=$(free_port)
dst_fresh() {
  stop_registry "$dst_pid"
  rm -rf "$tmp/dst"
  dst_pid=$(registry dst "$dst_port")
}

# --- both tools get the image (untimed) ------------------------------------------------
podman_config "$tmp"
ts=(node -- "$repo/bin/tsrun" --root "$tmp/tsrun/root" --runroot "$tmp/tsrun/run")
pm=(podman --root "$tmp/podman/storage" --runroot "$tmp/podman/run" --tmpdir "$tmp/podman/tmp" --storage-driver "$driver")
mkdir -p "$tmp/podman/tmp"
"${ts[@]}" pull -q "$src_ref" >/dev/null || die "tsrun pull $src_ref failed"
TMPDIR=$tmp/podman/tmp "${pm[@]}" pull -q --tls-verify=false "$src_ref" >/dev/null || die "podman pull $src_ref failed"
dst_ref="127.0.0.1:$dst_port/bench/pushed:latest"
"${ts[@]}" tag "$src_ref" "$dst_ref"

push_tsrun() {
  local t0
  dst_fresh
  t0=$(date +%s%N)
  "${ts[@]}" push -q "$dst_ref" >/dev/null || die "tsrun push failed"
  ms_since "$t0"
}
push_podman() {
  local t0
  dst_fresh
  t0=$(date +%s%N)
  TMPDIR=$tmp/podman/tmp "${pm[@]}" push -q --tls-verify=false "$src_ref" "docker://$dst_ref" >/dev/null || die "podman push failed"
  ms_since "$t0"
}

# One untimed warm-up each (page cache), then alternate.
push_tsrun >/dev/null
push_podman >/dev/null
: >"$tmp/t-tsrun"; : >"$tmp/t-podman"
for ((i = 0; i < runs; i++)); do
  push_tsrun >>"$tmp/t-tsrun"
  push_podman >>"$tmp/t-podman"
done

# --- report ------------------------------------------------------------------------
t_ts=$(median <"$tmp/t-tsrun")
t_pm=$(median <"$tmp/t-podman")
row() { printf '%-44s %8s %8s %8s  %s\n' "$@"; }
echo
echo "push to an empty local registry: $n_layers layers, $((plain_bytes / 1048576)) MiB tar / $((gz_bytes / 1048576)) MiB gzip; $runs runs each (ms)"
row "" median min max runs
for k in tsrun podman; do
  f=$tmp/t-$k
  case $k in
    tsrun) label="tsrun push (stored blobs as they are)" ;;
    podman) label="podman push (storage driver $driver)" ;;
  esac
  row "$label" "$(median <"$f")" "$(sort -n "$f" | head -n1)" "$(sort -n "$f" | tail -n1)" "$(tr '\n' ' ' <"$f")"
done
echo "tsrun/podman: $(awk -v a="$t_ts" -v b="$t_pm" 'BEGIN { printf "%.2f", a / b }')   (target <= 0.80)"
