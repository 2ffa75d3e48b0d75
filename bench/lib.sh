# Shared by the side-by-side benchmarks (pull.sh, push.sh, build.sh):
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
