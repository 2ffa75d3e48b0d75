// Helpers for code that runs in the cloned child between clone and execve.
// Everything here is async-signal-safe: raw syscalls, no malloc, no stdio,
// no locks, no C++ exceptions. Failures go back to the parent as a
// SYNC_ERROR frame and the child exits.
#pragma once
#include <stddef.h>
#include <sys/types.h>
#include "config.h"

// The child's end of the sync socket; set once right after clone.
extern int g_child_sync_fd;

// Sends {step, errno, syscall, path} to the parent and exits with `code`.
[[noreturn]] void child_fail(const char *step, const char *syscall, const char *path, int code = 1);
// Same with an explicit errno value instead of the current errno.
[[noreturn]] void child_fail_errno(int err, const char *step, const char *syscall, const char *path, int code = 1);

// Bounded string helpers (no snprintf: not async-signal-safe).
size_t s_len(const char *s);
// Appends src to dst (capacity cap, always NUL-terminated); returns false if truncated.
bool s_append(char *dst, size_t cap, const char *src);
bool s_append_uint(char *dst, size_t cap, unsigned long v);
bool s_eq(const char *a, const char *b);

// One sendmsg of data with fd attached (SCM_RIGHTS); used by the child, the
// launcher and the addon alike.
ssize_t send_with_fd(int sock, const void *data, size_t len, int fd);
// One recvmsg of exactly len bytes (EINTR retried); a passed fd lands in
// *fd (O_CLOEXEC), else *fd is left alone. Returns the bytes read or -1.
ssize_t recv_with_fd(int sock, void *data, size_t len, int *fd);

// Writes a whole buffer to a file opened at path (used for /proc knobs).
int write_file(const char *path, const char *data);

// Steps of the set-up, in the order spawn.cc calls them.
void child_join_namespaces(const container_config *c);    // netns.cc
void child_loopback_up();                                  // netns.cc
void child_prepare_rootfs(const container_config *c);     // mount.cc
// User namespaces (userns.cc), called by child_prepare_rootfs: attach the
// idmapped rootfs the parent sent (false: there is none), open the host
// paths the mounts need, then become the namespace's root.
bool child_userns_attach_rootfs(const container_config *c);
// userns_late: unshares the new user namespace, waits for its maps, then
// unshares the other new namespaces (CLONE_NEWPID: the caller forks next).
void child_userns_unshare(const container_config *c);
void child_userns_open_sources(const container_config *c);
void child_userns_become_root(const container_config *c);
void child_enter_rootfs(const container_config *c);       // mount.cc
void chroot_in_place(const char *rootfs, int dirfd);       // mount.cc
void child_mask_paths(const container_config *c);         // mount.cc
void child_setup_console(const container_config *c);      // console.cc
void child_setup_stdio(const container_config *c);        // console.cc
void child_set_process_limits(const container_config *c); // process.cc
void child_wait_start(const container_config *c);         // process.cc
void child_bounding_set(const container_config *c);       // caps.cc
void child_switch_user(const container_config *c);        // process.cc
void child_capabilities(const container_config *c);       // caps.cc
void child_sysctls(const container_config *c);           // sysctl.cc
void child_seccomp(const container_config *c);           // seccomp.cc
void child_apparmor(const container_config *c);          // apparmor.cc
// Runs a hook list with the state document; fails the child on error.
void child_run_hooks(const container_config *c, const hook_list *list, const char *state, const char *phase); // hooks.cc
// Asks the parent to run the createRuntime hooks and waits for its answer.
void child_sync_hooks(const container_config *c);        // spawn.cc
void child_drop_inherited_fds(const container_config *c); // process.cc
void child_close_fds(const container_config *c);                                    // process.cc
[[noreturn]] void child_exec(const container_config *c);   // process.cc
void child_init_disguise();                                // init.cc
[[noreturn]] void child_run_init(const container_config *c); // init.cc
