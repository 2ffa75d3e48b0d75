#!/usr/bin/env bash
# What bridge networking costs, on this machine only (loopback and the
# containers this script makes; nothing leaves the host).
#
# 1. Start-to-exit latency of `run --rm IMAGE true` on the default bridge
#    network against `--network none`: tsrun (its default network, a veth
#    into a bridge of its own, a lease and NAT rules at start, all released
#    at exit), and podman (its default network, CNI or netavark, whichever
#    this podman uses) when installed. Medians, and the ratios tsrun
#    bridge/none, podman bridge/none, tsrun-bridge/podman-bridge.
# 2. TCP throughput into a container: a busybox sink (`nc -ll -e` running
#    `cat > /dev/null` per connection) published with -p 127.0.0.1:PORT:5001
#    (tsrun publishes by nft DNAT, no userland proxy) against the same sink
#    reached directly at its bridge address (inspect's
#    .NetworkSettings.IPAddress). The sender is bench/network-throughput.mjs
#    on the host: BENCH_MIB MiB of zeros as fast as the socket takes them,
#    timed from connect until the sink has read it all and closed.
#
#   sudo bash bench/network.sh            BENCH_N=50 BENCH_MIB=1024 sudo bash bench/network.sh
#
# Env: BENCH_N (latency iterations per command, default 20), BENCH_MIB (MiB
# per send, default 512), BENCH_TCP_RUNS (sends per path, default 7),
# BENCH_ROOTFS (default: the busybox fixture, built if missing),
# BENCH_SKIP_PODMAN=1, BENCH_SKIP_TCP=1.
# With hyperfine installed it does the latency measuring; otherwise a bash
# loop with `date +%s%N`, alternating the commands so load drift hits all
# alike. One untimed warm-up per command and per TCP path.
#
# tsrun runs with a throwaway --root/--runroot under one temp dir, podman
# with its own --root/--runroot/--tmpdir and containers.conf there (runc,
# modest ulimits, cgroupfs, file events, its network config dir, and a
# default subnet that overlaps nothing on the host). On exit (Ctrl-C
# included) everything is removed: tsrun's containers, then its networks
# (`network rm`, the default one too: bridge devices and nft rules are
# host-wide), podman's storage, what podman's CNI leaves on the host when
# this run created it (cni-podman0, the CNI-FORWARD/CNI-ADMIN iptables chains
# and their tables, /var/lib/cni), stray mounts and the temp dir; then the
# host is checked for leftovers of this run.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/.." && pwd)
n=${BENCH_N:-20}
mib=${BENCH_MIB:-512}
tcp_runs=${BENCH_TCP_RUNS:-7}
name=network
runs=$n
# shellcheck source=bench/lib.sh
source "$here/lib.sh"   # die, note, podman_config, cni_cleanup, unmount_under, ...

[[ $n =~ ^[1-9][0-9]*$ ]] || die "BENCH_N must be a positive integer, got '$n'"
[[ $mib =~ ^[1-9][0-9]*$ ]] || die "BENCH_MIB must be a positive integer, got '$mib'"
[[ $tcp_runs =~ ^[1-9][0-9]*$ ]] || die "BENCH_TCP_RUNS must be a positive integer, got '$tcp_runs'"
[ "$(id -u)" = 0 ] || die "needs root (bridges, veths, nft rules, namespaces)"
tsrun_js=$repo/bin/tsrun
[ -f "$tsrun_js" ] || die "build first: npm run build"
for t in node tar ip nft; do command -v "$t" >/dev/null || die "$t is missing"; done

fixture=${BENCH_ROOTFS:-}
[ -n "$fixture" ] || fixture=$(bash "$repo/rootfs-fixtures/busybox.sh" | tail -n1)
for b in true nc sh cat; do [ -x "$fixture/bin/$b" ] || die "$fixture has no /bin/$b"; done

# ---- host state before, so cleanup removes only what this run made -----------
# (lib.sh notes the paths podman creates and its libpod cgroups; podman_config
# what CNI leaves.)
links_before=$(ip -br link | awk '{ sub(/@.*/, "", $1); print $1 }' | sort)

tmp=$(mktemp -d /tmp/tsrun-bench-net.XXXXXX)
root=$tmp/tsrun-root
runroot=$tmp/tsrun-run
tsrun=(node -- "$tsrun_js" --root "$root" --runroot "$runroot")
image=bench/busybox:1
pimage=localhost/bench/busybox:1
sink=tsrunbench-sink-$$
sink_id=""
bridge=""   # the throwaway root's default bridge device, once it exists
podman=()
bg=""

cleanup() {
  set +e
  [ -z "$bg" ] || { kill -TERM "$bg" 2>/dev/null; wait "$bg" 2>/dev/null; }
  if [ -d "$root" ]; then
    ids=$("${tsrun[@]}" ps -a -q 2>/dev/null)
    [ -z "$ids" ] || "${tsrun[@]}" rm -f $ids >/dev/null
    nets=$(ls "$root/networks" 2>/dev/null | grep -v '\.lock$')
    [ -z "$nets" ] || "${tsrun[@]}" network rm -f $nets >/dev/null || note "cleanup: removing $root's networks failed"
  fi
  local pids=""
  if [ ${#podman[@]} -gt 0 ]; then
    pids=$("${podman[@]}" ps -aq --no-trunc 2>/dev/null)
    "${podman[@]}" rm -af >/dev/null 2>&1
    "${podman[@]}" system reset -f >/dev/null 2>&1
    cni_cleanup
  fi
  remove_tree "$tmp"
  remove_side_effects
  remove_libpod_cgroups $pids
  # What this run may have left on the host: our bridge, nft rules naming it
  # or the sink, veths that are new and hang on no bridge or on ours (other
  # tenants' links come and go meanwhile; those are theirs), cni-podman0.
  local left=() l
  if [ -n "$bridge" ]; then
    ip link show "$bridge" >/dev/null 2>&1 && left+=("bridge $bridge")
    nft list ruleset 2>/dev/null | grep -q "$bridge" && left+=("nft rules for $bridge")
  fi
  [ -z "$sink_id" ] || ! nft list ruleset 2>/dev/null | grep -q "ctr $sink_id" || left+=("nft port rules of $sink")
  for l in $(comm -13 <(echo "$links_before") <(ip -br link | awk '{ sub(/@.*/, "", $1); print $1 }' | sort)); do
    case $l in
      veth*)
        local master
        master=$(ip -o link show "$l" 2>/dev/null | sed -n 's/.* master \([^ ]*\) .*/\1/p')
        [ -n "$master" ] && [ "$master" != "$bridge" ] || left+=("link $l${master:+ on $master}")
        ;;
      cni-podman0) left+=("link $l") ;;
    esac
  done
  if [ ${#left[@]} -gt 0 ]; then
    note "cleanup: left behind: ${left[*]}"
  else
    note "cleanup: nothing of this run is left (${bridge:-no bridge} gone, no nft rules for it, no new veth of ours)"
  fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

q() { printf '%q' "$1"; }
median_g() { sort -g | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

# ---- images -------------------------------------------------------------------

mkdir -p "$root" "$runroot"
tar -C "$fixture" -c . | "${tsrun[@]}" import -c 'EXPOSE 80' - "$image" >/dev/null

if [ "${BENCH_SKIP_PODMAN:-0}" = 1 ]; then
  note "skipping podman (BENCH_SKIP_PODMAN=1)"
elif ! command -v podman >/dev/null; then
  note "skipping podman: not installed (apt-get install -y podman)"
else
  # Runc, modest ulimits, cgroupfs, file events, its network config dir
  # and a default subnet that overlaps nothing (lib.sh).
  mkdir -p "$tmp/podman/tmp"
  podman_config "$tmp/podman" network || die "cannot configure podman's default network"
  psubnet=$podman_subnet
  podman=(podman --root "$tmp/podman/storage" --runroot "$tmp/podman/run" --tmpdir "$tmp/podman/tmp")
  tar -C "$fixture" -c . | "${podman[@]}" import - "$pimage" >/dev/null 2>"$tmp/podman/import.log" ||
    die "podman import failed: $(cat "$tmp/podman/import.log")"
  podman_net=$("${podman[@]}" info --format '{{.Host.NetworkBackend}}' 2>/dev/null || echo '?')
fi

# ---- 1. latency: bridge against none ------------------------------------------

names=()
cmds=()
ts_cmd="node -- $(q "$tsrun_js") --root $(q "$root") --runroot $(q "$runroot") run --rm"
names+=(tsrun-bridge); cmds+=("$ts_cmd $image true")
names+=(tsrun-none);   cmds+=("$ts_cmd --network none $image true")
# Each command once, untimed: warms caches and creates tsrun's default
# network (and podman's bridge), which the timed runs then reuse.
"${tsrun[@]}" run --rm "$image" true >/dev/null 2>"$tmp/warm.log" || die "tsrun run on the bridge failed: $(cat "$tmp/warm.log")"
bridge=$("${tsrun[@]}" network inspect bridge | node -e '
  const j = JSON.parse(require("fs").readFileSync(0, "utf8")); const n = Array.isArray(j) ? j[0] : j;
  console.log(n.Options["com.docker.network.bridge.name"], n.IPAM?.Config?.[0]?.Subnet ?? n.Subnet ?? "")')
read -r bridge tsubnet <<<"$bridge"
if [ ${#podman[@]} -gt 0 ]; then
  pm_cmd="CONTAINERS_CONF=$(q "$CONTAINERS_CONF") ${podman[*]} run --rm"
  if "${podman[@]}" run --rm "$pimage" true >/dev/null 2>"$tmp/podman/warm.log"; then
    names+=(podman-bridge); cmds+=("$pm_cmd $pimage true")
  else
    note "skipping podman's default network ($podman_net): $(head -c 600 "$tmp/podman/warm.log")"
  fi
  names+=(podman-none); cmds+=("$pm_cmd --network none $pimage true")
fi

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
  # In the background plus `wait`, so Ctrl-C reaches our trap.
  run_once() {
    sh -c "$1" >"$tmp/last.log" 2>&1 &
    bg=$!
    wait "$bg" || { bg=""; cat "$tmp/last.log" >&2; die "failed: $1"; }
    bg=""
  }
  for i in "${!cmds[@]}"; do run_once "${cmds[$i]}"; done   # warm-up, untimed
  for ((k = 0; k < n; k++)); do
    for i in "${!cmds[@]}"; do
      t0=$(date +%s%N)
      run_once "${cmds[$i]}"
      t1=$(date +%s%N)
      echo $(( t1 - t0 )) >>"$tmp/${names[$i]}.ns"
    done
  done
  for nm in "${names[@]}"; do
    sort -n "$tmp/$nm.ns" | awk -v name="$nm" '
      { v[NR] = $1; sum += $1 }
      END {
        med = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
        printf "%s %.3f %.3f\n", name, sum / NR / 1e6, med / 1e6
      }'
  done >"$results"
fi

# ---- 2. TCP throughput: published port against the container's address --------

tcp_report=""
if [ "${BENCH_SKIP_TCP:-0}" = 1 ]; then
  note "skipping TCP throughput (BENCH_SKIP_TCP=1)"
else
  port=$(node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})')
  # -ll: persistent listener, a fresh `cat` per connection, so the sink
  # closes exactly when the sender's data has all been read.
  sink_id=$("${tsrun[@]}" run -d --name "$sink" -p "127.0.0.1:$port:5001" "$image" \
    nc -ll -p 5001 -e sh -c 'cat > /dev/null')
  cip=$("${tsrun[@]}" inspect "$sink" | node -e '
    const j = JSON.parse(require("fs").readFileSync(0, "utf8"));
    console.log((Array.isArray(j) ? j[0] : j).NetworkSettings.IPAddress)')
  [ -n "$cip" ] || die "the sink has no address"
  send() { node "$here/network-throughput.mjs" "$@"; }
  send 127.0.0.1 "$port" 64 >/dev/null || die "no connection to the sink through 127.0.0.1:$port"
  send "$cip" 5001 64 >/dev/null || die "no connection to the sink at $cip:5001"
  : >"$tmp/tcp-published"; : >"$tmp/tcp-direct"
  for ((k = 0; k < tcp_runs; k++)); do
    send 127.0.0.1 "$port" "$mib" | awk '{ print $1 }' >>"$tmp/tcp-published"
    send "$cip" 5001 "$mib" | awk '{ print $1 }' >>"$tmp/tcp-direct"
  done
  "${tsrun[@]}" rm -f "$sink" >/dev/null
  tcp_report=1
fi

# ---- report ---------------------------------------------------------------------

echo
echo "run --rm IMAGE true, default network against --network none; $n runs each, measured with $method"
echo "  tsrun: throwaway root, default network 'bridge' = $bridge ($tsubnet)"
[ ${#podman[@]} -eq 0 ] || echo "  podman $(podman --version | awk '{ print $3 }'): network backend $podman_net, default network subnet $psubnet"
awk '
  BEGIN { printf "%-14s %10s %10s\n", "", "mean ms", "median ms" }
  { printf "%-14s %10.1f %10.1f\n", $1, $2, $3; med[$1] = $3 }
  function ratio(label, a, b) {
    if ((a in med) && (b in med) && med[b] > 0)
      printf "%-34s %.2f   (%+.1f ms)\n", label, med[a] / med[b], med[a] - med[b]
  }
  END {
    print "median ratios (difference):"
    ratio("  tsrun bridge/none", "tsrun-bridge", "tsrun-none")
    ratio("  podman bridge/none", "podman-bridge", "podman-none")
    ratio("  tsrun-bridge/podman-bridge", "tsrun-bridge", "podman-bridge")
    ratio("  tsrun-none/podman-none", "tsrun-none", "podman-none")
  }' "$results"

if [ -n "$tcp_report" ]; then
  echo
  echo "TCP, $mib MiB of zeros from the host into busybox 'cat > /dev/null' in a tsrun container; $tcp_runs sends each, alternating (MiB/s)"
  row() { printf '%-40s %8s %8s %8s  %s\n' "$@"; }
  row "" median min max runs
  for k in published direct; do
    f=$tmp/tcp-$k
    case $k in
      published) label="published 127.0.0.1:$port -> 5001" ;;
      direct) label="direct $cip:5001 (via $bridge)" ;;
    esac
    row "$label" "$(median_g <"$f")" "$(sort -g "$f" | head -n1)" "$(sort -g "$f" | tail -n1)" "$(tr '\n' ' ' <"$f")"
  done
  echo "published/direct: $(awk -v a="$(median_g <"$tmp/tcp-published")" -v b="$(median_g <"$tmp/tcp-direct")" 'BEGIN { printf "%.2f", a / b }')"
fi
