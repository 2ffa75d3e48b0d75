#!/bin/busybox sh
# Stage 2 of the VM tier: PID 1 after switch_root, on the overlay of the
# host's root. Mounts what a systemd-less cgroup v2 host has, runs the
# driver's command script from the results share under a watchdog, records
# its exit status there, and powers the VM off. It runs in the host's static
# busybox sh, whose applets need no exec: each dynamic binary started over
# 9p under TCG costs a fraction of a second (this halved the boot).
#
# Results share (9p tag "results", mounted at /run/tsrun-vm) as written here:
#   booted     guest uptime (s) when the command started
#   output.log the command's stdout+stderr (also on the console)
#   status     its exit status (124: the guest watchdog fired)
#   finished   guest uptime (s) when it ended
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export HOME=/root LANG=C.UTF-8
umask 022

say() { echo "tsrun-vm: $*"; }
off() {
  sync
  echo o >/proc/sysrq-trigger
  sleep 10
  busybox poweroff -f
}
fail() {
  say "FAILED: $*"
  off
}

guest_timeout=1380
for arg in $(cat /proc/cmdline); do
  case $arg in
    tsrun_guest_timeout=*) guest_timeout=${arg#*=} ;;
  esac
done

mounted() {
  while read -r _ point _; do [ "$point" != "$1" ] || return 0; done </proc/self/mounts
  return 1
}
mounted /proc || mount -t proc proc /proc || fail "mount /proc"
mounted /sys || mount -t sysfs sysfs /sys || fail "mount /sys"
mounted /dev || mount -t devtmpfs devtmpfs /dev || fail "mount /dev"
mkdir -p /dev/pts /dev/shm /dev/mqueue
mount -t devpts -o gid=5,mode=0620,ptmxmode=0666 devpts /dev/pts || fail "mount /dev/pts"
mount -t tmpfs -o mode=1777,nosuid,nodev tmpfs /dev/shm || fail "mount /dev/shm"
mount -t mqueue mqueue /dev/mqueue 2>/dev/null || true
[ -e /dev/fd ] || ln -s /proc/self/fd /dev/fd
[ -e /dev/stdin ] || ln -s /proc/self/fd/0 /dev/stdin
[ -e /dev/stdout ] || ln -s /proc/self/fd/1 /dev/stdout
[ -e /dev/stderr ] || ln -s /proc/self/fd/2 /dev/stderr
# /tmp stays the overlay's (writable, in RAM): a fresh tmpfs would hide a
# checkout that lives under the host's /tmp, as CI's clean clone may.
mount -t tmpfs -o mode=0755,nosuid,nodev tmpfs /run || fail "mount /run"
# A pure cgroup v2 host: the unified hierarchy only, mounted the way systemd
# mounts it, and no v1 hierarchy anywhere.
mount -t cgroup2 -o nsdelegate,memory_recursiveprot cgroup2 /sys/fs/cgroup || fail "mount cgroup2"
mounted /sys/kernel/security || mount -t securityfs securityfs /sys/kernel/security 2>/dev/null || true

mkdir -p /run/tsrun-vm
mount -t 9p -o trans=virtio,version=9p2000.L,msize=512000,cache=none results /run/tsrun-vm ||
  fail "mount the results share (9p tag results)"
[ -f /run/tsrun-vm/cmd.sh ] || fail "no cmd.sh in the results share"

hostname tsrun-vm
echo tsrun-vm >/etc/hostname
ip link set lo up || say "could not bring lo up"

read -r up _ </proc/uptime
echo "$up" >/run/tsrun-vm/booted
say "booted in ${up}s (kernel $(uname -r)); running the tests (watchdog ${guest_timeout}s)"

# The status is written from inside the pipeline, where tee's cannot hide it.
{
  /usr/bin/timeout -k 30 "$guest_timeout" bash /run/tsrun-vm/cmd.sh </dev/null
  echo $? >/run/tsrun-vm/status
} 2>&1 | tee /run/tsrun-vm/output.log

read -r up _ </proc/uptime
echo "$up" >/run/tsrun-vm/finished
say "finished at ${up}s, exit status $(cat /run/tsrun-vm/status 2>/dev/null || echo unknown)"
off
