// The container's filesystem view: mount propagation, the rootfs bind,
// spec mounts resolved inside the rootfs, device nodes, pivot_root (with a
// MS_MOVE + chroot fallback), masked and read-only paths. What differs in
// a user namespace (the idmapped rootfs, opened sources, bind-mounted
// device nodes) is prepared in userns.cc.
// Syscalls: mount, umount2, openat2, mkdirat, openat, mknodat, symlinkat,
// fchownat, pivot_root, chroot, chdir, fchdir, statvfs.
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "child.h"

// Opens `path` beneath `rootfd` the way the container will see it: absolute
// symlinks and ".." cannot leave the rootfs (a hostile image may point
// /proc or a volume target at a host path).
static int open_in_root(int rootfd, const char *path) {
  struct open_how how = {};
  how.flags = O_PATH | O_CLOEXEC;
  how.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS;
  return (int)syscall(SYS_openat2, rootfd, path, &how, sizeof how);
}

// Like open_in_root, creating missing directories (and the last component
// as an empty file when `as_file`), one component at a time.
static int mkpath_in_root(int rootfd, const char *path, bool as_file) {
  int fd = open_in_root(rootfd, path);
  if (fd >= 0 || errno != ENOENT) return fd;
  char prefix[1024] = "";
  const char *p = path;
  while (*p) {
    while (*p == '/') p++;
    if (!*p) break;
    const char *end = p;
    while (*end && *end != '/') end++;
    char comp[256];
    size_t n = (size_t)(end - p);
    if (n >= sizeof comp) { errno = ENAMETOOLONG; return -1; }
    for (size_t i = 0; i < n; i++) comp[i] = p[i];
    comp[n] = 0;
    bool last = true;
    for (const char *q = end; *q; q++) if (*q != '/') { last = false; break; }
    int parent = open_in_root(rootfd, prefix[0] ? prefix : "/");
    if (parent < 0) return -1;
    if (!s_append(prefix, sizeof prefix, "/") || !s_append(prefix, sizeof prefix, comp)) {
      close(parent);
      errno = ENAMETOOLONG;
      return -1;
    }
    int probe = open_in_root(rootfd, prefix);
    if (probe >= 0) {
      close(probe);
    } else if (errno == ENOENT) {
      int r;
      if (last && as_file) {
        r = openat(parent, comp, O_CREAT | O_EXCL | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0644);
        if (r >= 0) close(r);
      } else {
        r = mkdirat(parent, comp, 0755);
      }
      // EEXIST here is a dangling symlink; reopening below reports it.
      if (r < 0 && errno != EEXIST) { int e = errno; close(parent); errno = e; return -1; }
    } else {
      close(parent);
      return -1;
    }
    close(parent);
    p = end;
  }
  return open_in_root(rootfd, path);
}

static void fd_path(char *buf, size_t cap, int fd) {
  buf[0] = 0;
  s_append(buf, cap, "/proc/self/fd/");
  s_append_uint(buf, cap, (unsigned long)fd);
}

// Mount flags a bind remount must keep, or the kernel refuses (locked
// flags) or silently drops them.
static unsigned long kept_flags(const char *path) {
  struct statvfs st;
  if (statvfs(path, &st) != 0) return 0;
  unsigned long f = 0;
  if (st.f_flag & ST_NOSUID) f |= MS_NOSUID;
  if (st.f_flag & ST_NODEV) f |= MS_NODEV;
  if (st.f_flag & ST_NOEXEC) f |= MS_NOEXEC;
  if (st.f_flag & ST_NOATIME) f |= MS_NOATIME;
  if (st.f_flag & ST_NODIRATIME) f |= MS_NODIRATIME;
  if (st.f_flag & ST_RELATIME) f |= MS_RELATIME;
  return f;
}

static void do_spec_mount(int rootfd, const mount_spec *m, bool userns) {
  int fd = mkpath_in_root(rootfd, m->target, m->target_is_file);
  if (fd < 0) child_fail("mount", "openat2", m->target);
  char p[64], src[64];
  fd_path(p, sizeof p, fd);
  // In a user namespace the source was opened before we became its root.
  if (m->source_fd >= 0) fd_path(src, sizeof src, m->source_fd);
  unsigned long remount = m->remount_flags;
  if (mount(m->source_fd >= 0 ? src : m->source, p, m->fstype, m->flags, m->data) != 0) {
    // sysfs needs a network namespace the user namespace owns; with the
    // host's, bind the host's /sys (read-only when asked), as runc does.
    bool sysfs = userns && errno == EPERM && m->fstype && s_eq(m->fstype, "sysfs");
    if (!sysfs || mount("/sys", p, nullptr, MS_BIND | MS_REC, nullptr) != 0) child_fail("mount", "mount", m->target);
    remount = m->flags & (MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC);
  }
  close(fd);
  if (m->source_fd >= 0) close(m->source_fd);
  if (!remount && !m->propagation) return;
  // Reopen: the old fd names the covered directory, not the new mount.
  fd = open_in_root(rootfd, m->target);
  if (fd < 0) child_fail("mount", "openat2", m->target);
  fd_path(p, sizeof p, fd);
  if (remount && mount(nullptr, p, nullptr, MS_BIND | MS_REMOUNT | remount | kept_flags(p), nullptr) != 0)
    child_fail("mount", "mount", m->target);
  if (m->propagation && mount(nullptr, p, nullptr, m->propagation, nullptr) != 0)
    child_fail("mount", "mount", m->target);
  close(fd);
}

static void make_device(int rootfd, const device_spec *d) {
  // Split into parent dir + name so mknodat works on a resolved directory.
  const char *slash = d->path;
  for (const char *q = d->path; *q; q++) if (*q == '/') slash = q;
  char dir[1024] = "";
  for (const char *q = d->path; q < slash && s_len(dir) + 1 < sizeof dir; q++) {
    char c[2] = {*q, 0};
    s_append(dir, sizeof dir, c);
  }
  int parent = mkpath_in_root(rootfd, dir[0] ? dir : "/", false);
  if (parent < 0) child_fail("devices", "openat2", d->path);
  const char *name = slash + 1;
  unlinkat(parent, name, 0);
  if (d->host_fd >= 0) {
    // A user namespace may not mknod: bind the host's node (userns.cc
    // opened it); its owner and mode are the host's, as in runc.
    int target = mkpath_in_root(rootfd, d->path, true);
    if (target < 0) child_fail("devices", "openat2", d->path);
    char src[64], dst[64];
    fd_path(src, sizeof src, d->host_fd);
    fd_path(dst, sizeof dst, target);
    if (mount(src, dst, nullptr, MS_BIND, nullptr) != 0) child_fail("devices", "mount", d->path);
    close(target);
    close(d->host_fd);
    close(parent);
    return;
  }
  if (mknodat(parent, name, d->type | (d->mode & 07777), makedev(d->major, d->minor)) != 0)
    child_fail("devices", "mknod", d->path);
  if (fchownat(parent, name, d->uid, d->gid, AT_SYMLINK_NOFOLLOW) != 0) child_fail("devices", "fchownat", d->path);
  // mknod is subject to the umask; set the mode the spec asked for.
  if (fchmodat(parent, name, d->mode & 07777, 0) != 0) child_fail("devices", "fchmodat", d->path);
  close(parent);
}

static void dev_symlinks(int rootfd) {
  static const char *const links[][2] = {
      {"/proc/self/fd", "fd"},      {"/proc/self/fd/0", "stdin"}, {"/proc/self/fd/1", "stdout"},
      {"/proc/self/fd/2", "stderr"}, {"pts/ptmx", "ptmx"},        {"/proc/kcore", "core"},
  };
  int dev = open_in_root(rootfd, "/dev");
  if (dev < 0) return;  // no /dev mount requested
  for (auto &l : links) {
    if (symlinkat(l[0], dev, l[1]) != 0 && errno != EEXIST) child_fail("devices", "symlink", l[1]);
  }
  close(dev);
}

// The rootfs mount, opened once: from the user namespace's root on, the
// path may not be reachable (a 0700 state directory).
static int g_rootfd = -1;

void child_prepare_rootfs(const container_config *c) {
  // Nothing we mount may propagate back to the host.
  if (!c->host_mount_ns && mount(nullptr, "/", nullptr, MS_REC | MS_SLAVE, nullptr) != 0) child_fail("rootfs", "mount", "/");
  // pivot_root needs the new root to be a mount point: an idmapped rootfs
  // is one, else bind the path onto itself.
  if (!child_userns_attach_rootfs(c) && mount(c->rootfs, c->rootfs, nullptr, MS_BIND | MS_REC, nullptr) != 0)
    child_fail("rootfs", "mount", c->rootfs);
  // In the host's namespace only the rootfs's own tree changes: private, so
  // none of the mounts made below it reaches the host's other mounts.
  if (c->host_mount_ns && mount(nullptr, c->rootfs, nullptr, MS_REC | MS_PRIVATE, nullptr) != 0)
    child_fail("rootfs", "mount", c->rootfs);
  int rootfd = g_rootfd = open(c->rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (rootfd < 0) child_fail("rootfs", "open", c->rootfs);
  child_userns_open_sources(c);
  child_userns_become_root(c);
  for (size_t i = 0; i < c->n_mounts; i++) do_spec_mount(rootfd, &c->mounts[i], c->userns);
  mode_t old = umask(0);
  for (size_t i = 0; i < c->n_devices; i++) make_device(rootfd, &c->devices[i]);
  umask(old);
  dev_symlinks(rootfd);
}

static void chroot_into(const char *rootfs) {
  if (fchdir(g_rootfd) != 0) child_fail("pivot_root", "fchdir", rootfs);
  if (mount(".", "/", nullptr, MS_MOVE, nullptr) != 0) child_fail("pivot_root", "mount", rootfs);
  if (chroot(".") != 0) child_fail("pivot_root", "chroot", rootfs);
  if (chdir("/") != 0) child_fail("pivot_root", "chdir", "/");
  close(g_rootfd);
}

// chroot without moving the rootfs mount: in the host's mount namespace
// MS_MOVE onto "/" would replace the host's root.
void chroot_in_place(const char *rootfs, int dirfd) {
  if ((dirfd >= 0 ? fchdir(dirfd) : chdir(rootfs)) != 0) child_fail("chroot", "chdir", rootfs);
  if (chroot(".") != 0) child_fail("chroot", "chroot", rootfs);
  if (chdir("/") != 0) child_fail("chroot", "chdir", "/");
}

void child_enter_rootfs(const container_config *c) {
  if (c->host_mount_ns) {
    chroot_in_place(c->rootfs, g_rootfd);
    close(g_rootfd);
    return;
  }
  if (c->no_pivot) return chroot_into(c->rootfs);
  int oldroot = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (oldroot < 0) child_fail("pivot_root", "open", "/");
  int newroot = g_rootfd;
  if (fchdir(newroot) != 0) child_fail("pivot_root", "fchdir", c->rootfs);
  // pivot_root(".", ".") stacks the old root on top of the new one; we then
  // detach it so no path in the container leads back to the host.
  if (syscall(SYS_pivot_root, ".", ".") != 0) {
    // EINVAL: the current root cannot be pivoted (initramfs / ramfs).
    if (errno != EINVAL) child_fail("pivot_root", "pivot_root", c->rootfs);
    close(oldroot);
    return chroot_into(c->rootfs);
  }
  if (fchdir(oldroot) != 0) child_fail("pivot_root", "fchdir", "/");
  if (mount(nullptr, ".", nullptr, MS_SLAVE | MS_REC, nullptr) != 0) child_fail("pivot_root", "mount", "/");
  if (umount2(".", MNT_DETACH) != 0) child_fail("pivot_root", "umount2", "/");
  if (chdir("/") != 0) child_fail("pivot_root", "chdir", "/");
  close(oldroot);
  close(newroot);
}

void child_mask_paths(const container_config *c) {
  for (size_t i = 0; i < c->n_masked; i++) {
    const char *p = c->masked[i];
    struct stat st;
    if (stat(p, &st) != 0) {
      if (errno == ENOENT) continue;
      child_fail("masked_paths", "stat", p);
    }
    int r = S_ISDIR(st.st_mode) ? mount("tmpfs", p, "tmpfs", MS_RDONLY, nullptr)
                                : mount("/dev/null", p, nullptr, MS_BIND, nullptr);
    if (r != 0) child_fail("masked_paths", "mount", p);
  }
  for (size_t i = 0; i < c->n_readonly; i++) {
    const char *p = c->readonly[i];
    if (mount(p, p, nullptr, MS_BIND | MS_REC, nullptr) != 0) {
      if (errno == ENOENT) continue;
      child_fail("readonly_paths", "mount", p);
    }
    if (mount(nullptr, p, nullptr, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_REC | kept_flags(p), nullptr) != 0)
      child_fail("readonly_paths", "mount", p);
  }
  if (c->readonly_root &&
      mount(nullptr, "/", nullptr, MS_BIND | MS_REMOUNT | MS_RDONLY | kept_flags("/"), nullptr) != 0)
    child_fail("readonly_root", "mount", "/");
}
