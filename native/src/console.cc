// The container's stdio: either host fds handed in by the caller, or a
// pseudo-terminal allocated from the container's *own* devpts instance (so
// `tty` inside says /dev/pts/0 and /dev/console is that terminal), whose
// master end travels to the parent over the sync socket (SCM_RIGHTS).
// Syscalls: open, ioctl(TIOCSPTLCK, TIOCGPTN, TIOCGPTPEER, TIOCSWINSZ,
// TIOCSCTTY), mount, sendmsg, setsid, dup2, fcntl, fchown.
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#include "child.h"
#include "sync.h"

static void send_master(int master) {
  sync_msg m;
  memset(&m, 0, sizeof m);
  m.type = SYNC_PTY;
  if (send_with_fd(g_child_sync_fd, &m, sizeof m, master) < 0) child_fail("console", "sendmsg", nullptr);
}

// Node leaves its stdio non-blocking; a container must get ordinary fds.
static void make_blocking(int fd) {
  int fl = fcntl(fd, F_GETFL);
  if (fl >= 0 && (fl & O_NONBLOCK)) fcntl(fd, F_SETFL, fl & ~O_NONBLOCK);
}

void child_setup_console(const container_config *c) {
  if (!c->terminal) return;
  int master = open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (master < 0) child_fail("console", "open", "/dev/ptmx");
  int unlock = 0;
  if (ioctl(master, TIOCSPTLCK, &unlock) != 0) child_fail("console", "ioctl", "/dev/ptmx");
  unsigned int n = 0;
  if (ioctl(master, TIOCGPTN, &n) != 0) child_fail("console", "ioctl", "/dev/ptmx");
  int slave = ioctl(master, TIOCGPTPEER, O_RDWR | O_NOCTTY);
  if (slave < 0) child_fail("console", "ioctl", "/dev/ptmx");
  char name[64] = "/dev/pts/";
  s_append_uint(name, sizeof name, n);
  if (fchown(slave, c->uid, (gid_t)-1) != 0) child_fail("console", "fchown", name);
  if (c->rows && c->cols) {
    struct winsize ws = {};
    ws.ws_row = c->rows;
    ws.ws_col = c->cols;
    if (ioctl(slave, TIOCSWINSZ, &ws) != 0) child_fail("console", "ioctl", name);
  }
  // /dev/console is the terminal, as on a real machine.
  int cfd = open("/dev/console", O_CREAT | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (cfd >= 0) close(cfd);
  if (mount(name, "/dev/console", nullptr, MS_BIND, nullptr) != 0) child_fail("console", "mount", "/dev/console");
  send_master(master);
  close(master);
  if (setsid() < 0) child_fail("console", "setsid", nullptr);
  if (ioctl(slave, TIOCSCTTY, 0) != 0) child_fail("console", "ioctl", name);
  for (int i = 0; i < 3; i++)
    if (dup2(slave, i) < 0) child_fail("console", "dup2", name);
  if (slave > 2) close(slave);
}

void child_setup_stdio(const container_config *c) {
  if (c->terminal) return;
  // Move every source above 2 first so dup2 onto 0..2 never clobbers a
  // source that is still needed.
  int tmp[3];
  for (int i = 0; i < 3; i++) {
    tmp[i] = fcntl(c->stdio[i], F_DUPFD_CLOEXEC, 3);
    if (tmp[i] < 0) child_fail("stdio", "fcntl", nullptr);
  }
  for (int i = 0; i < 3; i++) {
    if (dup2(tmp[i], i) < 0) child_fail("stdio", "dup2", nullptr);
    make_blocking(i);
  }
  // tmp[] are O_CLOEXEC and go away at execve.
}
