#!/usr/bin/env bash
# `tsrun build` against `podman build --layers` (Buildah inside Podman 4.3),
# in one run, on the same generated context and Dockerfile:
#   full       a build with nothing cached (each tool in a fresh store that
#              holds only the base image, imported untimed)
#   unchanged  the same build again (all cached)
#   one-file   after changing one file of the context (COPY and the RUNs
#              after it run again)
#
#   sudo bash bench/build.sh          BENCH_N=5 BENCH_FILES=2000 BENCH_MB=50 sudo bash bench/build.sh
#
# Targets (issue: build/push): full <= 0.8x podman, unchanged <= 0.5x.
# Both RUN with --network none (podman's is netns=none in our containers.conf
# too), so network setup is not part of either number. Everything lives under
# one temp dir (BENCH_TMP, default /tmp) and is removed on exit, Ctrl-C
# included.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/.." && pwd)
runs=${BENCH_N:-3}
n_files=${BENCH_FILES:-2000}
mb=${BENCH_MB:-50}
base_tmp=${BENCH_TMP:-/tmp}
name=build
# shellcheck source=bench/lib.sh
source "$here/lib.sh"
preflight
fixture=${BENCH_ROOTFS:-$repo/rootfs-fixtures/out/busybox}
[ -d "$fixture" ] || fixture=$(bash "$repo/rootfs-fixtures/busybox.sh")
have_podman=1
command -v podman >/dev/null && command -v runc >/dev/null || { have_podman=0; echo "build: podman or runc not installed, its column is skipped" >&2; }

tmp=$(mktemp -d "$base_tmp/tsrun-bench-build.XXXXXX")
tsrun() { local d=$1; shift; node -- "$repo/bin/tsrun" --root "$d/root" --runroot "$d/run" "$@"; }
podman_in() { local d=$1; shift; TMPDIR=$d/tmp podman --root "$d/storage" --runroot "$d/run" --tmpdir "$d/tmp" --storage-driver overlay "$@"; }
tsrun_reset() {
  [ -d "$1" ] || return 0
  tsrun "$1" builder prune -f >/dev/null 2>&1 || true
  unmount_under "$1"
  rm -rf "$1"
}
podman_reset() {
  [ -d "$1" ] || return 0
  podman_in "$1" system reset -f >/dev/null 2>&1 || true
  unmount_under "$1"
  rm -rf "$1"
}
cleanup() {
  set +e
  for d in "$tmp"/tsrun-*; do [ -d "$d" ] && tsrun_reset "$d"; done
  for d in "$tmp"/podman-*; do [ -d "$d" ] && podman_reset "$d"; done
  unmount_under "$tmp"
  rm -rf "$tmp"
  remove_side_effects
}
trap cleanup EXIT
trap 'exit 130' INT TERM


# --- context: n_files files, about mb MiB: 95% small text files, 5% larger
# ones of random bytes (compressible and incompressible layer data alike) ---
ctx=$tmp/context
node - "$ctx" "$n_files" "$mb" <<'EOF'
const fs = require('fs'), path = require('path'), crypto = require('crypto');
const [dir, nStr, mbStr] = process.argv.slice(2);
const n = Number(nStr), total = Number(mbStr) * 1048576;
const big = Math.max(1, Math.round(n / 20));
const smallSize = Math.floor((total * 0.3) / (n - big));
const bigSize = Math.floor((total * 0.7) / big);
let bytes = 0;
for (let i = 0; i < n; i++) {
  const d = path.join(dir, 'src', `d${String(i % 40).padStart(2, '0')}`);
  fs.mkdirSync(d, { recursive: true });
  const isBig = i % 20 === 19;
  const size = isBig ? bigSize : smallSize;
  const body = isBig ? crypto.randomBytes(size) : Buffer.from(crypto.randomBytes(Math.ceil(size / 2)).toString('hex').slice(0, size));
  fs.writeFileSync(path.join(d, `f${String(i).padStart(4, '0')}.${isBig ? 'bin' : 'txt'}`), body);
  bytes += size;
}
console.error(`context: ${n} files, ${(bytes / 1048576).toFixed(1)} MiB`);
EOF
cat >"$ctx/Dockerfile" <<'EOF'
FROM localhost/busybox
ENV APP=/app MODE=bench
WORKDIR /app
RUN mkdir -p /app/out && echo setup > /app/out/setup.txt
COPY src/ /app/src/
RUN find /app/src -type f | wc -l > /app/out/count && du -s /app/src > /app/out/size
RUN cat /app/src/d00/f0000.txt | md5sum > /app/out/first && chmod -R go-w /app/out
LABEL bench=build
EXPOSE 8080
CMD ["sh", "-c", "cat /app/out/count"]
EOF
changed=$ctx/src/d07/f1007.txt
[ -f "$changed" ] || changed=$(find "$ctx/src" -name '*.txt' | sort | sed -n 8p)
orig=$(cat "$changed")

podman_config "$tmp"
tar -C "$fixture" --exclude=./.tsrun-fixture -cf "$tmp/busybox.tar" .

# One round of one tool: fresh store with the base imported (untimed), then
# full / unchanged / one-file builds, each time appended to $tmp/t-TOOL-KIND.
round_tsrun() {
  local d=$tmp/tsrun-$1 t0
  tsrun "$d" import -c 'CMD ["sh"]' "$tmp/busybox.tar" localhost/busybox:latest >/dev/null
  printf '%s' "$orig" >"$changed"
  t0=$(date +%s%N); tsrun "$d" build -q --network none -t bench/build "$ctx" >/dev/null; ms_since "$t0" >>"$tmp/t-tsrun-full"
  t0=$(date +%s%N); tsrun "$d" build -q --network none -t bench/build "$ctx" >/dev/null; ms_since "$t0" >>"$tmp/t-tsrun-unchanged"
  printf '%s changed %s' "$orig" "$1" >"$changed"
  t0=$(date +%s%N); tsrun "$d" build -q --network none -t bench/build "$ctx" >/dev/null; ms_since "$t0" >>"$tmp/t-tsrun-onefile"
  tsrun_reset "$d"
}
round_podman() {
  local d=$tmp/podman-$1 t0
  mkdir -p "$d/tmp"
  podman_in "$d" import -q -c 'CMD ["sh"]' "$tmp/busybox.tar" localhost/busybox:latest >/dev/null
  printf '%s' "$orig" >"$changed"
  t0=$(date +%s%N); podman_in "$d" build -q --layers --format docker --network none -t bench/build "$ctx" >/dev/null; ms_since "$t0" >>"$tmp/t-podman-full"
  t0=$(date +%s%N); podman_in "$d" build -q --layers --format docker --network none -t bench/build "$ctx" >/dev/null; ms_since "$t0" >>"$tmp/t-podman-unchanged"
  printf '%s changed %s' "$orig" "$1" >"$changed"
  t0=$(date +%s%N); podman_in "$d" build -q --layers --format docker --network none -t bench/build "$ctx" >/dev/null; ms_since "$t0" >>"$tmp/t-podman-onefile"
  podman_reset "$d"
}

# One untimed warm-up round each (page cache), then alternate.
round_tsrun warm || die "tsrun build failed"
((have_podman)) && { round_podman warm || die "podman build failed"; }
rm -f "$tmp"/t-*
for ((i = 0; i < runs; i++)); do
  round_tsrun "$i"
  ((have_podman)) && round_podman "$i"
  sync
done

# --- report ------------------------------------------------------------------------
row() { printf '%-34s %10s %10s %12s  %s\n' "$@"; }
echo
echo "build of a 10-instruction Dockerfile (3 RUN, COPY of $n_files files / ~$mb MiB) on $(stat -f -c %T "$tmp") ($base_tmp); $runs rounds, medians in ms"
row "" tsrun podman tsrun/podman "target"
for k in full unchanged onefile; do
  ts=$(median <"$tmp/t-tsrun-$k")
  pm=n/a ratio=n/a
  if ((have_podman)); then
    pm=$(median <"$tmp/t-podman-$k")
    ratio=$(awk -v a="$ts" -v b="$pm" 'BEGIN { printf "%.2f", a / b }')
  fi
  case $k in
    full) label="full build (nothing cached)" target="<= 0.80" ;;
    unchanged) label="unchanged rebuild" target="<= 0.50" ;;
    onefile) label="rebuild after one changed file" target="" ;;
  esac
  row "$label" "$ts" "$pm" "$ratio" "$target"
done
echo
echo "all runs (ms):"
for f in "$tmp"/t-*; do echo "  ${f##*/t-}: $(tr '\n' ' ' <"$f")"; done
