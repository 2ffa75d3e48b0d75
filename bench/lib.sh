# Shared by the side-by-side benchmarks (pull.sh, push.sh, build.sh,
# seccomp.sh, verbs.sh):
# sourced after each sets `name` (its prefix in messages), `repo` and `runs`.

die() { echo "$name: $*" >&2; exit 1; }

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

ms_since() { echo $(( ($(date +%s%N) - $1) / 1000000 )); }
median() { sort -n | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else print int((v[NR / 2] + v[NR / 2 + 1]) / 2) }'; }

# Podman's configuration for every benchmark: runtime runc, the ulimits this
# host allows (no CAP_SYS_RESOURCE), no network, events in a file under DIR.
podman_config() {
  cat >"$1/containers.conf" <<EOF
[containers]
default_ulimits = ["nofile=1024:1024", "nproc=1024:1024"]
netns = "none"
[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
events_logfile_path = "$1/podman-events.log"
EOF
  export CONTAINERS_CONF=$1/containers.conf
}

# Podman (cgroupfs) makes libpod_parent/conmon cgroups it never removes:
# remove the ones this run made, once they are empty.
libpod_cgroups_before=$(ls -d /sys/fs/cgroup/libpod_parent /sys/fs/cgroup/*/libpod_parent 2>/dev/null || true)
remove_libpod_cgroups() {
  [ -z "$libpod_cgroups_before" ] || return 0
  for d in /sys/fs/cgroup/libpod_parent /sys/fs/cgroup/*/libpod_parent; do
    [ -d "$d" ] || continue
    find "$d" -depth -type d -exec rmdir {} \; 2>/dev/null || true
  done
}

# The side-by-side sandbox of seccomp.sh and verbs.sh: `tmp`, a `tsrun`
# command on its own root, a `podman` one on its own storage (empty and
# have_podman=0 without podman and runc), the busybox fixture imported into
# both as localhost/bench, and everything removed on exit.
bench_sandbox() {
  local fixture=${BENCH_ROOTFS:-$(bash "$repo/rootfs-fixtures/busybox.sh" | tail -n1)}
  tmp=$(mktemp -d "/tmp/tsrun-bench-$name.XXXXXX")
  tsrun=(node -- "$repo/bin/tsrun" --root "$tmp/root" --runroot "$tmp/run")
  podman=()
  have_podman=0
  trap bench_cleanup EXIT
  trap 'exit 130' INT TERM
  tar -C "$fixture" -c . | "${tsrun[@]}" import - localhost/bench:latest >/dev/null
  if command -v podman >/dev/null && command -v runc >/dev/null; then
    have_podman=1
    mkdir -p "$tmp/podman"
    podman_config "$tmp/podman"
    podman=(podman --root "$tmp/podman/storage" --runroot "$tmp/podman/run" --tmpdir "$tmp/podman/tmp")
    tar -C "$fixture" -c . | "${podman[@]}" import - localhost/bench:latest >/dev/null
  fi
}

bench_cleanup() {
  set +e
  local ids
  ids=$("${tsrun[@]}" ps -aq --no-trunc 2>/dev/null)
  [ -z "$ids" ] || "${tsrun[@]}" rm -f $ids >/dev/null 2>&1
  [ -z "${podman[*]:-}" ] || "${podman[@]}" system reset -f >/dev/null 2>&1
  unmount_under "$tmp"
  rm -rf "$tmp"
  remove_side_effects
  remove_libpod_cgroups
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
