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
bench_sandbox

# Both must work before they are timed.
"${tsrun[@]}" run --rm --network none localhost/bench true || die "tsrun cannot run the image"

row() { printf '%-8s %10s %12s %8s\n' "$@"; }
row runtime default unconfined delta
t_def=$(median_ms "${tsrun[@]}" run --rm --network none localhost/bench true)
t_unc=$(median_ms "${tsrun[@]}" run --rm --network none --security-opt seccomp=unconfined localhost/bench true)
row tsrun "$t_def ms" "$t_unc ms" "$((t_def - t_unc)) ms"
if [ "$have_podman" = 1 ]; then
  p_def=$(median_ms "${podman[@]}" run --rm --network none localhost/bench true)
  p_unc=$(median_ms "${podman[@]}" run --rm --network none --security-opt seccomp=unconfined localhost/bench true)
  row podman "$p_def ms" "$p_unc ms" "$((p_def - p_unc)) ms"
  awk -v a="$t_def" -v b="$p_def" 'BEGIN { printf "tsrun/podman with the default profile: %.2f\n", a / b }'
fi
echo "medians of $runs runs each, $(nproc) CPUs, $(uname -r)"
