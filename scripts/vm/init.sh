#!/bin/sh
# Stage 1 of the VM tier: /init of the initramfs (busybox sh, PID 1).
#
# Loads the modules in /modules.list, mounts the host's root (9p tag
# "hostroot", read-only) as the lower layer of an overlay whose upper layer is
# a tmpfs, and switch_roots into it to run stage 2 (tsrun_stage2= on the
# kernel command line, a script on the host's filesystem, run by the host's
# static busybox). If anything fails it says so on the console and powers
# off; the host driver then reports a boot failure.
export PATH=/bin

fail() {
  echo "tsrun-vm init: FAILED: $*"
  sync
  echo o >/proc/sysrq-trigger
  sleep 5
  poweroff -f
}

mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev || fail "mount devtmpfs"
exec </dev/console >/dev/console 2>&1

stage2= cache=loose msize=512000
for arg in $(cat /proc/cmdline); do
  case $arg in
    tsrun_stage2=*) stage2=${arg#*=} ;;
    tsrun_cache=*) cache=${arg#*=} ;;
    tsrun_msize=*) msize=${arg#*=} ;;
  esac
done
[ -n "$stage2" ] || fail "no tsrun_stage2= on the kernel command line"

for m in $(cat /modules.list); do
  insmod "/lib/modules/$m" || case $m in
    veth.ko | bridge.ko | stp.ko | llc.ko) echo "tsrun-vm init: note: could not load $m" ;;
    *) fail "insmod $m" ;;
  esac
done

mount -t 9p -o ro,trans=virtio,version=9p2000.L,msize=$msize,cache=$cache hostroot /lower ||
  fail "mount the host root over 9p (tag hostroot)"
mount -t tmpfs -o mode=0755 tmpfs /rw || fail "mount tmpfs"
mkdir -p /rw/upper /rw/work
mount -t overlay -o lowerdir=/lower,upperdir=/rw/upper,workdir=/rw/work overlay /newroot ||
  fail "mount the overlay root"
[ -f "/newroot$stage2" ] || fail "stage 2 script $stage2 is not on the host root"

for fs in dev proc sys; do
  mount --move "/$fs" "/newroot/$fs" || fail "move /$fs into the new root"
done
[ -x /newroot/bin/busybox ] || fail "the host has no /bin/busybox (apt-get install busybox-static)"
exec switch_root /newroot /bin/busybox sh "$stage2"
fail "switch_root"
