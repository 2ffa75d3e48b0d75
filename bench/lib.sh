# Shared by the side-by-side benchmarks (pull.sh, push.sh, build.sh,
# seccomp.sh, verbs.sh, network.sh):
# sourced after each sets `name` (its prefix in messages), `repo` and `runs`.

die() { echo "$name: $*" >&2; exit 1; }
note() { echo "$name: $*" >&2; }

# Root, a positive BENCH_N and a built dist/, or a clear message.
preflight() {
  [ "$(id -u)" = 0 ] || die "needs root"
  [[ $runs =~ ^[1-9][0-9]*$ ]] || die "BENCH_N must be a positive integer"
  [ -f "$repo/dist/cli/tsrun.js" ] || die "build first: npm run build"
}

# Host paths podman/skopeo create as root whatever we say: remember which
# were there, so remove_side_effects takes only what this run created.
side_effects=(/var/lib/containers /run/containers)
preexisting=()
for p in "${side_effects[@]}"; do [ -e "$p" ] && preexisting+=("$p"); done
remove_side_effects() {
  for p in "${side_effects[@]}"; do
    [[ " ${preexisting[*]:-} " == *" $p "* ]] || rm -rf "$p"
  done
}

# Unmounts everything at or below $1, deepest first (podman's overlay driver
# leaves its storage dir bind-mounted).
unmount_under() {
  awk -v p="$1/" 'index($5, p) == 1 || $5 == substr(p, 1, length(p) - 1) { print $5 }' /proc/self/mountinfo |
    sort -r | while read -r m; do umount -l "$m" 2>/dev/null || true; done
}

# remove_tree DIR: unmounts and removes DIR. Podman's conmon runs `podman
# container cleanup` after its container is gone, and that mounts podman's
# storage again, so first wait (30 s at most) until no process names DIR.
remove_tree() {
  local k
  for ((k = 0; k < 300; k++)); do pgrep -f -- "$1/" >/dev/null || break; sleep 0.1; done
  for k in 1 2 3; do
    unmount_under "$1"
    rm -rf --one-file-system "$1" 2>/dev/null && return 0
    sleep 1
  done
  rm -rf --one-file-system "$1"
}

ms_since() { echo $(( ($(date +%s%N) - $1) / 1000000 )); }
median() { sort -n | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else print int((v[NR / 2] + v[NR / 2 + 1]) / 2) }'; }

free_port() { node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'; }

# free_subnet FROM TO [CIDR...]: the first 10.B.0.0/24, B from FROM to TO,
# that overlaps no route or address on the host nor any CIDR given; fails
# when there is none.
free_subnet() {
  node -e '
    const { execFileSync } = require("child_process");
    const [from, to, ...taken] = process.argv.slice(1);
    const j = (a) => JSON.parse(execFileSync("ip", ["-j", "-4", ...a], { encoding: "utf8" }) || "[]");
    const used = [...taken];
    for (const r of j(["route", "show", "table", "all"])) if (r.dst && r.dst !== "default") used.push(r.dst.includes("/") ? r.dst : r.dst + "/32");
    for (const l of j(["addr"])) for (const a of l.addr_info || []) used.push(a.local + "/" + a.prefixlen);
    const num = (s) => s.split(".").reduce((v, o) => v * 256 + Number(o), 0);
    const overlap = (x, y) => {
      const [ax, lx] = x.split("/"), [ay, ly] = y.split("/"), l = Math.min(+lx, +ly);
      return Math.floor(num(ax) / 2 ** (32 - l)) === Math.floor(num(ay) / 2 ** (32 - l));
    };
    for (let b = +from; b <= +to; b++) {
      const c = `10.${b}.0.0/24`;
      if (!used.some((u) => overlap(c, u))) { console.log(c); process.exit(0); }
    }
    process.exit(1);
  ' "$@"
}

# start_registry DIR [PORT]: Debian's docker-registry on 127.0.0.1:PORT (a
# free port by default), storage and log under DIR; prints "PID PORT" once
# it answers. Fails with the reason on stderr (nothing left running).
# Called in a command substitution, so the registry is not the caller's
# child: stop it with stop_registry.
start_registry() {
  local dir=$1 port=${2:-} pid i t
  for t in docker-registry curl; do command -v "$t" >/dev/null || { echo "$t is not installed" >&2; return 1; }; done
  [ -n "$port" ] || port=$(free_port) || return 1
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
  docker-registry serve "$dir/config.yml" >"$dir/log" 2>&1 </dev/null &
  pid=$!
  for ((i = 0; ; i++)); do
    curl -fs --noproxy '*' "http://127.0.0.1:$port/v2/" >/dev/null && break
    if ! kill -0 "$pid" 2>/dev/null; then
      echo "docker-registry exited: $(head -c 600 "$dir/log")" >&2
      return 1
    fi
    if ((i >= 300)); then
      stop_registry "$pid"
      echo "docker-registry did not answer on 127.0.0.1:$port within 15 s" >&2
      return 1
    fi
    sleep 0.05
  done
  echo "$pid $port"
}
# stop_registry PID: TERM, then wait until it is gone (polling: it may not
# be our child), KILL after 5 s.
stop_registry() {
  local pid=$1 i
  [ -n "$pid" ] || return 0
  kill "$pid" 2>/dev/null || return 0
  for ((i = 0; i < 100; i++)); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.05; done
  kill -9 "$pid" 2>/dev/null || true
}

# podman_config DIR [network [CIDR...]]: Podman's configuration for every benchmark:
# runtime runc, the ulimits this host allows (no CAP_SYS_RESOURCE), events
# in a file under DIR, cgroupfs. Without `network`, no network; with it,
# podman's default network (CNI or netavark) with its config dir under DIR
# and a default subnet that overlaps nothing on the host (its built-in
# 10.88.0.0/16 is tsrun0's) nor the 10.88-10.127 tsrun picks from nor the
# CIDRs given, kept in
# `podman_subnet`; what CNI leaves on the host is noted first for
# cni_cleanup. Returns 1 (with the reason) when no subnet is free.
podman_config() {
  local dir=$1 net=${2:-} netns='netns = "none"' section=""
  if [ "$net" = network ]; then
    podman_subnet=$(free_subnet 200 254 "${@:3}") || { echo "no free /24 in 10.200-10.254 for podman's default network" >&2; return 1; }
    cni_snapshot
    netns=""
    section="[network]
network_config_dir = \"$dir/networks\"
default_subnet = \"$podman_subnet\""
  fi
  cat >"$dir/containers.conf" <<EOF
[containers]
default_ulimits = ["nofile=1024:1024", "nproc=1024:1024"]
$netns
[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
events_logfile_path = "$dir/podman-events.log"
$section
EOF
  export CONTAINERS_CONF=$dir/containers.conf
}

# What podman's CNI leaves on the host (cni-podman0, the firewall plugin's
# CNI-FORWARD/CNI-ADMIN chains, the ip filter/nat tables, /var/lib/cni):
# cni_snapshot notes what is there before podman first runs on a network,
# cni_cleanup removes only what was not.
cni_snapshotted=0
cni_snapshot() {
  [ "$cni_snapshotted" = 0 ] || return 0
  cni_snapshotted=1
  had_cni_bridge=0
  ip link show cni-podman0 >/dev/null 2>&1 && had_cni_bridge=1
  declare -gA had_table=()
  local t
  for t in filter nat; do nft list table ip "$t" >/dev/null 2>&1 && had_table[$t]=1; done
  had_cni_chains=0
  nft list chain ip filter CNI-FORWARD >/dev/null 2>&1 && had_cni_chains=1
  side_effects+=(/var/lib/cni)
  [ -e /var/lib/cni ] && preexisting+=(/var/lib/cni)
  return 0
}
cni_cleanup() {
  [ "$cni_snapshotted" = 1 ] || return 0
  local t c
  if [ "$had_cni_chains" = 0 ] && nft list chain ip filter CNI-FORWARD >/dev/null 2>&1; then
    while iptables -D FORWARD -m comment --comment "CNI firewall plugin rules" -j CNI-FORWARD 2>/dev/null; do :; done
    for c in CNI-FORWARD CNI-ADMIN; do iptables -F "$c" 2>/dev/null; iptables -X "$c" 2>/dev/null; done
  fi
  for t in filter nat; do
    [ -z "${had_table[$t]:-}" ] || continue
    nft list table ip "$t" >/dev/null 2>&1 || continue
    if iptables-save -t "$t" 2>/dev/null | grep -e '^-A' | grep -qv 'CNI'; then
      note "cleanup: table ip $t has rules that are not CNI's, left alone"
    else
      nft delete table ip "$t"
    fi
  done
  if [ "$had_cni_bridge" = 0 ] && ip link show cni-podman0 >/dev/null 2>&1; then ip link del cni-podman0; fi
  return 0
}

# Podman (cgroupfs) makes libpod_parent and libpod_parent/conmon cgroups (in
# every hierarchy) it never removes, and a container's libpod-ID ones when
# runc cannot remove them: remove_libpod_cgroups [ID...] removes, once
# empty, the ones this run made (those there before are someone else's),
# and those of the given container ids.
libpod_cgroups_before=$(ls -d /sys/fs/cgroup/libpod_parent /sys/fs/cgroup/*/libpod_parent \
  /sys/fs/cgroup/libpod_parent/conmon /sys/fs/cgroup/*/libpod_parent/conmon 2>/dev/null || true)
remove_libpod_cgroups() {
  local d id
  for d in /sys/fs/cgroup/libpod_parent /sys/fs/cgroup/*/libpod_parent; do
    [ -d "$d" ] || continue
    for id in "$@"; do [ ! -d "$d/libpod-$id" ] || rmdir "$d/libpod-$id" 2>/dev/null; done
    if ! grep -qxF "$d" <<<"$libpod_cgroups_before"; then
      find "$d" -depth -type d -exec rmdir {} \; 2>/dev/null
    elif ! grep -qxF "$d/conmon" <<<"$libpod_cgroups_before"; then
      [ ! -d "$d/conmon" ] || rmdir "$d/conmon" 2>/dev/null
    fi
  done
  return 0
}

# The side-by-side sandbox of seccomp.sh and verbs.sh: `tmp`, a `tsrun`
# command on its own root, a `podman` one on its own storage (empty and
# have_podman=0 without podman and runc, or with BENCH_SKIP_PODMAN=1), the
# busybox fixture imported into both as localhost/bench, and everything
# removed on exit (Ctrl-C too).
# `bench_sandbox network` readies both for their default bridge networks
# too: tsrun_subnet, a free /24 for tsrun's default network (pass it as
# --default-subnet), and podman on its default network with podman_subnet;
# either is empty when there is none, with the reason in `sandbox_notes`.
bench_sandbox() {
  local fixture=${BENCH_ROOTFS:-$(bash "$repo/rootfs-fixtures/busybox.sh" | tail -n1)}
  tmp=$(mktemp -d "/tmp/tsrun-bench-$name.XXXXXX")
  tsrun=(node -- "$repo/bin/tsrun" --root "$tmp/root" --runroot "$tmp/run")
  podman=()
  have_podman=0
  tsrun_subnet=""
  podman_subnet=""
  sandbox_notes=()
  trap bench_cleanup EXIT
  trap 'exit 130' INT TERM
  tar -C "$fixture" -c . | "${tsrun[@]}" import - localhost/bench:latest >/dev/null
  sandbox_bridge=""
  if [ "${1:-}" = network ]; then
    tsrun_subnet=$(free_subnet 160 199) || { tsrun_subnet=""; sandbox_notes+=("no free /24 in 10.160-10.199 for tsrun's default network"); }
    # The default network's bridge of a root other than /var/lib/tsrun (src/network/config.ts defaultBridgeFor).
    sandbox_bridge=tsr$(printf %s "$tmp/root" | sha256sum | cut -c1-8)0
  fi
  if [ "${BENCH_SKIP_PODMAN:-0}" = 1 ]; then
    sandbox_notes+=("podman skipped (BENCH_SKIP_PODMAN=1)")
  elif ! command -v podman >/dev/null || ! command -v runc >/dev/null; then
    sandbox_notes+=("podman or runc is not installed (apt-get install -y podman runc)")
  else
    have_podman=1
    mkdir -p "$tmp/podman"
    if [ "${1:-}" = network ]; then
      podman_config "$tmp/podman" network $tsrun_subnet 2>"$tmp/podman/config.err" ||
        { sandbox_notes+=("$(cat "$tmp/podman/config.err")"); podman_config "$tmp/podman"; }
    else
      podman_config "$tmp/podman"
    fi
    podman=(podman --root "$tmp/podman/storage" --runroot "$tmp/podman/run" --tmpdir "$tmp/podman/tmp")
    tar -C "$fixture" -c . | "${podman[@]}" import - localhost/bench:latest >/dev/null 2>"$tmp/podman/import.err" ||
      { have_podman=0; sandbox_notes+=("podman import failed: $(head -c 300 "$tmp/podman/import.err")"); }
  fi
}

bench_cleanup() {
  set +e
  local ids nets id k pids="" left=()
  # Our children still running (an interrupted timed command, containers
  # being started) end first, so what they make is removed too: 10 s, then TERM.
  for ((k = 0; k < 100; k++)); do [ -n "$(jobs -pr)" ] || break; sleep 0.1; done
  [ -z "$(jobs -pr)" ] || kill $(jobs -pr) 2>/dev/null
  wait
  stop_registry "${reg_pid:-}"
  ids=$("${tsrun[@]}" ps -aq --no-trunc 2>/dev/null)
  [ -z "$ids" ] || "${tsrun[@]}" rm -f $ids >/dev/null 2>&1
  # Bridge networks (the default one too): their devices and nft rules are host-wide.
  nets=$(ls "$tmp/root/networks" 2>/dev/null | grep -v '\.lock$')
  [ -z "$nets" ] || "${tsrun[@]}" network rm -f $nets >/dev/null 2>&1 || note "cleanup: removing the networks of $tmp/root failed"
  if [ -n "${podman[*]:-}" ]; then
    pids=$("${podman[@]}" ps -aq --no-trunc 2>/dev/null)
    [ -z "$pids" ] || "${podman[@]}" rm -af -t 0 >/dev/null 2>&1
    "${podman[@]}" system reset -f >/dev/null 2>&1
    cni_cleanup
  fi
  remove_tree "$tmp"
  remove_side_effects
  remove_libpod_cgroups $pids
  # What would outlive this run on the host, said if there is any.
  for id in $ids; do
    ! ls -d /sys/fs/cgroup/*/tsrun*/"$id" /sys/fs/cgroup/tsrun*/"$id" >/dev/null 2>&1 || left+=("cgroups of $id")
  done
  [ ! -e "$tmp" ] || left+=("$tmp")
  ! grep -qF " $tmp/" /proc/self/mountinfo || left+=("mounts under $tmp")
  if [ -n "${sandbox_bridge:-}" ]; then
    ! ip link show "$sandbox_bridge" >/dev/null 2>&1 || left+=("bridge $sandbox_bridge")
    ! nft list ruleset 2>/dev/null | grep -qF "$sandbox_bridge" || left+=("nft rules naming $sandbox_bridge")
  fi
  [ ${#left[@]} -eq 0 ] || note "cleanup: left behind: ${left[*]}"
}

# Median wall time (ms) of $runs runs of "$@" after one warm-up; the exit
# code is ignored (a parse-and-fail run fails on purpose).
median_ms() {
  "$@" >/dev/null 2>&1 || true
  for ((i = 0; i < runs; i++)); do
    t0=$(date +%s%N)
    "$@" >/dev/null 2>&1 || true
    ms_since "$t0"
  done | median
}
