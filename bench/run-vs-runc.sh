#!/usr/bin/env bash
# Start-to-exit latency of `true` in a container: tsrun against runc and
# podman (`run --rm --network none`), same rootfs, same run, N iterations each.
#
#   sudo bash bench/run-vs-runc.sh            BENCH_N=50 sudo bash bench/run-vs-runc.sh
#
# Env: BENCH_N (iterations, default 20), BENCH_ROOTFS (default: the busybox
# fixture, built if missing), BENCH_SKIP_TSRUN=1 / BENCH_SKIP_RUNC=1 /
# BENCH_SKIP_PODMAN=1.
# Everything it creates lives under one temp dir and is removed on exit.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/.." && pwd)
n=${BENCH_N:-20}

die() { echo "run-vs-runc: $*" >&2; exit 1; }
note() { echo "run-vs-runc: $*" >&2; }

[[ $n =~ ^[1-9][0-9]*$ ]] || die "BENCH_N must be a positive integer, got '$n'"
[ "$(id -u)" = 0 ] || die "needs root (both runtimes create namespaces and cgroups)"

fixture=${BENCH_ROOTFS:-}
if [ -z "$fixture" ]; then
  fixture=$(bash "$repo/rootfs-fixtures/busybox.sh" | tail -n1)
fi
[ -x "$fixture/bin/true" ] || die "$fixture has no /bin/true"

tmp=$(mktemp -d /tmp/tsrun-bench.XXXXXX)
# Container ids and cgroup names carry this prefix, so leftovers can be found.
prefix=tsrunbench-$$-
runc_state=$tmp/runc-state

bg=""
cleanup() {
  set +e
  [ -z "$bg" ] || kill -TERM "$bg" 2>/dev/null
  if [ -d "$runc_state" ]; then
    for id in $(runc --root "$runc_state" list -q 2>/dev/null); do
      runc --root "$runc_state" delete -f "$id" >/dev/null 2>&1
    done
  fi
  [ -z "$bg" ] || wait "$bg" 2>/dev/null
  if [ -n "${podman[*]:-}" ]; then
    "${podman[@]}" rm -af >/dev/null 2>&1
    "${podman[@]}" system reset -f >/dev/null 2>&1
  fi
  # runc puts a cgroup per container next to its own; a run that died
  # half-way can leave empty ones behind.
  find /sys/fs/cgroup -maxdepth 8 -depth -type d -name "${prefix}*" -exec rmdir {} + 2>/dev/null
  # Unmount before deleting: rm through a leftover bind mount would delete
  # whatever it points at.
  awk -v t="$tmp/" 'index($5, t) == 1 { print $5 }' /proc/self/mountinfo | sort -r |
    while read -r m; do umount -l "$m"; done
  rm -rf --one-file-system "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

q() { printf '%q' "$1"; }

# ---- the two commands -------------------------------------------------------

names=()
cmds=()

tsrun_js=$repo/bin/tsrun
if [ "${BENCH_SKIP_TSRUN:-0}" = 1 ]; then
  note "skipping tsrun (BENCH_SKIP_TSRUN=1)"
elif [ ! -f "$tsrun_js" ]; then
  note "skipping tsrun: $tsrun_js not built (npm run build)"
else
  mkdir -p "$tmp/tsrun-root" "$tmp/tsrun-runroot"
  # Node's bare start-up, the floor under every tsrun command.
  names+=(node-floor)
  cmds+=("node -e 0")
  names+=(tsrun)
  cmds+=("node -- $(q "$tsrun_js") --root $(q "$tmp/tsrun-root") --runroot $(q "$tmp/tsrun-runroot") run --rm --rootfs $(q "$fixture") true")
fi

if [ "${BENCH_SKIP_RUNC:-0}" = 1 ]; then
  note "skipping runc (BENCH_SKIP_RUNC=1)"
elif ! command -v runc >/dev/null; then
  note "skipping runc: not installed (apt-get install -y runc)"
else
  bundle=$tmp/bundle
  mkdir -p "$bundle" "$runc_state"
  # A copy, not a bind mount: nothing runc does to its rootfs can reach the
  # fixture, and cleanup is a plain rm.
  cp -a "$fixture" "$bundle/rootfs"
  runc spec --bundle "$bundle"
  node -e '
    const fs = require("fs"), f = process.argv[1], c = JSON.parse(fs.readFileSync(f, "utf8"));
    c.process.args = ["true"];
    c.process.terminal = false;
    fs.writeFileSync(f, JSON.stringify(c, null, 2));
  ' "$bundle/config.json"
  names+=(runc)
  # $$ is expanded by the shell that runs each iteration, so every run gets
  # its own container id (runc run deletes the container when it exits).
  cmds+=("runc --root $(q "$runc_state") run --bundle $(q "$bundle") ${prefix}\$\$")
fi

podman=()
if [ "${BENCH_SKIP_PODMAN:-0}" = 1 ]; then
  note "skipping podman (BENCH_SKIP_PODMAN=1)"
elif ! command -v podman >/dev/null; then
  note "skipping podman: not installed (apt-get install -y podman)"
else
  # Its own storage and config in the temp dir: the host's podman state is
  # never touched. runc as its runtime and modest ulimits suit this host.
  mkdir -p "$tmp/podman"
  cat >"$tmp/podman/containers.conf" <<CONF
[containers]
default_ulimits = ["nofile=1024:1024", "nproc=1024:1024"]
[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
CONF
  export CONTAINERS_CONF=$tmp/podman/containers.conf
  podman=(podman --root "$tmp/podman/storage" --runroot "$tmp/podman/run" --tmpdir "$tmp/podman/tmp")
  tar -C "$fixture" -c . | "${podman[@]}" import - localhost/tsrun-bench:latest >/dev/null
  names+=(podman)
  cmds+=("CONTAINERS_CONF=$(q "$CONTAINERS_CONF") ${podman[*]} run --rm --network none localhost/tsrun-bench:latest true")
fi

[ ${#cmds[@]} -gt 0 ] || die "nothing to measure"

# ---- measure ----------------------------------------------------------------

results=$tmp/results   # lines: name mean_ms median_ms

if command -v hyperfine >/dev/null; then
  method=hyperfine
  args=()
  for i in "${!cmds[@]}"; do args+=(-n "${names[$i]}" "${cmds[$i]}"); done
  hyperfine --runs "$n" --warmup 1 --style basic --export-csv "$tmp/h.csv" "${args[@]}" >&2
  # CSV columns: command,mean,stddev,median,user,system,min,max (seconds)
  awk -F, 'NR > 1 { printf "%s %.3f %.3f\n", $1, $2 * 1000, $4 * 1000 }' "$tmp/h.csv" >"$results"
else
  method="bash loop (install hyperfine for better numbers)"
  # In the background plus `wait`, because a foreground runc catches Ctrl-C
  # itself and bash then drops its own INT trap; `wait` is interrupted
  # instead, and cleanup stops the runtime.
  run_once() {
    sh -c "$1" >"$tmp/last.log" 2>&1 &
    bg=$!
    wait "$bg" || { cat "$tmp/last.log" >&2; die "failed: $1"; }
    bg=""
  }
  for i in "${!cmds[@]}"; do run_once "${cmds[$i]}"; done   # warm-up, untimed
  # Alternate the runtimes inside each iteration so drift in machine load
  # lands on both equally.
  for ((k = 0; k < n; k++)); do
    for i in "${!cmds[@]}"; do
      t0=$(date +%s%N)
      run_once "${cmds[$i]}"
      t1=$(date +%s%N)
      echo $(( t1 - t0 )) >>"$tmp/${names[$i]}.ns"
    done
  done
  for name in "${names[@]}"; do
    sort -n "$tmp/$name.ns" | awk -v name="$name" '
      { v[NR] = $1; sum += $1 }
      END {
        med = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
        printf "%s %.3f %.3f\n", name, sum / NR / 1e6, med / 1e6
      }'
  done >"$results"
fi

# ---- report -----------------------------------------------------------------

echo "true in $fixture, $n runs each, measured with $method"
awk '
  BEGIN { printf "%-10s %12s %12s\n", "", "mean ms", "median ms" }
  { printf "%-10s %12.1f %12.1f\n", $1, $2, $3; mean[$1] = $2; med[$1] = $3 }
  END {
    if (("tsrun" in mean) && ("runc" in mean) && mean["runc"] > 0 && med["runc"] > 0)
      printf "ratio tsrun/runc: %.2f (mean), %.2f (median)\n", mean["tsrun"] / mean["runc"], med["tsrun"] / med["runc"]
    if (("tsrun" in mean) && ("podman" in mean) && mean["podman"] > 0 && med["podman"] > 0)
      printf "ratio tsrun/podman: %.2f (mean), %.2f (median); target <= 0.5\n", mean["tsrun"] / mean["podman"], med["tsrun"] / med["podman"]
    if (("node-floor" in mean) && ("runc" in mean) && mean["runc"] > 0)
      printf "ratio node-floor/runc: %.2f (mean): Node start-up alone\n", mean["node-floor"] / mean["runc"]
  }' "$results"
