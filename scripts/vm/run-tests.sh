#!/usr/bin/env bash
# The VM test tier (`npm run test:vm`): boots Debian's kernel in QEMU on a pure
# cgroup v2 hierarchy and runs vitest with vitest.vm.config.ts inside it.
#
#   bash scripts/vm/run-tests.sh [VITEST ARGS...]   e.g. -t 'pids.max'
#
# The guest sees the host's root read-only over 9p, under a tmpfs overlay,
# so node, the repo, dist/ and node_modules are the host's own; a second,
# writable 9p share (a temp dir) brings back the exit status and the output.
# The guest's console is streamed here. The last line printed is vitest's
# "N passed, N failed, N skipped" when the tests ran; the exit status is
# non-zero on a test failure, a boot failure or a timeout, and the line
# before says which.
#
# Needs: qemu-system-x86_64 (apt: qemu-system-x86), a Debian kernel with its
# modules (apt: linux-image-amd64), static busybox, cpio; the repo built
# (npm ci). No KVM needed: the guest runs under TCG, slowly.
#
# Knobs (environment):
#   TSRUN_VM_TIMEOUT   overall limit in seconds (1500); the guest's own
#                      watchdog stops vitest 120 s before it
#   TSRUN_VM_KERNEL    a /boot/vmlinuz-* (default: the newest)
#   TSRUN_VM_QEMU      the emulator (qemu-system-x86_64)
#   TSRUN_VM_MEM       guest RAM in MiB (2048); TSRUN_VM_CPUS (2)
#   TSRUN_VM_CPU       QEMU -cpu model (Nehalem-v2; see below)
#   TSRUN_VM_TCG_THREAD  single (default) or multi TCG threading (see below)
#   TSRUN_VM_9P_CACHE  9p cache mode of the root (loose; mmap and none
#                      measured no faster)
#   TSRUN_VM_KEEP=1    keep the run's temp dir (console.log, results/ with
#                      output.log and vitest.json) even when all passed
#   TSRUN_VM_CMD='...' run this bash command in the guest (in the repo, as
#                      root) instead of vitest, for poking around; its exit
#                      status is the verdict
set -euo pipefail

say() { echo "test:vm: $*"; }
die() { say "FAILED: $*"; exit 1; }

qpid='' tpid='' run='' keep=${TSRUN_VM_KEEP:-0}
cleanup() {
  [ -z "$qpid" ] || kill -KILL "$qpid" 2>/dev/null || true
  [ -z "$tpid" ] || kill "$tpid" 2>/dev/null || true
  [ -n "$run" ] || return 0
  case $keep in
    1) say "kept $run" ;;
    quiet) ;;
    *) rm -rf "$run" ;;
  esac
}

# Everything runs from main, so bash has parsed the whole file before it
# starts: editing this script during a long run cannot derail that run.
main() {
  here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
  repo=$(cd "$here/../.." && pwd)

  timeout_s=${TSRUN_VM_TIMEOUT:-1500}
  mem=${TSRUN_VM_MEM:-2048}
  cpus=${TSRUN_VM_CPUS:-2}
  # The emulated CPU: a plain SSE4.2 model rather than `max`. With `max`,
  # QEMU 7.2's TCG (Debian 12; the first to emulate AVX/AVX2) made node die of
  # SIGILL/SIGSEGV at random (2 runs of 3 from a fresh clone); without AVX a
  # WebAssembly "memory access out of bounds" still showed up once. With
  # Nehalem-v2 glibc and V8 take long-emulated SSE paths; every run passed.
  cpu_model=${TSRUN_VM_CPU:-Nehalem-v2}
  # Multi-threaded TCG (one host thread per vCPU) still killed node at random
  # with Nehalem-v2: SIGILL, SIGSEGV, or WebAssembly "memory access out of
  # bounds", about 2 boots in 3 on this 2-core host. V8 writes machine code on
  # its compiler threads that another vCPU then runs; one TCG thread for all
  # vCPUs (thread=single) takes cross-vCPU code changes out of the picture.
  tcg_thread=${TSRUN_VM_TCG_THREAD:-single}
  cache_mode=${TSRUN_VM_9P_CACHE:-loose}
  # The guest's own watchdog fires first, so a hung test still yields output.
  guest_timeout=$((timeout_s > 180 ? timeout_s - 120 : timeout_s * 2 / 3))

  # --- what the tier needs; a missing piece is a failure, never a pass -------
  qemu=$(command -v "${TSRUN_VM_QEMU:-qemu-system-x86_64}" || true)
  [ -n "$qemu" ] || die "${TSRUN_VM_QEMU:-qemu-system-x86_64} not found; install it: apt-get install qemu-system-x86"
  kernel=${TSRUN_VM_KERNEL:-$(ls /boot/vmlinuz-* 2>/dev/null | sort -V | tail -n 1 || true)}
  [ -n "$kernel" ] && [ -r "$kernel" ] ||
    die "no readable kernel ${TSRUN_VM_KERNEL:-/boot/vmlinuz-*}; install one: apt-get install linux-image-amd64"
  kver=${kernel##*/vmlinuz-}
  [ -d "/lib/modules/$kver" ] || die "kernel $kernel has no /lib/modules/$kver; reinstall its package"
  # The paths travel on the kernel command line and in QEMU's -virtfs list.
  [[ $repo != *[[:space:],]* ]] || die "the repo path '$repo' has a space or comma; the VM tier cannot pass it"
  [ -f "$repo/dist/cli/tsrun.js" ] || die "dist/ is not built; run npm ci (or npm run build)"
  [ -f "$repo/build/Release/tsrun.node" ] || die "the native addon is not built; run npm ci"
  [ -f "$repo/node_modules/vitest/vitest.mjs" ] || die "vitest is not installed; run npm ci"

  if [ -d "$repo/node_modules" ]; then cache=$repo/node_modules/.cache/tsrun-vm; else cache=/var/tmp/tsrun-vm; fi
  initrd=$(bash "$here/build-initramfs.sh" "$kver" "$cache") || die "could not build the initramfs"
  # Built here, where it is fast; the guest then only finds it up to date.
  bash "$repo/rootfs-fixtures/busybox.sh" >/dev/null || die "could not build the busybox fixture"

  run=$(mktemp -d "${TMPDIR:-/tmp}/tsrun-vm.XXXXXX")
  mkdir "$run/results"
  {
    echo "cd $(printf '%q' "$repo") || exit 1"
    echo "export TSRUN_VM=1 TSRUN_VM_RESULTS=/run/tsrun-vm"
    # The guest kernel loads no bridge, veth or nf_tables modules: its tier
    # tests cgroup v2, so containers there default to --network none.
    echo "export TSRUN_DEFAULT_NETWORK=none"
    if [ -n "${TSRUN_VM_CMD:-}" ]; then
      echo "$TSRUN_VM_CMD"
    else
      printf 'exec node node_modules/vitest/vitest.mjs run --config vitest.vm.config.ts'
      [ $# -eq 0 ] || printf ' %q' "$@"
      echo
    fi
  } >"$run/results/cmd.sh"

  trap cleanup EXIT
  trap 'keep=1; echo; say "FAILED: interrupted"; exit 130' INT TERM

  say "booting $kernel under QEMU/TCG (${cpus} CPUs, ${mem} MiB; limit ${timeout_s}s)"
  start=$SECONDS
  "$qemu" -accel "tcg,thread=$tcg_thread" -cpu "$cpu_model" -m "$mem" -smp "$cpus" \
    -nodefaults -no-user-config -display none -no-reboot \
    -kernel "$kernel" -initrd "$initrd" \
    -append "console=ttyS0 quiet panic=1 tsrun_stage2=$here/guest.sh tsrun_cache=$cache_mode tsrun_guest_timeout=$guest_timeout" \
    -chardev "file,id=con,path=$run/console.log" -serial chardev:con \
    -virtfs local,path=/,mount_tag=hostroot,security_model=none,readonly=on,multidevs=remap \
    -virtfs "local,path=$run/results,mount_tag=results,security_model=none,multidevs=remap" \
    </dev/null >"$run/qemu.log" 2>&1 &
  qpid=$!
  : >>"$run/console.log"
  tail -n +1 -s 0.5 -F --pid="$qpid" "$run/console.log" 2>/dev/null &
  tpid=$!

  timed_out=0 reached=''
  while kill -0 "$qpid" 2>/dev/null; do
    if [ -z "$reached" ] && [ -f "$run/results/booted" ]; then reached=$((SECONDS - start)); fi
    if ((SECONDS - start >= timeout_s)); then
      timed_out=1
      kill -TERM "$qpid" 2>/dev/null || true
      sleep 3
      kill -KILL "$qpid" 2>/dev/null || true
      break
    fi
    sleep 1
  done
  qrc=0
  wait "$qpid" || qrc=$?
  qpid=''
  wait "$tpid" 2>/dev/null || true
  tpid=''
  total=$((SECONDS - start))
  echo

  r=$run/results
  summary=$(grep -aE '^[0-9]+ passed, [0-9]+ failed, [0-9]+ skipped$' "$r/output.log" 2>/dev/null | tail -n 1 || true)
  status=$(cat "$r/status" 2>/dev/null || true)
  if [ -f "$r/booted" ]; then
    say "guest booted in $(cat "$r/booted")s of its uptime, ${reached:-?}s after QEMU started; ${total}s in all"
  fi

  verdict=''
  if [ "$timed_out" = 1 ]; then
    verdict="timeout: the VM ran over ${timeout_s}s (TSRUN_VM_TIMEOUT) and was killed"
  elif [ ! -f "$r/booted" ]; then
    verdict="boot failure: the guest never reached the tests (QEMU exit $qrc)"
    [ ! -s "$run/qemu.log" ] || { say "QEMU said:"; cat "$run/qemu.log"; }
  elif [ -z "$status" ]; then
    verdict="the VM stopped before the tests finished (guest crash or power-off; QEMU exit $qrc)"
  elif [ "$status" = 124 ] || [ "$status" = 137 ]; then
    verdict="timeout: the guest watchdog stopped vitest after ${guest_timeout}s"
  elif [ -n "${TSRUN_VM_CMD:-}" ]; then
    [ "$status" = 0 ] || verdict="TSRUN_VM_CMD exited with status $status"
  elif [ -z "$summary" ]; then
    verdict="vitest exited with status $status and printed no summary line"
  elif [ "$status" != 0 ] || ! [[ $summary =~ ^[0-9]+\ passed,\ 0\ failed ]]; then
    verdict="test failure: vitest exited with status $status"
  elif [[ $summary =~ ^0\ passed ]]; then
    # Every VM test needs what the VM provides: all skipped means it did not.
    verdict="no test passed (all skipped or filtered out)"
  fi

  if [ -n "$verdict" ]; then
    keep=quiet
    say "logs kept in $run (console.log, qemu.log, results/)"
    say "FAILED: $verdict"
    [ -z "$summary" ] || echo "$summary"
    exit 1
  fi
  [ "$keep" != 1 ] || { keep=quiet; say "kept $run"; }
  say "passed"
  [ -z "$summary" ] || echo "$summary"
}

main "$@"
exit
