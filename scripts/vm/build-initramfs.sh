#!/usr/bin/env bash
# Builds the VM tier's initramfs for one kernel and prints its path:
#
#   bash scripts/vm/build-initramfs.sh KERNEL_VERSION CACHE_DIR
#
# The image holds static busybox, scripts/vm/init.sh as /init, and the
# kernel's modules that /init needs to reach the host's root over 9p and
# stack an overlay on it (plus veth and bridge for network tests). Modules
# built into the kernel (modules.builtin) are left out; dependencies come from
# modules.dep, so /init just insmods /modules.list in order.
#
# The image's name carries a hash of everything that goes into it, so a new
# kernel, busybox or init.sh gets a fresh image and an unchanged one is
# reused. It is built beside its final name and renamed into place.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
kver=${1:?usage: build-initramfs.sh KERNEL_VERSION CACHE_DIR}
cache=${2:?usage: build-initramfs.sh KERNEL_VERSION CACHE_DIR}
moddir=/lib/modules/$kver
busybox=/bin/busybox

die() { echo "build-initramfs.sh: $*" >&2; exit 1; }

# Needed to boot: virtio PCI transport, 9p over virtio, overlayfs.
required=(virtio_ring virtio virtio_pci_modern_dev virtio_pci_legacy_dev virtio_pci
  netfs fscache 9pnet 9pnet_virtio 9p overlay)
# Wanted by later tests; a kernel without them still boots.
optional=(veth bridge)

[ -d "$moddir" ] || die "no $moddir (install the modules of kernel $kver: apt-get install linux-image-amd64)"
[ -f "$moddir/modules.dep" ] || die "no $moddir/modules.dep (run depmod $kver)"
[ -x "$busybox" ] || die "no static $busybox (apt-get install busybox-static)"
file -L "$busybox" 2>/dev/null | grep -q 'dynamically linked' && die "$busybox is dynamically linked; install busybox-static"
command -v cpio >/dev/null || die "cpio not found (apt-get install cpio)"

# path of a module relative to $moddir, or "" when it is built in / absent.
declare -A dep_of=() path_of=()
while IFS= read -r line; do
  p=${line%%:*}
  dep_of[$p]=${line#*:}
  name=${p##*/}
  path_of[${name%%.ko*}]=$p
done <"$moddir/modules.dep"
module_path() { echo "${path_of[$1]:-}"; }
builtin() { grep -Eq "/$1\.ko\$" "$moddir/modules.builtin" 2>/dev/null; }

# Depth-first over modules.dep: dependencies before the module itself.
order=()
declare -A seen=()
visit() {
  local p=$1 d
  [ -z "${seen[$p]:-}" ] || return 0
  seen[$p]=1
  for d in ${dep_of[$p]}; do visit "$d"; done
  order+=("$p")
}
for m in "${required[@]}"; do
  p=$(module_path "$m")
  if [ -n "$p" ]; then visit "$p"
  elif builtin "$m"; then :
  else die "kernel $kver has module $m neither as a file nor built in"
  fi
done
for m in "${optional[@]}"; do
  p=$(module_path "$m")
  if [ -n "$p" ]; then visit "$p"
  elif ! builtin "$m"; then echo "build-initramfs.sh: note: kernel $kver has no $m module" >&2
  fi
done

bb_version=$("$busybox" 2>&1 | awk 'NR==1 {print $2}')
hash=$({
  echo "$kver $bb_version ${order[*]}"
  cat "$here/init.sh" "$here/build-initramfs.sh"
  for p in "${order[@]}"; do stat -c '%s %Y' "$moddir/$p"; done
} | sha256sum | cut -c1-16)
out=$cache/initramfs-$kver-$hash.cpio.gz
if [ -s "$out" ]; then
  echo "$out"
  exit 0
fi

mkdir -p "$cache"
tmp=$(mktemp -d "$cache/build.XXXXXX")
trap 'rm -rf --one-file-system "$tmp"' EXIT
r=$tmp/root
mkdir -p "$r"/{bin,dev,proc,sys,lower,rw,newroot,lib/modules}
cp "$busybox" "$r/bin/busybox"
for applet in sh mount umount insmod switch_root mkdir cat echo sleep poweroff sync grep; do
  ln -s busybox "$r/bin/$applet"
done
install -m 0755 "$here/init.sh" "$r/init"

: >"$r/modules.list"
for p in "${order[@]}"; do
  name=${p##*/}
  case $name in
    *.ko) cp "$moddir/$p" "$r/lib/modules/$name" ;;
    *.ko.xz) xz -dc "$moddir/$p" >"$r/lib/modules/${name%.xz}"; name=${name%.xz} ;;
    *.ko.zst) zstd -qdc "$moddir/$p" >"$r/lib/modules/${name%.zst}"; name=${name%.zst} ;;
    *.ko.gz) gzip -dc "$moddir/$p" >"$r/lib/modules/${name%.gz}"; name=${name%.gz} ;;
    *) die "unexpected module file $p" ;;
  esac
  echo "$name" >>"$r/modules.list"
done
# The kernel gives /init its stdio from /dev/console before anything is
# mounted; without the node /init starts with none (it reopens it later).
mknod -m 600 "$r/dev/console" c 5 1 2>/dev/null || true
(cd "$r" && find . -print0 | LC_ALL=C sort -z | cpio --null -o -H newc --quiet -R 0:0) | gzip -1 >"$tmp/image"
mv "$tmp/image" "$out"
# Older images of this kernel are stale now.
for old in "$cache"/initramfs-"$kver"-*.cpio.gz; do
  [ "$old" = "$out" ] || rm -f "$old"
done
echo "$out"
