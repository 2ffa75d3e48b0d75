#!/usr/bin/env bash
# Build the busybox test root filesystem that integration tests and benches
# run containers from:
#
#   bash rootfs-fixtures/busybox.sh [OUTDIR]    (default rootfs-fixtures/out/busybox)
#
# It is built in a temp dir beside OUTDIR and renamed into place, so a reader
# never sees a half-built tree and an interrupted build leaves nothing behind.
# A stamp file inside marks a finished build; when it matches, the script only
# prints the path. Run it as root so the tree is owned by root (and tsuser's
# home by 1000), as in a real image.
set -euo pipefail

# Bump when the layout below changes so existing fixtures get rebuilt.
FIXTURE_VERSION=2
STAMP=.tsrun-fixture

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
out=${1:-$here/out/busybox}
mkdir -p "$(dirname "$out")"
out=$(cd "$(dirname "$out")" && pwd)/$(basename "$out")

die() { echo "busybox.sh: $*" >&2; exit 1; }

# Debian's busybox (dynamic) and busybox-static both ship /bin/busybox; only
# the static one runs inside a rootfs that has no libc.
ensure_busybox_static() {
  if dpkg-query -W -f='${Status}' busybox-static 2>/dev/null | grep 'install ok installed' >/dev/null; then
    return
  fi
  [ "$(id -u)" = 0 ] || die "busybox-static is not installed and installing it needs root"
  echo "busybox.sh: installing busybox-static" >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends busybox-static >&2
}

ensure_busybox_static
busybox=/bin/busybox
[ -x "$busybox" ] || die "$busybox missing after installing busybox-static"
bb_version=$("$busybox" 2>&1 | awk 'NR==1 {print $2}')
stamp_text="tsrun busybox fixture v$FIXTURE_VERSION, busybox $bb_version"

complete() { [ -f "$out/$STAMP" ] && [ "$(cat "$out/$STAMP")" = "$stamp_text" ]; }
if complete; then
  echo "$out"
  exit 0
fi

tmp=$(mktemp -d "$out.tmp.XXXXXX")
old=""
cleanup() {
  rm -rf --one-file-system "$tmp"
  [ -z "$old" ] || rm -rf --one-file-system "$old"
}
trap cleanup EXIT

r=$tmp
chmod 0755 "$r"
mkdir -p "$r"/{bin,proc,sys,dev,tmp,etc,root,home/tsuser,var,run,usr/bin,usr/sbin,sbin}
chmod 1777 "$r/tmp"
chmod 0700 "$r/root"

cp "$busybox" "$r/bin/busybox"
# Relative links keep the tree valid wherever it is mounted or copied.
"$r/bin/busybox" --list | while read -r applet; do
  [ "$applet" = busybox ] || ln -sf busybox "$r/bin/$applet"
done

cat >"$r/etc/passwd" <<'EOF'
root:x:0:0:root:/root:/bin/sh
nobody:x:65534:65534:nobody:/nonexistent:/bin/false
tsuser:x:1000:1000:tsrun test user:/home/tsuser:/bin/sh
EOF

# `extra` and `wheel` give tsuser supplementary groups for --user tests.
cat >"$r/etc/group" <<'EOF'
root:x:0:
wheel:x:10:tsuser
tsuser:x:1000:
extra:x:1100:tsuser
nogroup:x:65534:
EOF

echo tsrun-busybox >"$r/etc/hostname"
# Present as in distribution images: every container bind-mounts its own
# over them, and a missing mount point would be created in this shared tree.
printf '127.0.0.1\tlocalhost\n' >"$r/etc/hosts"
: >"$r/etc/resolv.conf"

cat >"$r/etc/os-release" <<EOF
NAME="tsrun busybox fixture"
ID=tsrun-busybox
VERSION_ID=$FIXTURE_VERSION
PRETTY_NAME="tsrun busybox test fixture (busybox $bb_version)"
EOF

chmod 0644 "$r"/etc/{passwd,group,hostname,os-release,hosts,resolv.conf}
if [ "$(id -u)" = 0 ]; then
  chown -R 0:0 "$r"
  chown 1000:1000 "$r/home/tsuser"
fi

# Written last, so a tree with a stamp is always a complete tree.
echo "$stamp_text" >"$r/$STAMP"

# A parallel build may have finished meanwhile: keep its tree, drop ours.
# Otherwise a stale tree is moved aside first, because rename(2) will not
# replace a non-empty directory.
if ! complete; then
  if [ -e "$out" ]; then
    old=$(mktemp -u "$out.old.XXXXXX")
    mv -T "$out" "$old" 2>/dev/null || old=""
  fi
  mv -T "$tmp" "$out" 2>/dev/null || complete || die "could not rename $tmp to $out"
fi

echo "$out"
