// tsrun's default seccomp profile, as data in Docker's profile format (the
// one `--security-opt seccomp=FILE` takes; src/spec/seccomp.ts resolves it
// against the container's capabilities). The policy is Docker's default
// profile's: an allow-list where everything not named fails with EPERM.
// What is left out on purpose (never allowed without a capability that
// makes it legitimate): keyctl, add_key and request_key (the keyring is not
// namespaced), userfaultfd, kexec_*, *_module, swapon/swapoff, acct,
// clock_settime and friends, namespace creation (unshare, setns, clone with
// CLONE_NEW* flags), mount and the new mount API, bpf, perf_event_open,
// syslog, open_by_handle_at, lookup_dcookie, quotactl, ptrace on old
// kernels, personality beyond the harmless values, and clone3 (answered
// ENOSYS, so libc falls back to clone, whose flags the filter can see).
import type { DockerSeccompProfile } from './seccomp.js';

const words = (s: string): string[] => s.trim().split(/\s+/);

// Alphabetical within each group; a group is a kind of work a process
// ordinarily does, so a reviewer can see why each name is here. Names newer
// than the host's libseccomp are skipped when compiling; calls it does not
// know at all get ENOSYS (see native/src/seccomp.cc), so libc falls back.
const ALWAYS_ALLOWED = [
  // files and directories
  `access chdir chmod chown chown32 creat faccessat faccessat2 fadvise64 fadvise64_64 fallocate fchdir fchmod
   fchmodat fchmodat2 fchown fchown32 fchownat fcntl fcntl64 fdatasync flock fstat fstat64 fstatat64 fstatfs fstatfs64
   fsync ftruncate ftruncate64 futimesat getcwd getdents getdents64 lchown lchown32 link linkat _llseek lseek
   lstat lstat64 mkdir mkdirat mknod mknodat name_to_handle_at newfstatat open openat openat2 readahead
   readlink readlinkat rename renameat renameat2 rmdir stat stat64 statfs statfs64 statx symlink symlinkat
   sync sync_file_range syncfs truncate truncate64 umask unlink unlinkat utime utimensat utimensat_time64 utimes`,
  // extended attributes
  `fgetxattr flistxattr fremovexattr fsetxattr getxattr getxattrat lgetxattr listxattr listxattrat llistxattr
   lremovexattr lsetxattr removexattr removexattrat setxattr setxattrat`,
  // reading, writing and moving data between descriptors
  `close close_range copy_file_range dup dup2 dup3 pipe pipe2 pread64 preadv preadv2 pwrite64 pwritev pwritev2 read readv
   sendfile sendfile64 splice tee vmsplice write writev`,
  // waiting for descriptors and events
  `epoll_create epoll_create1 epoll_ctl epoll_ctl_old epoll_pwait epoll_pwait2 epoll_wait epoll_wait_old
   eventfd eventfd2 fanotify_mark inotify_add_watch inotify_init inotify_init1 inotify_rm_watch _newselect
   pause poll ppoll ppoll_time64 pselect6 pselect6_time64 select signalfd signalfd4 timerfd_create
   timerfd_gettime timerfd_gettime64 timerfd_settime timerfd_settime64`,
  // asynchronous I/O
  `io_cancel io_destroy io_getevents io_pgetevents io_pgetevents_time64 io_setup io_submit io_uring_enter
   io_uring_register io_uring_setup ioctl ioprio_get ioprio_set`,
  // memory
  `brk cachestat madvise map_shadow_stack membarrier memfd_create memfd_secret mincore mlock mlock2 mlockall mmap mmap2 mprotect mremap
   mseal msync munlock munlockall munmap pkey_alloc pkey_free pkey_mprotect remap_file_pages`,
  // processes, threads and signals
  `capget capset execve execveat exit exit_group fork futex futex_requeue futex_time64 futex_wait futex_waitv
   futex_wake get_robust_list
   get_thread_area getcpu getpgid getpgrp getpid getppid getpriority getrlimit getrusage getsid gettid kill
   pidfd_open pidfd_send_signal prctl prlimit64 process_mrelease restart_syscall rseq rt_sigaction rt_sigpending
   rt_sigprocmask rt_sigqueueinfo rt_sigreturn rt_sigsuspend rt_sigtimedwait rt_sigtimedwait_time64
   rt_tgsigqueueinfo sched_get_priority_max sched_get_priority_min sched_getaffinity sched_getattr
   sched_getparam sched_getscheduler sched_rr_get_interval sched_rr_get_interval_time64 sched_setaffinity
   sched_setattr sched_setparam sched_setscheduler sched_yield seccomp set_robust_list set_thread_area
   set_tid_address setpgid setpriority setrlimit setsid sigaltstack sigprocmask sigreturn tgkill tkill
   ugetrlimit vfork wait4 waitid waitpid landlock_add_rule landlock_create_ruleset landlock_restrict_self`,
  // user and group identity (bounded by the capability set)
  `getegid getegid32 geteuid geteuid32 getgid getgid32 getgroups getgroups32 getresgid getresgid32 getresuid
   getresuid32 getuid getuid32 setfsgid setfsgid32 setfsuid setfsuid32 setgid setgid32 setgroups setgroups32
   setregid setregid32 setresgid setresgid32 setresuid setresuid32 setreuid setreuid32 setuid setuid32`,
  // time (reading it, and timers)
  `adjtimex alarm clock_adjtime clock_adjtime64 clock_getres clock_getres_time64 clock_gettime clock_gettime64
   clock_nanosleep clock_nanosleep_time64 getitimer gettimeofday nanosleep setitimer time timer_create
   timer_delete timer_getoverrun timer_gettime timer_gettime64 timer_settime timer_settime64 times`,
  // sockets (socket itself below, without AF_NETLINK's audit family)
  `accept accept4 bind connect getpeername getsockname getsockopt listen recv recvfrom recvmmsg
   recvmmsg_time64 recvmsg send sendmmsg sendmsg sendto setsockopt shutdown socketcall socketpair`,
  // System V and POSIX IPC (namespaced)
  `ipc mq_getsetattr mq_notify mq_open mq_timedreceive mq_timedreceive_time64 mq_timedsend
   mq_timedsend_time64 mq_unlink msgctl msgget msgrcv msgsnd semctl semget semop semtimedop semtimedop_time64
   shmat shmctl shmdt shmget`,
  // system information
  `getrandom sysinfo uname`,
].flatMap(words);

const allow = (names: string, extra: Partial<DockerSeccompProfile['syscalls'][number]> = {}) => ({
  names: words(names),
  action: 'SCMP_ACT_ALLOW',
  ...extra,
});
const withCap = (cap: string) => ({ includes: { caps: [cap] } });
const onArch = (...arches: string[]) => ({ includes: { arches } });
// personality(2) values that change nothing dangerous: PER_LINUX,
// PER_LINUX32, UNAME26, UNAME26|PER_LINUX32, and the query 0xffffffff.
const HARMLESS_PERSONALITIES = [0x0, 0x8, 0x20000, 0x20008, 0xffffffff];
// CLONE_NEWNS|NEWCGROUP|NEWUTS|NEWIPC|NEWUSER|NEWPID|NEWNET: without
// CAP_SYS_ADMIN, clone may set none of them.
const CLONE_NAMESPACE_FLAGS = 0x7e020000;

export const DEFAULT_SECCOMP_PROFILE: DockerSeccompProfile = {
  defaultAction: 'SCMP_ACT_ERRNO',
  defaultErrnoRet: 1, // EPERM
  archMap: [
    { architecture: 'SCMP_ARCH_X86_64', subArchitectures: ['SCMP_ARCH_X86', 'SCMP_ARCH_X32'] },
    { architecture: 'SCMP_ARCH_AARCH64', subArchitectures: ['SCMP_ARCH_ARM'] },
    { architecture: 'SCMP_ARCH_PPC64LE', subArchitectures: [] },
    { architecture: 'SCMP_ARCH_S390X', subArchitectures: ['SCMP_ARCH_S390'] },
    { architecture: 'SCMP_ARCH_RISCV64', subArchitectures: [] },
  ],
  syscalls: [
    { names: ALWAYS_ALLOWED, action: 'SCMP_ACT_ALLOW' },
    // Before 4.8 a ptraced process could escape the filter.
    allow('process_vm_readv process_vm_writev ptrace', { includes: { minKernel: '4.8' } }),
    // Every address family but AF_VSOCK (40), whose sockets are not namespaced.
    allow('socket', { args: [{ index: 0, value: 40, op: 'SCMP_CMP_NE' }] }),
    ...HARMLESS_PERSONALITIES.map((value) => allow('personality', { args: [{ index: 0, value, op: 'SCMP_CMP_EQ' }] })),
    allow('arch_prctl', onArch('amd64', 'x32')),
    allow('modify_ldt', onArch('amd64', 'x32', 'x86')),
    allow('sync_file_range2 swapcontext', onArch('ppc64le')),
    allow('arm_fadvise64_64 arm_sync_file_range sync_file_range2 breakpoint cacheflush set_tls', onArch('arm', 'arm64')),
    allow('s390_pci_mmio_read s390_pci_mmio_write s390_runtime_instr', onArch('s390', 's390x')),
    allow('riscv_flush_icache', onArch('riscv64')),
    // Capabilities that make a call legitimate.
    allow('open_by_handle_at', withCap('CAP_DAC_READ_SEARCH')),
    allow(
      `bpf clone clone3 fanotify_init fsconfig fsmount fsopen fspick lookup_dcookie mount mount_setattr move_mount
       open_tree perf_event_open quotactl quotactl_fd setdomainname sethostname setns syslog umount umount2 unshare`,
      withCap('CAP_SYS_ADMIN'),
    ),
    // Without CAP_SYS_ADMIN, clone may not make namespaces (s390 swaps the
    // first two arguments), and clone3, whose flags sit in memory a filter
    // cannot read, says ENOSYS so libc uses clone.
    allow('clone', {
      args: [{ index: 0, value: CLONE_NAMESPACE_FLAGS, op: 'SCMP_CMP_MASKED_EQ' }],
      excludes: { caps: ['CAP_SYS_ADMIN'], arches: ['s390', 's390x'] },
    }),
    allow('clone', {
      args: [{ index: 1, value: CLONE_NAMESPACE_FLAGS, op: 'SCMP_CMP_MASKED_EQ' }],
      includes: { arches: ['s390', 's390x'] },
      excludes: { caps: ['CAP_SYS_ADMIN'] },
    }),
    { names: ['clone3'], action: 'SCMP_ACT_ERRNO', errnoRet: 38 /* ENOSYS */, excludes: { caps: ['CAP_SYS_ADMIN'] } },
    allow('reboot', withCap('CAP_SYS_BOOT')),
    allow('chroot', withCap('CAP_SYS_CHROOT')),
    allow('delete_module init_module finit_module', withCap('CAP_SYS_MODULE')),
    allow('acct', withCap('CAP_SYS_PACCT')),
    allow('kcmp pidfd_getfd process_madvise process_vm_readv process_vm_writev ptrace', withCap('CAP_SYS_PTRACE')),
    allow('iopl ioperm', withCap('CAP_SYS_RAWIO')),
    allow('settimeofday stime clock_settime clock_settime64', withCap('CAP_SYS_TIME')),
    allow('vhangup', withCap('CAP_SYS_TTY_CONFIG')),
    allow('get_mempolicy mbind set_mempolicy set_mempolicy_home_node', withCap('CAP_SYS_NICE')),
    allow('syslog', withCap('CAP_SYSLOG')),
    allow('bpf', withCap('CAP_BPF')),
    allow('perf_event_open', withCap('CAP_PERFMON')),
  ],
};
