#!/usr/bin/env bash
# What each verb costs, tsrun and podman (runc) side by side on the same
# image, with Node's own start-up (`node -e 0`) as the floor: medians of
# BENCH_N rounds (default 20) after one warm-up round, wall time; each round
# runs the podman command, then the tsrun one and `node -e 0` in turns (each
# right after podman every other round), so load drift hits all three alike
# and each row is compared with its own floor: the median of each round's
# tsrun time minus that round's floor.
#
#   sudo bash bench/verbs.sh           BENCH_N=10 BENCH_CONTAINERS=100 sudo bash bench/verbs.sh
#
# Rows: --version, --help, a verb's parse-and-fail; run --rm --network none;
# run --rm on the default bridge (tsrun's default network on a free /24 of
# its own, podman's default network, CNI here, on another); create; exec,
# inspect, logs of a running container; start, stop -t 0, rm, each timed
# alone (the pair's other half undoes it, untimed); images; pull of an image
# already in the store (both pull it from a docker-registry on 127.0.0.1
# that answers the manifest request); the typed in-process API
# (bench/api-run.mjs: create + start + wait + remove through dist/index.js,
# BENCH_N containers in one Node process, ms per container) against
# `podman run --rm --network none`; ps -a with BENCH_CONTAINERS more
# running on each side.
#
# Targets (issue 13), in the table's last column (a met target says "yes";
# start and stop also wait for the kernel, so theirs is only shown):
# --version/--help/parse-and-fail <= floor + 12 ms; run --rm <= 0.8x podman
# (none and bridge); ps -a with 100 containers <= 1.75x podman and
# <= floor + 30 ms; create <= 1.5x podman; inspect, logs, rm <= floor +
# 30 ms; the in-process API <= 0.35x podman run --rm.
#
# Timings never fail anything: a row whose command fails is left blank and
# the reason printed under the table; without podman (or runc) its column
# is blank; the script exits 0 unless the sandbox itself cannot be made.
# Everything (containers, tsrun's bridge and its nft rules, podman's storage
# and CNI leftovers, the registry, libpod cgroups, mounts, the temp dir) is
# removed on exit, Ctrl-C included (bench/lib.sh bench_cleanup). Network
# traffic goes only to loopback and to the containers made here.
set -uo pipefail   # no -e: one failing row must not stop the others

name=verbs
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/.." && pwd)
runs=${BENCH_N:-20}
count=${BENCH_CONTAINERS:-100}
# shellcheck source=bench/lib.sh
. "$here/lib.sh"
preflight
# NODE_EXTRA_CA_CERTS makes Node parse that bundle at start-up, before any
# of our code (~40 ms here, with /etc/ssl/certs/ca-certificates.crt): this
# machine's environment sets it, a user's rarely does. The rows run without
# it, floor included; the header says what it would have added.
extra_ca=""
if [ -n "${NODE_EXTRA_CA_CERTS:-}" ]; then
  with=() without=()
  for _ in 1 2 3 4 5; do
    t0=$EPOCHREALTIME; node -e 0; with+=($((${EPOCHREALTIME/./} - ${t0/./})))
    t0=$EPOCHREALTIME; env -u NODE_EXTRA_CA_CERTS node -e 0; without+=($((${EPOCHREALTIME/./} - ${t0/./})))
  done
  extra_ca="NODE_EXTRA_CA_CERTS ($NODE_EXTRA_CA_CERTS) unset for every row: it adds $(printf '%s\n' "${with[@]}" | sort -n | sed -n 3p | awk -v w="$(printf '%s\n' "${without[@]}" | sort -n | sed -n 3p)" '{ printf "%.1f", ($1 - w) / 1000 }') ms to each Node start here"
  unset NODE_EXTRA_CA_CERTS
fi
[[ $count =~ ^[1-9][0-9]*$ ]] || die "BENCH_CONTAINERS must be a positive integer"
began=$SECONDS
set -e
bench_sandbox network
set +e
# Every tool's temporary files (skopeo's, podman's image copies) in ours.
mkdir -p "$tmp/tmp"
export TMPDIR=$tmp/tmp

notes=$tmp/notes   # why a cell is blank, printed under the table
: >"$notes"
for n in "${sandbox_notes[@]}"; do echo "$n" >>"$notes"; done
why() { echo "$*" | head -c 400 | tr '\n' ' ' >>"$notes"; echo >>"$notes"; }
echo "verbs: $runs runs of each command; $count containers for ps -a come last" >&2

T() { "${tsrun[@]}" "$@"; }
P() { "${podman[@]}" "$@"; }
# The floor, timed the way T and P are (through eval and a function: bash
# forks once more before it execs): timed directly it ran ~3 ms cheaper.
F() { node -e 0; }

# Median of microsecond counts on stdin, as ms with one decimal.
median_us() { sort -n | awk '{ v[NR] = $1 } END { if (NR) printf "%.1f", (NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2) / 1000 }'; }

# timed CMD...: CMD's status, its wall time in `took` (µs); its output goes
# to $timed_out (default /dev/null), its errors to $tmp/err. It runs in the
# background while we `wait`, so Ctrl-C runs our trap at once (a
# foreground child that catches SIGINT itself, like podman, would make bash
# ignore it); bench_cleanup lets it finish first.
bg=""
timed() {
  local t0 rc
  t0=$EPOCHREALTIME
  "$@" >"${timed_out:-/dev/null}" 2>"$tmp/err" &
  bg=$!
  wait "$bg"
  rc=$?
  took=$((${EPOCHREALTIME/./} - ${t0/./}))
  bg=""
  return $rc
}
# once LABEL FAILS CMDLINE UNDO: one timed run of CMDLINE (eval'd; T and P
# are the two runtimes), `took` its µs; UNDO after it, untimed. Fails, the
# reason noted, when either fails (CMDLINE may when FAILS=1: on purpose).
once() {
  timed eval "$3" || [ "$2" = 1 ] || { why "$1: \`$3\` failed: $(cat "$tmp/err")"; return 1; }
  local t=$took
  [ -z "$4" ] || timed eval "$4" || { why "$1: \`$4\` failed: $(cat "$tmp/err")"; return 1; }
  took=$t
}
# med µs...: their median in ms (one decimal), the first (the warm-up) left out.
med() { shift; [ $# -gt 0 ] || return 0; printf '%s\n' "$@" | median_us; }

rows=()
floors=()
# row LABEL TSRUN_MS PODMAN_MS TARGET FLOOR_MS [FLOOR_CELL] [OVER_MS]: TARGET
# is a list of rX (ratio <= X), fN (<= floor + N ms), kN (floor + N ms
# beyond the kernel's work: shown, not judged), or empty; OVER_MS, when
# given, is tsrun's cost over the floor (else TSRUN_MS - FLOOR_MS).
row() { rows+=("$1"$'\t'"$2"$'\t'"$3"$'\t'"$4"$'\t'"$5"$'\t'"${6:-}"$'\t'"${7:-}"); }
# bench_row LABEL TARGET FAILS TSRUN_CMD PODMAN_CMD [TSRUN_UNDO PODMAN_UNDO]:
# $runs rounds after a warm-up round; each round runs the podman command,
# then the tsrun one and `node -e 0` in turns, so load drift (other tenants)
# hits all three alike and each row has its own floor. A side whose command is empty
# (podman not there) or failed is left blank. Sets `t_ms`, `p_ms`.
bench_row() {
  local label=$1 target=$2 fails=$3 tcmd=$4 pcmd=$5 tundo=${6:-} pundo=${7:-} i tu=() pu=() fu=()
  [ "$have_podman" = 1 ] || pcmd=""
  for ((i = 0; i <= runs; i++)); do
    if [ -n "$pcmd" ]; then
      if once "$label (podman)" "$fails" "$pcmd" "$pundo"; then pu+=("$took"); else pcmd="" pu=(); fi
    fi
    # tsrun and the floor take turns right after podman: whatever podman
    # leaves behind (its background cleanup, a cold cache) and whatever one
    # Node run warms for the next falls on both alike.
    if ((i % 2)); then timed eval F && fu+=("$took"); fi
    if [ -n "$tcmd" ]; then
      if once "$label" "$fails" "$tcmd" "$tundo"; then tu+=("$took"); else tcmd="" tu=(); fi
    fi
    if ! ((i % 2)); then timed eval F && fu+=("$took"); fi
  done
  t_ms=$(med "${tu[@]}") p_ms=$(med "${pu[@]}")
  floors+=("${fu[@]:1}")
  # Over the floor: the median of each round's tsrun minus that round's
  # floor, run next to it (a difference of two medians takes the drift of
  # 20 separate samples: it moved a row by 5 ms and more).
  local over=() k
  if ((${#tu[@]} == ${#fu[@]})); then for ((k = 1; k < ${#tu[@]}; k++)); do over+=($((tu[k] - fu[k]))); done; fi
  row "$label" "$t_ms" "$p_ms" "$target" "$(med "${fu[@]}")" "" "$( ((${#over[@]})) && printf '%s\n' "${over[@]}" | median_us)"
}

# The sandbox's set-up (the image imported on both sides, podman's storage) settled first, as before the ps -a row.
sync
sleep 3
bench_row "--version" f12 0 "T --version" "P --version"
bench_row "--help" f12 0 "T --help" "P --help"
bench_row "run (parse and fail)" f12 1 "T run --no-such-flag" "P run --no-such-flag"
bench_row "run --rm --network none true" r0.8 0 "T run --rm --network none localhost/bench true" \
  "P run --rm --network none localhost/bench true"
run_none=$p_ms   # podman's, for the API row

# The default bridge: tsrun's default network on tsrun_subnet (made by the
# warm-up round), podman's default network on podman_subnet.
bench_row "run --rm true (default bridge)" r0.8 0 "${tsrun_subnet:+T --default-subnet $tsrun_subnet run --rm localhost/bench true}" \
  "${podman_subnet:+P run --rm localhost/bench true}"
if [ -n "$tsrun_subnet" ]; then
  b=$(T network inspect bridge 2>/dev/null | node -e 'const j = JSON.parse(require("fs").readFileSync(0, "utf8"));
    console.log((Array.isArray(j) ? j[0] : j).Options["com.docker.network.bridge.name"])' 2>/dev/null)
  [[ $b =~ ^tsr ]] && sandbox_bridge=$b
fi

bench_row "create --network none true" r1.5 0 "T create --network none --name cc localhost/bench true" \
  "P create --network none --name cc localhost/bench true" "T rm cc" "P rm cc"

# One long-running container each for the per-container verbs.
timed T run -d --network none --name svc localhost/bench sh -c 'echo hello; exec sleep 3600' ||
  why "tsrun run -d svc failed: $(cat "$tmp/err")"
[ "$have_podman" = 0 ] || timed P run -d --network none --name svc localhost/bench sh -c 'echo hello; exec sleep 3600' ||
  why "podman run -d svc failed: $(cat "$tmp/err")"
bench_row "exec svc true" "" 0 "T exec svc true" "P exec svc true"
bench_row "inspect svc" f30 0 "T inspect svc" "P inspect svc"
bench_row "logs svc" f30 0 "T logs svc" "P logs svc"

# start, stop -t 0 and rm, each timed alone (the other of the pair undoes it).
timed T create --network none --name s2 localhost/bench sleep 3600
[ "$have_podman" = 0 ] || timed P create --network none --name s2 localhost/bench sleep 3600
bench_row "start" k30 0 "T start s2" "P start s2" "T stop -t 0 s2" "P stop -t 0 s2"
timed T start s2
[ "$have_podman" = 0 ] || timed P start s2
bench_row "stop -t 0" k30 0 "T stop -t 0 s2" "P stop -t 0 s2" "T start s2" "P start s2"
timed T create --network none --name rr localhost/bench true
[ "$have_podman" = 0 ] || timed P create --network none --name rr localhost/bench true
bench_row "rm (a created container)" f30 0 "T rm rr" "P rm rr" \
  "T create --network none --name rr localhost/bench true" "P create --network none --name rr localhost/bench true"
bench_row "images" "" 0 "T images" "P images"

# pull of an image both already have, from a registry on loopback that
# answers the manifest request: it gets the bench image (tsrun save, skopeo
# copy), both pull it once untimed (the warm-up round), then again timed.
pulled=0
if reg=$(start_registry "$tmp/registry" 2>"$tmp/err"); then
  read -r reg_pid reg_port <<<"$reg"
  ref=127.0.0.1:$reg_port/bench/verbs:latest
  if ! timed T save -o "$tmp/bench.tar" localhost/bench:latest; then
    why "pull: tsrun save of the bench image failed: $(cat "$tmp/err")"
  elif ! command -v skopeo >/dev/null; then
    why "pull: skopeo is not installed, nothing to push the image with"
  elif ! timed skopeo --insecure-policy copy --quiet --dest-tls-verify=false "docker-archive:$tmp/bench.tar" "docker://$ref"; then
    why "pull: skopeo copy into the registry failed: $(cat "$tmp/err")"
  else
    # A loopback registry needs no --insecure-registry for tsrun (Docker's
    # rule): plain http after an https attempt, as for any registry named.
    bench_row "pull (image already stored)" "" 0 "T pull -q $ref" "P pull -q --tls-verify=false $ref"
    pulled=1
  fi
else
  why "pull: the registry could not start: $(cat "$tmp/err")"
fi
[ "$pulled" = 1 ] || row "pull (image already stored)" "" "" "" ""

# The typed in-process API, against podman run --rm (--network none).
api=""
if timed_out=$tmp/api timed node "$here/api-run.mjs" "$tmp/root" "$tmp/run" localhost/bench:latest "$runs"; then
  api=$(cut -d' ' -f1 "$tmp/api")
else
  why "in-process API: bench/api-run.mjs failed: $(cat "$tmp/err")"
fi
row "API create+start+wait+rm, per ctr" "$api" "$run_none" r0.35 "" "in-process"

# The ps -a crowd, started 4 at a time (not timed), counted afterwards.
echo "verbs: starting $count containers on each side for ps -a" >&2
start_crowd() {
  local side=$1 i up
  shift
  : >"$tmp/crowd.err"
  for ((i = 0; i < count; i++)); do
    "$@" run -d --network none localhost/bench sleep 3600 >/dev/null 2>>"$tmp/crowd.err" &
    ((i % 4 != 3)) || wait
  done
  wait
  up=$("$@" ps -q 2>/dev/null | wc -l)
  # Besides the crowd, svc and s2 run.
  ((up >= count + 2)) || why "ps -a: $side runs $up containers, not $((count + 2)): $(head -c 300 "$tmp/crowd.err")"
}
start_crowd tsrun T
[ "$have_podman" = 0 ] || start_crowd podman P
# What starting 2x$count containers left to do (their files' writeback, the
# kernel's and podman's own after-work) is done before the row: on this
# 2-CPU VM it otherwise slowed every process of the row's first rounds, and
# with them the difference the row reports.
sync
sleep 3
bench_row "ps -a, $count more running" r1.75,f30 0 "T ps -a" "P ps -a"

# ---- the table ----------------------------------------------------------------
commit=$(git -C "$repo" log -1 --format=%h 2>/dev/null)
[ -z "$(git -C "$repo" status --porcelain -- src native 2>/dev/null)" ] || commit+=" (src/native modified)"
echo
echo "tsrun verbs against podman, $(date -u '+%Y-%m-%d %H:%M UTC'); tsrun ${commit:-?}"
echo "machine: $(nproc) CPUs, kernel $(uname -r), load $(cut -d' ' -f1-3 /proc/loadavg); node $(node --version)$([ "$have_podman" = 1 ] && echo ", $(podman --version)")"
floor=$(printf '%s\n' "${floors[@]}" | median_us)
echo "medians of $runs rounds (ms, wall time), each running podman, then tsrun and node -e 0 in turns; floor (node -e 0) overall $floor ms"
[ -z "$extra_ca" ] || echo "$extra_ca"
echo "default bridge: tsrun ${sandbox_bridge:-(none)} on ${tsrun_subnet:-(none)}$([ "$have_podman" = 1 ] && echo ", podman ($("${podman[@]}" info --format '{{.Host.NetworkBackend}}' 2>/dev/null)) on ${podman_subnet:-(none)}")"
printf '%s\n' "${rows[@]}" | awk -F'\t' '
  function ms(v) { return v == "" ? "" : v " ms" }
  BEGIN { printf "%-34s %10s %10s %6s %10s  %s\n", "verb", "tsrun", "podman", "ratio", "vs floor", "target (issue 13)" }
  {
    t = $2; p = $3; floor = $5
    ratio = (t != "" && p != "" && p > 0) ? sprintf("%.2f", t / p) : ""
    diff = $7 != "" ? $7 + 0 : (t != "" && floor != "" ? t - floor : "")
    over = diff != "" ? sprintf("%+.1f ms", diff) : ""
    if ($6 != "") over = $6
    n = split($4, specs, ","); target = ""; verdict = ""; judged = 0
    for (i = 1; i <= n; i++) {
      s = specs[i]; k = substr(s, 1, 1); x = substr(s, 2) + 0
      if (k == "r") { target = target (target ? ", " : "") "<= " x "x"; if (ratio != "") { judged = 1; if (ratio + 0 > x) verdict = "no" } }
      if (k == "f") { target = target (target ? ", " : "") "<= +" x " ms"; if (diff != "") { judged = 1; if (diff > x) verdict = "no" } }
      if (k == "k") { target = target (target ? ", " : "") "+" x " ms + kernel" }
    }
    if (judged && verdict == "") verdict = "yes"
    line = sprintf("%-34s %10s %10s %6s %10s  %s%s", $1, ms(t), ms(p), ratio, over, target, (verdict ? " " verdict : ""))
    sub(/ +$/, "", line)
    print line
  }'
if [ -s "$notes" ]; then
  echo "blank cells:"
  sed 's/^/  /' "$notes"
fi
echo "took $((SECONDS - began)) s"
exit 0
