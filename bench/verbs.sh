#!/usr/bin/env bash
# What each verb costs, tsrun and podman (runc) side by side on the same
# image, with Node's own start-up (`node -e 0`) as the floor: medians of
# BENCH_N runs (default 20) of each command, after one warm-up.
#
#   sudo bash bench/verbs.sh           BENCH_N=40 BENCH_CONTAINERS=50 sudo bash bench/verbs.sh
#
# Targets (issue 13): --version/--help/a verb's parse-and-fail at most the
# floor + 12 ms; run --rm <= 0.8x podman; ps -a with 100 containers
# <= 1.75x podman and <= floor + 30 ms; create <= 1.5x podman; inspect,
# logs, start, stop -t 0, rm each <= floor + 30 ms beyond the kernel's work.
# (`pull` of a cached image needs a registry to ask: bench/pull.sh.)
# Everything lives under one temp dir and is removed on exit.
set -euo pipefail

name=verbs
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/.." && pwd)
runs=${BENCH_N:-20}
count=${BENCH_CONTAINERS:-100}
# shellcheck source=bench/lib.sh
. "$here/lib.sh"
preflight
[[ $count =~ ^[1-9][0-9]*$ ]] || die "BENCH_CONTAINERS must be a positive integer"
bench_sandbox

# Median of a pair of commands run in turn (the second undoes the first,
# e.g. start then stop), timing only the first.
median_pair_ms() {
  local first=$1 second=$2
  for ((i = 0; i < runs; i++)); do
    t0=$(date +%s%N)
    eval "$first" >/dev/null 2>&1 || true
    ms_since "$t0"
    eval "$second" >/dev/null 2>&1 || true
  done | median
}

floor=$(median_ms node -e 0)
rows=()
row() { rows+=("$(printf '%-34s %9s %9s %7s %11s' "$@")"); }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "-" }'; }
# verb LABEL TSRUN_MS [PODMAN_MS]
verb() {
  local p=${3:-}
  row "$1" "$2 ms" "${p:+$p ms}" "$([ -n "$p" ] && ratio "$2" "$p" || echo -)" "+$(($2 - floor)) ms"
}

T="${tsrun[*]}"
P="${podman[*]:-}"
pm() { [ "$have_podman" = 1 ] && median_ms "$@" || echo ""; }

verb "--version" "$(median_ms "${tsrun[@]}" --version)" "$(pm "${podman[@]}" --version)"
verb "--help" "$(median_ms "${tsrun[@]}" --help)"
verb "run (parse and fail)" "$(median_ms "${tsrun[@]}" run --no-such-flag)"
verb "run --rm --network none true" "$(median_ms "${tsrun[@]}" run --rm --network none localhost/bench true)" \
  "$(pm "${podman[@]}" run --rm --network none localhost/bench true)"
verb "create --network none true" "$(median_pair_ms "$T create --network none --name cc localhost/bench true" "$T rm cc")" \
  "$([ "$have_podman" = 1 ] && median_pair_ms "$P create --network none --name cc localhost/bench true" "$P rm cc")"

# One long-running container for the per-container verbs.
"${tsrun[@]}" run -d --network none --name svc localhost/bench sh -c 'echo hello; exec sleep 3600' >/dev/null
[ "$have_podman" = 1 ] && "${podman[@]}" run -d --network none --name svc localhost/bench sh -c 'echo hello; exec sleep 3600' >/dev/null
verb "exec svc true" "$(median_ms "${tsrun[@]}" exec svc true)" "$(pm "${podman[@]}" exec svc true)"
verb "inspect svc" "$(median_ms "${tsrun[@]}" inspect svc)" "$(pm "${podman[@]}" inspect svc)"
verb "logs svc" "$(median_ms "${tsrun[@]}" logs svc)" "$(pm "${podman[@]}" logs svc)"
verb "images" "$(median_ms "${tsrun[@]}" images)" "$(pm "${podman[@]}" images)"

# stop -t 0, start and rm of a sleeping container, each timed alone.
"${tsrun[@]}" create --network none --name s2 localhost/bench sleep 3600 >/dev/null
[ "$have_podman" = 1 ] && "${podman[@]}" create --network none --name s2 localhost/bench sleep 3600 >/dev/null
verb "start" "$(median_pair_ms "$T start s2" "$T stop -t 0 s2")" \
  "$([ "$have_podman" = 1 ] && median_pair_ms "$P start s2" "$P stop -t 0 s2")"
verb "stop -t 0" "$(median_pair_ms "$T stop -t 0 s2" "$T start s2")" \
  "$([ "$have_podman" = 1 ] && median_pair_ms "$P stop -t 0 s2" "$P start s2")"
"${tsrun[@]}" create --network none --name rr localhost/bench true >/dev/null
[ "$have_podman" = 1 ] && "${podman[@]}" create --network none --name rr localhost/bench true >/dev/null
verb "rm (a created container)" "$(median_pair_ms "$T rm rr" "$T create --network none --name rr localhost/bench true")" \
  "$([ "$have_podman" = 1 ] && median_pair_ms "$P rm rr" "$P create --network none --name rr localhost/bench true")"

for ((i = 0; i < count; i++)); do
  "${tsrun[@]}" run -d --network none localhost/bench sleep 3600 >/dev/null
  [ "$have_podman" = 0 ] || "${podman[@]}" run -d --network none localhost/bench sleep 3600 >/dev/null
done
verb "ps -a, $count more running" "$(median_ms "${tsrun[@]}" ps -a)" "$(pm "${podman[@]}" ps -a)"

printf '%-34s %9s %9s %7s %11s\n' verb tsrun podman ratio "vs floor"
printf '%-34s %9s\n' "node -e 0 (the floor)" "$floor ms"
printf '%s\n' "${rows[@]}"
echo "medians of $runs runs each; $(nproc) CPUs, $(uname -r), node $(node --version)$([ "$have_podman" = 1 ] && echo ", $(podman --version)")"
