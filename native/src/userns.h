// The parent's side of a user namespace (userns.cc); the child's steps are
// declared in child.h with the others.
#pragma once
#include <sys/types.h>

#include "config.h"
#include "sync.h"

// After clone, before SYNC_GO: writes the id maps of a new user namespace
// and, when asked, builds the idmapped rootfs (*rootfs_fd, else -1) that
// travels to the child with SYNC_GO. Returns 0, or fills *err and returns -1.
int userns_parent_setup(const container_config *c, pid_t pid, int *rootfs_fd, sync_msg *err);
// userns_late: the child said SYNC_USERNS; does the same and answers
// SYNC_USERNS_DONE on the sync socket.
int userns_parent_late(int sync_fd, const container_config *c, pid_t pid, sync_msg *err);
