#!/usr/bin/env bash
# What the default seccomp filter costs a start: `run --rm --network none
# IMAGE true` with the default profile and with seccomp=unconfined, for
# tsrun and (side by side, same image) for podman with runc.
#
#   sudo bash bench/seccomp.sh            BENCH_N=40 sudo bash bench/seccomp.sh
#
# Target (issue 12): the filter costs at most a few ms per start.
set -euo pipefail

name=seccomp
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/.." && pwd)
runs=${BENCH_N:-20}
# shellcheck source=bench/lib.sh
. "$here/lib.sh"
preflight
fixture=${BENCH_ROOTFS:-$(bash "$repo/rootfs-fixtures/busybox.sh" | tail -n1)}

tmp=$(mktemp -d /tmp/tsrun-bench-seccomp.XXXXXX)
tsrun=(node -- "$repo/dist/cli/tsrun.js" --root "$tmp/root" --runroot "$tmp/run")
podman=()
cleanup() {
  set +e
  [ -z "${podman[*]:-}" ] || "${podman[@]}" system reset -f >/dev/null 2>&1
  unmount_under "$tmp"
  rm -rf "$tmp"
  remove_side_effects
}
trap cleanup EXIT
trap 'exit 130' INT TERM

tar -C "$fixture" -c . | "${tsrun[@]}" import - localhost/bench:latest >/dev/null
have_podman=0
if command -v podman >/dev/null && command -v runc >/dev/null; then
  have_podman=1
  mkdir -p "$tmp/podman"
  podman_config "$tmp/podman"
  podman=(podman --root "$tmp/podman/storage" --runroot "$tmp/podman/run" --tmpdir "$tmp/podman/tmp")
  tar -C "$fixture" -c . | "${podman[@]}" import - localhost/bench:latest >/dev/null
fi

# Median wall time (ms) of $runs runs of the command, after one warm-up.
time_runs() {
  "$@" >/dev/null 2>&1 || die "failed: $*"
  for ((i = 0; i < runs; i++)); do
    t0=$(date +%s%N)
    "$@" >/dev/null 2>&1
    ms_since "$t0"
  done | median
}

row() { printf '%-8s %10s %12s %8s\n' "$@"; }
row runtime default unconfined delta
t_def=$(time_runs "${tsrun[@]}" run --rm --network none localhost/bench true)
t_unc=$(time_runs "${tsrun[@]}" run --rm --network none --security-opt seccomp=unconfined localhost/bench true)
row tsrun "$t_def ms" "$t_unc ms" "$((t_def - t_unc)) ms"
if [ "$have_podman" = 1 ]; then
  p_def=$(time_runs "${podman[@]}" run --rm --network none localhost/bench true)
  p_unc=$(time_runs "${podman[@]}" run --rm --network none --security-opt seccomp=unconfined localhost/bench true)
  row podman "$p_def ms" "$p_unc ms" "$((p_def - p_unc)) ms"
  awk -v a="$t_def" -v b="$p_def" 'BEGIN { printf "tsrun/podman with the default profile: %.2f\n", a / b }'
fi
echo "medians of $runs runs each, $(nproc) CPUs, $(uname -r)"
