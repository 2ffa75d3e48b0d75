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
# The registry was started in a command substitution: not our child, so
# poll until it is gone (its port is reused by the next start).
stop_registry() {
  local pid=$1 i
  [ -n "$pid" ] || return 0
  kill "$pid" 2>/dev/null || return 0
  for ((i = 0; i < 100; i++)); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.05; done
  kill -9 "$pid" 2>/dev/null || true
}
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

free_port() { node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'; }

# Starts docker-registry NAME on PORT with storage under $tmp/NAME; prints its pid.
start_registry() {
  local name=$1 port=$2 dir=$tmp/$1 pid i
  mkdir -p "$dir"
  cat >"$dir/config.yml" <<EOF
version: 0.1
log:
  level: warn
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: $dir/data
http:
  addr: 127.0.0.1:$port
  secret: $(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')
EOF
  docker-registry serve "$dir/config.yml" >"$dir/log" 2>&1 &
  pid=$!
  for ((i = 0; ; i++)); do
    curl -fs "http://127.0.0.1:$port/v2/" >/dev/null && break
    kill -0 "$pid" 2>/dev/null || die "docker-registry exited: $(cat "$dir/log")"
    ((i < 300)) || die "docker-registry did not answer on 127.0.0.1:$port"
    sleep 0.05
  done
  echo "$pid"
}

# --- image, source registry ------------------------------------------------------
read -r n_layers plain_bytes gz_bytes n_files < <(node "$here/make-pull-image.mjs" "$tmp/layout" "$layers" "$mb")
echo "image: $n_layers gzip layers, $n_files files, $((plain_bytes / 1048576)) MiB uncompressed, $((gz_bytes / 1048576)) MiB compressed" >&2
src_port=$(free_port)
src_pid=$(start_registry src "$src_port")
src_ref="127.0.0.1:$src_port/bench/push:latest"
mkdir -p "$tmp/skopeo-tmp"
TMPDIR=$tmp/skopeo-tmp skopeo --insecure-policy copy --quiet --dest-tls-verify=false --preserve-digests \
  "oci:$tmp/layout:latest" "docker://$src_ref"

# The target: a fresh registry (same port, empty storage) before every push.
dst_port=$(free_port)
dst_fresh() {
  stop_registry "$dst_pid"
  rm -rf "$tmp/dst"
  dst_pid=$(start_registry dst "$dst_port")
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
