#!/usr/bin/env bash
# 100 detached containers: time to start them, `tsrun ps` with all of them
# running (hyperfine), time to remove them; and the resident set of a
# tsrun-monitor next to podman's conmon for the same kind of container.
#
#   sudo bash bench/lifecycle.sh          BENCH_CONTAINERS=50 sudo bash bench/lifecycle.sh
#
# Targets (issue 3): ps with 100 containers under 150 ms; monitor under 1 MiB RSS.
# Everything lives under one temp dir and is removed on exit.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/.." && pwd)
count=${BENCH_CONTAINERS:-100}
die() { echo "lifecycle: $*" >&2; exit 1; }
[ "$(id -u)" = 0 ] || die "needs root"
[[ $count =~ ^[1-9][0-9]*$ ]] || die "BENCH_CONTAINERS must be a positive integer"
[ -f "$repo/dist/cli/tsrun.js" ] || die "build first: npm run build"
fixture=${BENCH_ROOTFS:-$(bash "$repo/rootfs-fixtures/busybox.sh" | tail -n1)}

tmp=$(mktemp -d /tmp/tsrun-bench-life.XXXXXX)
tsrun=(node -- "$repo/bin/tsrun" --root "$tmp/root" --runroot "$tmp/run")
podman=()
cleanup() {
  set +e
  ids=$("${tsrun[@]}" ps -aq --no-trunc 2>/dev/null)
  [ -z "$ids" ] || "${tsrun[@]}" rm -f $ids >/dev/null 2>&1
  if [ -n "${podman[*]:-}" ]; then
    "${podman[@]}" rm -af -t 0 >/dev/null 2>&1
    "${podman[@]}" system reset -f >/dev/null 2>&1
  fi
  rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

ms() { echo $(( ($(date +%s%N) - $1) / 1000000 )); }

t0=$(date +%s%N)
for ((i = 0; i < count; i++)); do
  "${tsrun[@]}" run -d --rootfs "$fixture" sleep 3600 >/dev/null
done
start_ms=$(ms "$t0")
running=$("${tsrun[@]}" ps -q | wc -l)
[ "$running" = "$count" ] || die "expected $count running containers, ps shows $running"

if command -v hyperfine >/dev/null; then
  hyperfine -N --runs 10 --warmup 1 --style basic --export-csv "$tmp/ps.csv" "${tsrun[*]} ps" >&2
  ps_ms=$(awk -F, 'NR == 2 { printf "%.1f", $2 * 1000 }' "$tmp/ps.csv")
else
  t0=$(date +%s%N); for _ in 1 2 3 4 5; do "${tsrun[@]}" ps >/dev/null; done
  ps_ms=$(( $(ms "$t0") / 5 ))
fi

# Resident set of every monitor (kB), from /proc: the pids file is "MONITOR CONTAINER".
rss=$(for f in "$tmp"/run/containers/*/pids; do
  awk '/^VmRSS/ { print $2 }' "/proc/$(cut -d' ' -f1 "$f")/status"
done | sort -n)
rss_max=$(echo "$rss" | tail -n1)
rss_med=$(echo "$rss" | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }')

t0=$(date +%s%N)
"${tsrun[@]}" rm -f $("${tsrun[@]}" ps -aq --no-trunc) >/dev/null
rm_ms=$(ms "$t0")

conmon="n/a"
if command -v podman >/dev/null && command -v conmon >/dev/null; then
  mkdir -p "$tmp/podman"
  printf '[containers]\ndefault_ulimits = ["nofile=1024:1024", "nproc=1024:1024"]\n[engine]\nruntime = "runc"\ncgroup_manager = "cgroupfs"\nevents_logger = "file"\n' >"$tmp/podman/containers.conf"
  export CONTAINERS_CONF=$tmp/podman/containers.conf
  podman=(podman --root "$tmp/podman/storage" --runroot "$tmp/podman/run" --tmpdir "$tmp/podman/tmp")
  tar -C "$fixture" -c . | "${podman[@]}" import - localhost/tsrun-bench:latest >/dev/null
  cid=$("${podman[@]}" run -d --network none localhost/tsrun-bench:latest sleep 3600)
  cpid=$(pgrep -f "conmon.*$cid" | head -n1 || true)
  [ -z "$cpid" ] || conmon=$(awk '/^VmRSS/ { print $2 }' "/proc/$cpid/status")
fi

echo "$count detached containers (sleep 3600) from $fixture"
printf '%-32s %10s\n' "start all (run -d each)" "${start_ms} ms"
printf '%-32s %10s\n' "tsrun ps, $count running" "${ps_ms} ms   (target < 150 ms)"
printf '%-32s %10s\n' "rm -f all" "${rm_ms} ms"
printf '%-32s %10s\n' "tsrun-monitor RSS median / max" "${rss_med} / ${rss_max} kB   (target < 1024 kB)"
printf '%-32s %10s\n' "podman conmon RSS" "${conmon} kB"
if [ "$conmon" != "n/a" ]; then
  awk -v a="$rss_med" -v b="$conmon" 'BEGIN { printf "ratio monitor/conmon RSS: %.2f\n", a / b }'
fi
