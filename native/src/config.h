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
  // In a user namespace: an O_PATH fd of the bind source, opened by the
  // child before it becomes the namespace's root (userns.cc), or -1.
  int source_fd;
};

struct device_spec {
  const char *path;
  mode_t type;  // S_IFCHR, S_IFBLK or S_IFIFO
  unsigned major, minor;
  mode_t mode;
  uid_t uid;
  gid_t gid;
  // In a user namespace (no mknod there): an O_PATH fd of the host's node
  // at `path`, bind-mounted instead (userns.cc), or -1.
  int host_fd;
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
  // No mount namespace of its own (runc allows it): the rootfs and its
  // mounts live in the host's table (the engine unmounts them at delete),
  // nothing may propagate from them, and the container is chrooted.
  bool host_mount_ns;
  // fds 3 .. 3+preserve_fds-1 pass into the container (runc --preserve-fds).
  int preserve_fds;
  // process.apparmorProfile, applied at execve (apparmor.cc), or NULL.
  const char *apparmor_profile;
  // exec into such a container: chroot here after joining (else NULL).
  const char *exec_chroot;
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
  // User namespaces (userns.cc). `userns`: the process ends up in one, new
  // (CLONE_NEWUSER in clone_flags) or joined (a CLONE_NEWUSER join, made
  // first); the child becomes its root once it has opened every host path
  // it needs. uid_map/gid_map ("ID HOSTID SIZE\n" lines, or NULL) are
  // written by the parent to /proc/PID/{uid,gid}_map before SYNC_GO.
  bool userns;
  // A user namespace together with namespaces joined by path (not exec):
  // clone makes no namespace; the child joins, then unshares the user
  // namespace (SYNC_USERNS: the parent writes its maps), then the other
  // new namespaces, so that it owns them (runc's order).
  bool userns_late;
  // The monitor's launcher entered the pid namespace to join before it
  // cloned us: we are born in it, so the join and its fork are skipped.
  bool pid_ns_entered;
  const char *uid_map;
  const char *gid_map;
  // The rootfs seen through an idmapped mount of the container's user
  // namespace, built by the parent before SYNC_GO and passed with it.
  // Without lower dirs, root.path itself (a tree on a filesystem that
  // supports idmapped mounts); with them, a new overlay over idmapped
  // layers: idmap_lower (top first), and upper/work relative to
  // idmap_upper_base (they must share one mount). The overlay's mounter
  // (its creator credentials) is idmap_mounter_uid/gid, a host id the
  // namespace maps, so overlay's own work files map onto the disk.
  bool idmap_rootfs;
  const char *const *idmap_lower;
  size_t n_idmap_lower;
  const char *idmap_upper_base;
  const char *idmap_upper;
  const char *idmap_work;
  uid_t idmap_mounter_uid;
  gid_t idmap_mounter_gid;
  // Child: the detached idmapped rootfs received with SYNC_GO, or -1.
  int rootfs_mount_fd;
};
