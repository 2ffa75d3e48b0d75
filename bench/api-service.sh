#!/usr/bin/env bash
# The Docker Engine API service, tsrun's and Podman's side by side (issue
# 15): the docker CLI 20.10 (/usr/bin/docker, Debian's docker.io) with
# DOCKER_HOST at `tsrun system service`, then at `podman system service`
# (runc), on the same busybox image:
#   - docker run --rm IMAGE true (each engine's default network when there
#     is a free subnet for it, else --network none for both),
#   - docker-compose up -d + down of a two-service project (a user network,
#     a named volume, a published loopback port).
# BENCH_N rounds after a warm-up, the two engines in turn each round; the
# medians and tsrun/podman. Target: <= 0.7x podman's service.
#
#   sudo BENCH_N=10 bash bench/api-service.sh
set -uo pipefail

name=api-service
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/.." && pwd)
runs=${BENCH_N:-10}
# shellcheck source=bench/lib.sh
. "$here/lib.sh"
preflight
docker=/usr/bin/docker
[ -x "$docker" ] || die "needs the docker CLI at $docker (apt-get install docker.io; dockerd is never started)"
command -v docker-compose >/dev/null || die "needs docker-compose (apt-get install docker-compose)"
set -e
bench_sandbox network
set +e
[ "$have_podman" = 1 ] || die "needs podman and runc: ${sandbox_notes[*]}"

tsock=$tmp/tsrun.sock
psock=$tmp/podman.sock
svc_pids=()
stop_services() {
  local p
  for p in "${svc_pids[@]}"; do kill "$p" 2>/dev/null; done
  for p in "${svc_pids[@]}"; do wait "$p" 2>/dev/null; done
  svc_pids=()
}
trap 'stop_services; bench_cleanup' EXIT

"${tsrun[@]}" ${tsrun_subnet:+--default-subnet $tsrun_subnet} system service --time 0 "unix://$tsock" 2>"$tmp/tsrun-service.log" &
svc_pids+=($!)
"${podman[@]}" system service --time 0 "unix://$psock" 2>"$tmp/podman-service.log" &
svc_pids+=($!)
for s in "$tsock" "$psock"; do
  for ((i = 0; i < 300; i++)); do curl -fs --unix-socket "$s" http://d/_ping >/dev/null 2>&1 && break; sleep 0.05; done
  curl -fs --unix-socket "$s" http://d/_ping >/dev/null 2>&1 || die "the service on $s did not answer: $(cat "$tmp"/*-service.log | head -c 600)"
done

net=()
[ -n "$tsrun_subnet" ] && [ -n "$podman_subnet" ] || { net=(--network none); note "no free subnet for a default network: --network none for both"; }

# D SOCKET ARGS...: the docker CLI against one service, with a throwaway config.
D() { local s=$1; shift; DOCKER_HOST=unix://$s DOCKER_CONFIG=$tmp/docker-config "$docker" "$@"; }

# The compose project: both engines in turn, one subnet (never at once).
csub=$(free_subnet 160 199 $tsrun_subnet $podman_subnet) || die "no free /24 for the compose network"
mkdir -p "$tmp/compose"
cat >"$tmp/compose/docker-compose.yml" <<YML
version: "3.8"
services:
  web:
    image: localhost/bench:latest
    command: ["httpd", "-f", "-p", "80", "-h", "/data"]
    ports: ["127.0.0.1::80"]
    volumes: [data:/data]
    networks: [back]
  worker:
    image: localhost/bench:latest
    command: ["sleep", "600"]
    networks: [back]
networks:
  back:
    ipam:
      config: [{subnet: "$csub"}]
volumes:
  data: {}
YML
C() { local s=$1; shift; (cd "$tmp/compose" && DOCKER_HOST=unix://$s docker-compose -p benchapi "$@"); }

ms() { echo $(( ($(date +%s%N) - $1) / 1000000 )); }
declare -A t=()
for ((r = 0; r <= runs; r++)); do
  for side in tsrun podman; do
    s=$tsock; [ $side = podman ] && s=$psock
    t0=$(date +%s%N)
    D "$s" run --rm "${net[@]}" localhost/bench:latest true >/dev/null 2>"$tmp/err" || die "$side: docker run failed: $(head -c 400 "$tmp/err")"
    [ $r = 0 ] || t[run_$side]+="$(ms "$t0") "
    t0=$(date +%s%N)
    { C "$s" up -d && C "$s" down -v -t 1; } >/dev/null 2>"$tmp/err" || { C "$s" down -v -t 1 >/dev/null 2>&1; die "$side: compose failed: $(tail -c 600 "$tmp/err")"; }
    [ $r = 0 ] || t[compose_$side]+="$(ms "$t0") "
  done
done

stat() { printf '%s\n' $1 | median; }
printf '%-42s %10s %10s %8s\n' "API service ($runs runs, median ms)" tsrun podman ratio
for k in run compose; do
  a=$(stat "${t[${k}_tsrun]}") b=$(stat "${t[${k}_podman]}")
  label="docker run --rm true${net[*]:+ ${net[*]}}"
  [ $k = compose ] && label="docker-compose up -d + down -v"
  printf '%-42s %10s %10s %7.2fx\n' "$label" "$a" "$b" "$(echo "$a $b" | awk '{ print $1 / $2 }')"
done
echo "target: <= 0.70x podman's service"
