// User namespaces. The parent (host root, Node's main thread) writes a new
// namespace's id maps and builds the container's idmapped rootfs between
// clone and SYNC_GO; the child attaches that rootfs, opens every host path
// it will need while it still has the caller's identity, and only then
// becomes the namespace's root (its mounts then create files as a uid the
// namespace maps). Device nodes are bind-mounted from the host, since mknod
// is refused in a user namespace (as in runc).
//
// The rootfs: the image's layers are shared and never chowned. A tree on a
// filesystem with idmapped-mount support is cloned and idmapped as a whole
// (open_tree + mount_setattr(MOUNT_ATTR_IDMAP)). An overlay cannot be
// idmapped itself (the kernel answers EINVAL: overlayfs has no
// FS_ALLOW_IDMAP), so a new overlay is made over idmapped *layers*: each
// lower dir and the dir holding upper and work become idmapped detached
// mounts, handed to overlay by fd (fsconfig FSCONFIG_SET_FD "lowerdir+",
// "upperdir", "workdir": Linux 6.13; detached layers: 6.15). The overlay's
// creator credentials do its own work-dir and copy-up operations, so they
// are taken with fsuid/fsgid set to a host id the namespace maps (else:
// EOVERFLOW, and overlay falls back to read-only). What lands on disk is
// in the container's id space, as without a user namespace, so the host's
// view of the container (cp, diff, commit) reads the same ids. The result
// is a detached mount: it never appears in the host's mount table, and
// goes away with the container's mount namespace.
//
// Syscalls: open, write (/proc/PID/uid_map, gid_map), open_tree,
// mount_setattr, fsopen, fsconfig, fsmount, openat, read (the fs context
// log), setfsuid, setfsgid, capget, capset (the calling thread only),
// move_mount, setresgid, setresuid, prctl(PR_SET_PDEATHSIG).
#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <vector>

#include "child.h"
#include "userns.h"

// ---------------------------------------------------------------- parent

static int fail(sync_msg *err, int e, const char *syscall, const char *path, const char *step = "idmap") {
  memset(err, 0, sizeof *err);
  err->err = e;
  strncpy(err->step, step, sizeof err->step - 1);
  strncpy(err->syscall, syscall, sizeof err->syscall - 1);
  if (path) strncpy(err->path, path, sizeof err->path - 1);
  return -1;
}

static int write_map(pid_t pid, const char *file, const char *map, sync_msg *err) {
  char path[64];
  snprintf(path, sizeof path, "/proc/%d/%s", (int)pid, file);
  int fd = open(path, O_WRONLY | O_CLOEXEC);
  if (fd < 0) return fail(err, errno, "open", path, "userns");
  size_t len = strlen(map);
  // The kernel takes a map in a single write.
  ssize_t n = write(fd, map, len);
  int e = errno;
  close(fd);
  return n == (ssize_t)len ? 0 : fail(err, n < 0 ? e : EIO, "write", path, "userns");
}

// A detached clone of `path`, idmapped to the namespace of `userns_fd`.
static int idmapped_clone(const char *path, int userns_fd, bool recursive, sync_msg *err) {
  unsigned rec = recursive ? AT_RECURSIVE : 0;
  int t = (int)syscall(SYS_open_tree, AT_FDCWD, path, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | rec);
  if (t < 0) return fail(err, errno, "open_tree", path);
  struct mount_attr attr = {};
  attr.attr_set = MOUNT_ATTR_IDMAP;
  attr.userns_fd = (uint64_t)userns_fd;
  if (syscall(SYS_mount_setattr, t, "", AT_EMPTY_PATH | rec, &attr, sizeof attr) != 0) {
    int e = errno;
    close(t);
    return fail(err, e, "mount_setattr", path);
  }
  return t;
}

// The kernel's own words for a failed fsconfig, from the context's log.
static void fs_log(int fs, sync_msg *err) {
  char buf[512];
  ssize_t n = read(fs, buf, sizeof buf - 1);
  if (n <= 2) return;
  buf[n] = 0;
  if (buf[n - 1] == '\n') buf[n - 1] = 0;
  size_t at = strlen(err->path);
  snprintf(err->path + at, sizeof err->path - at, "%s(%s)", at ? " " : "", buf + 2);  // "e message"
}

static int set_layer(int fs, const char *key, int fd, const char *path, sync_msg *err) {
  if (syscall(SYS_fsconfig, fs, FSCONFIG_SET_FD, key, nullptr, fd) == 0) return 0;
  fail(err, errno, "fsconfig", path);
  fs_log(fs, err);
  return -1;
}

// Overlay's creator credentials: fsuid/fsgid of the mounter, the effective
// capabilities it had (setfsuid drops the file ones). Per thread.
struct thread_creds {
  struct __user_cap_header_struct hdr;
  struct __user_cap_data_struct caps[2];
  int fsuid, fsgid;
};

// Returns 0 with the mounter's credentials taken; -1 with errno, after
// which restore_creds must still be called.
static int take_mounter_creds(uid_t uid, gid_t gid, thread_creds *saved) {
  saved->hdr = {_LINUX_CAPABILITY_VERSION_3, 0};
  saved->fsuid = saved->fsgid = -1;  // setfsuid(-1) changes nothing
  if (syscall(SYS_capget, &saved->hdr, saved->caps) != 0) {
    saved->hdr.version = 0;  // nothing to restore
    return -1;
  }
  saved->fsgid = (int)syscall(SYS_setfsgid, gid);
  saved->fsuid = (int)syscall(SYS_setfsuid, uid);
  // setfsuid reports no error; ask again (an invalid id fails and answers the current one).
  if ((uid_t)syscall(SYS_setfsuid, -1) != uid || (gid_t)syscall(SYS_setfsgid, -1) != gid) return -1;
  struct __user_cap_data_struct raised[2];
  memcpy(raised, saved->caps, sizeof raised);
  for (auto &d : raised) d.effective = d.permitted;
  return (int)syscall(SYS_capset, &saved->hdr, raised);
}

static void restore_creds(const thread_creds *saved) {
  if (!saved->hdr.version) return;
  syscall(SYS_setfsuid, saved->fsuid);
  syscall(SYS_setfsgid, saved->fsgid);
  // Back to 0, setfsuid raised the file capabilities again; now exactly the old sets.
  syscall(SYS_capset, &saved->hdr, saved->caps);
}

static int open_beneath(int dirfd, const char *rel, const char *what, sync_msg *err) {
  int fd = openat(dirfd, rel, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) fail(err, errno, "openat", what);
  return fd;
}

static int idmapped_overlay(const container_config *c, int userns_fd, sync_msg *err) {
  int fs = (int)syscall(SYS_fsopen, "overlay", FSOPEN_CLOEXEC);
  if (fs < 0) return fail(err, errno, "fsopen", "overlay");
  int rc = 0;
  // Every layer's fd stays open until the overlay exists: closing the last
  // fd of a detached mount dissolves it, and overlay then refuses the layer.
  std::vector<int> held;
  for (size_t i = 0; rc == 0 && i < c->n_idmap_lower; i++) {
    int l = idmapped_clone(c->idmap_lower[i], userns_fd, false, err);
    if (l >= 0) held.push_back(l);
    if (l < 0 || set_layer(fs, "lowerdir+", l, c->idmap_lower[i], err) != 0) rc = -1;
  }
  int base = -1, up = -1, work = -1;
  if (rc == 0 && (base = idmapped_clone(c->idmap_upper_base, userns_fd, false, err)) < 0) rc = -1;
  if (base >= 0) held.push_back(base);
  if (rc == 0 && (up = open_beneath(base, c->idmap_upper, c->idmap_upper, err)) < 0) rc = -1;
  if (up >= 0) held.push_back(up);
  if (rc == 0 && (work = open_beneath(base, c->idmap_work, c->idmap_work, err)) < 0) rc = -1;
  if (work >= 0) held.push_back(work);
  if (rc == 0 && set_layer(fs, "upperdir", up, c->idmap_upper, err) != 0) rc = -1;
  if (rc == 0 && set_layer(fs, "workdir", work, c->idmap_work, err) != 0) rc = -1;
  if (rc == 0) {
    thread_creds saved;
    if (take_mounter_creds(c->idmap_mounter_uid, c->idmap_mounter_gid, &saved) != 0) {
      int e = errno ? errno : EPERM;
      restore_creds(&saved);
      rc = fail(err, e, "setfsuid", "overlay");
    } else {
      int r = (int)syscall(SYS_fsconfig, fs, FSCONFIG_CMD_CREATE, nullptr, nullptr, 0);
      int e = errno;
      restore_creds(&saved);
      if (r != 0) {
        rc = fail(err, e, "fsconfig", "overlay");
        fs_log(fs, err);
      }
    }
  }
  int mnt = -1;
  if (rc == 0 && (mnt = (int)syscall(SYS_fsmount, fs, FSMOUNT_CLOEXEC, 0)) < 0) fail(err, errno, "fsmount", "overlay");
  close(fs);
  for (int fd : held) close(fd);
  return mnt;
}

int userns_parent_setup(const container_config *c, pid_t pid, int *rootfs_fd, sync_msg *err) {
  *rootfs_fd = -1;
  // setgroups stays allowed: the maps are written by a privileged process.
  if (c->uid_map && write_map(pid, "uid_map", c->uid_map, err) != 0) return -1;
  if (c->gid_map && write_map(pid, "gid_map", c->gid_map, err) != 0) return -1;
  if (!c->idmap_rootfs) return 0;
  char path[64];
  const char *ns = path;
  snprintf(path, sizeof path, "/proc/%d/ns/user", (int)pid);
  if (!(c->clone_flags & CLONE_NEWUSER))
    for (size_t i = 0; i < c->n_joins; i++)
      if (c->joins[i].flag == CLONE_NEWUSER) ns = c->joins[i].path;
  int userns_fd = open(ns, O_RDONLY | O_CLOEXEC);
  if (userns_fd < 0) return fail(err, errno, "open", ns);
  *rootfs_fd = c->n_idmap_lower ? idmapped_overlay(c, userns_fd, err) : idmapped_clone(c->rootfs, userns_fd, true, err);
  close(userns_fd);
  return *rootfs_fd < 0 ? -1 : 0;
}

int userns_parent_late(int sync_fd, const container_config *c, pid_t pid, sync_msg *err) {
  int rootfs_fd = -1;
  if (userns_parent_setup(c, pid, &rootfs_fd, err) != 0) return -1;
  sync_msg done = {};
  done.type = SYNC_USERNS_DONE;
  ssize_t sent = rootfs_fd >= 0 ? send_with_fd(sync_fd, &done, sizeof done, rootfs_fd) : send(sync_fd, &done, sizeof done, MSG_NOSIGNAL);
  int e = errno;
  if (rootfs_fd >= 0) close(rootfs_fd);
  return sent == (ssize_t)sizeof done ? 0 : fail(err, e, "send", nullptr, "userns");
}

// ----------------------------------------------------------------- child

void child_userns_unshare(const container_config *c) {
  unsigned long rest = (unsigned long)c->clone_flags & ~(unsigned long)CLONE_NEWPID;
  if (rest & CLONE_NEWUSER) {
    if (unshare(CLONE_NEWUSER) != 0) child_fail("namespaces", "unshare", "user");
    sync_msg m;
    memset(&m, 0, sizeof m);
    m.type = SYNC_USERNS;
    if (send(g_child_sync_fd, &m, sizeof m, MSG_NOSIGNAL) != (ssize_t)sizeof m) child_fail("userns", "send", nullptr);
    int fd = -1;
    ssize_t n = recv_with_fd(g_child_sync_fd, &m, sizeof m, &fd);
    // Anything else: the parent reported the failure itself.
    if (n != (ssize_t)sizeof m || m.type != SYNC_USERNS_DONE) _exit(1);
    const_cast<container_config *>(c)->rootfs_mount_fd = fd;
    rest &= ~(unsigned long)CLONE_NEWUSER;
  }
  if (rest && unshare((int)rest) != 0) child_fail("namespaces", "unshare", nullptr);
  if ((c->clone_flags & CLONE_NEWPID) && unshare(CLONE_NEWPID) != 0) child_fail("namespaces", "unshare", "pid");
}

bool child_userns_attach_rootfs(const container_config *c) {
  if (c->rootfs_mount_fd < 0) return false;
  // Over the rootfs path in our own mount namespace; the host never sees it.
  if (syscall(SYS_move_mount, c->rootfs_mount_fd, "", AT_FDCWD, c->rootfs, MOVE_MOUNT_F_EMPTY_PATH) != 0)
    child_fail("rootfs", "move_mount", c->rootfs);
  close(c->rootfs_mount_fd);
  return true;
}

void child_userns_open_sources(const container_config *c) {
  if (!c->userns) return;
  // The mount and device lists are this process's own copy (clone without
  // CLONE_VM), so filling in the fds here touches nothing of the parent.
  for (size_t i = 0; i < c->n_mounts; i++) {
    mount_spec *m = const_cast<mount_spec *>(&c->mounts[i]);
    if (!(m->flags & MS_BIND) || !m->source) continue;
    m->source_fd = open(m->source, O_PATH | O_CLOEXEC);
    if (m->source_fd < 0) child_fail("mount", "open", m->source);
  }
  for (size_t i = 0; i < c->n_devices; i++) {
    device_spec *d = const_cast<device_spec *>(&c->devices[i]);
    d->host_fd = open(d->path, O_PATH | O_CLOEXEC);
    if (d->host_fd < 0) child_fail("devices", "open", d->path);
  }
}

void child_userns_become_root(const container_config *c) {
  if (!c->userns) return;
  // Raw syscalls: glibc's wrappers would signal threads that exist only in
  // the parent. Fails (EINVAL) when the maps leave the namespace's 0 unmapped.
  if (syscall(SYS_setresgid, 0, 0, 0) != 0) child_fail("userns", "setresgid", nullptr);
  if (syscall(SYS_setresuid, 0, 0, 0) != 0) child_fail("userns", "setresuid", nullptr);
  // A change of credentials clears the parent-death signal.
  if (c->kill_on_parent_death) prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
}
