// Plain C structures for one container's first process. The N-API side
// (config.cc) copies a validated JS object into these *before* clone, so the
// child only reads memory it already owns and never allocates.
#pragma once
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct mount_spec {
  const char *source;  // may be NULL
  const char *target;  // absolute path inside the container
  const char *fstype;  // may be NULL
  const char *data;    // may be NULL
  unsigned long flags;
  unsigned long propagation;
  unsigned long remount_flags;
  bool target_is_file;
};

struct device_spec {
  const char *path;
  mode_t type;  // S_IFCHR, S_IFBLK or S_IFIFO
  unsigned major, minor;
  mode_t mode;
  uid_t uid;
  gid_t gid;
};

struct rlimit_spec {
  int resource;
  uint64_t soft, hard;
};

struct ns_join {
  int flag;  // CLONE_NEW*
  const char *path;
};

struct sysctl_spec {
  const char *key;  // "net.ipv4.ip_forward" or "net/ipv4/ip_forward"
  const char *value;
};

struct hook_spec {
  const char *path;
  char *const *argv;  // NULL-terminated; argv[0] is the hook's own
  char *const *envp;  // NULL-terminated
  int timeout_s;      // 0: no limit
};

struct hook_list {
  const hook_spec *items;
  size_t n;
};

struct container_config {
  const char *rootfs;
  bool readonly_root;
  bool no_pivot;
  int clone_flags;
  const ns_join *joins;
  size_t n_joins;
  const char *hostname;  // may be NULL
  const mount_spec *mounts;
  size_t n_mounts;
  const device_spec *devices;
  size_t n_devices;
  const char *const *masked;
  size_t n_masked;
  const char *const *readonly;
  size_t n_readonly;
  char *const *argv;  // NULL-terminated
  char *const *envp;  // NULL-terminated
  const char *path_env;  // value of PATH in envp, or NULL
  const char *cwd;
  uid_t uid;
  gid_t gid;
  const gid_t *groups;
  size_t n_groups;
  int umask;  // -1: inherit
  uint64_t cap_bounding, cap_effective, cap_permitted, cap_inheritable, cap_ambient;
  const rlimit_spec *rlimits;
  size_t n_rlimits;
  bool no_new_privs;
  bool has_oom_score_adj;
  int oom_score_adj;
  bool terminal;
  unsigned short rows, cols;
  int stdio[3];
  bool init;
  bool kill_on_parent_death;
  // O_PATH fd of the exec fifo (create/start split), or -1: the child stops
  // before execve until `start` opens the fifo for reading.
  int exec_fifo_fd;
  // Written under /proc/sys after the rootfs is entered, before the
  // read-only paths are applied.
  const sysctl_spec *sysctls;
  size_t n_sysctls;
  // A compiled filter (struct sock_filter[seccomp_len]) or NULL.
  const void *seccomp_filter;
  size_t seccomp_len;
  unsigned seccomp_flags;
  // OCI hooks the runtime runs itself: createRuntime (prestart included)
  // in the parent, createContainer and startContainer in the child.
  hook_list create_runtime, create_container, start_container;
  // The state JSON hooks get on stdin, minus its opening '{' and the pid,
  // which only the parent knows (sent with SYNC_GO into host_pid).
  const char *state_creating;
  const char *state_created;
  pid_t host_pid;
  // `exec` into a running container: namespaces are joined, not made, so
  // the rootfs, hostname and loopback steps are skipped.
  bool exec_mode;
};
