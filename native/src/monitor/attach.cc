// The attach socket: `tsrun attach` / `start -a` clients connect, receive
// the container's output from then on as frames, and send stdin bytes and
// terminal resizes (frame layout in ../monitor_protocol.h).
// Syscalls: socket, bind, listen, accept4, read, write, ioctl(TIOCSWINSZ),
// shutdown, poll, clock_gettime.
#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "../monitor_protocol.h"
#include "monitor.h"

static const int kMaxClients = 16;

struct client {
  int fd;
  // Incoming frame being assembled.
  uint8_t hdr[5];
  size_t hdr_len;
  uint32_t need;
  uint8_t type;
  char body[4096];
  size_t body_len;
};
static client g_clients[kMaxClients];
static int g_nclients;

int attach_listen(const char *name) {
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) return -1;
  struct sockaddr_un addr;
  memset(&addr, 0, sizeof addr);
  addr.sun_family = AF_UNIX;
  strncpy(addr.sun_path, name, sizeof addr.sun_path - 1);
  unlink(name);
  if (bind(fd, (struct sockaddr *)&addr, sizeof addr) != 0 || listen(fd, 8) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

void attach_accept(int listen_fd) {
  int fd = accept4(listen_fd, nullptr, nullptr, SOCK_CLOEXEC);
  if (fd < 0) return;
  if (g_nclients == kMaxClients) {
    close(fd);
    return;
  }
  client &c = g_clients[g_nclients++];
  memset(&c, 0, sizeof c);
  c.fd = fd;
}

static void drop(int i) {
  close(g_clients[i].fd);
  g_clients[i] = g_clients[--g_nclients];
}

static void send_frame(int i, uint8_t type, const char *buf, size_t n) {
  uint8_t h[5] = {type, (uint8_t)(n >> 24), (uint8_t)(n >> 16), (uint8_t)(n >> 8), (uint8_t)n};
  // A client that stops reading would stall the container's output; a
  // blocking write is what Docker does too, and clients are our own CLI.
  if (!write_all(g_clients[i].fd, h, 5) || !write_all(g_clients[i].fd, buf, n)) drop(i);
}

void attach_broadcast(int stream, const char *buf, size_t n) {
  for (int i = g_nclients - 1; i >= 0; i--) send_frame(i, stream == 2 ? ATTACH_STDERR : ATTACH_STDOUT, buf, n);
}

// Sends the exit frame, then half-closes each client and waits (up to
// kLingerMs) for it to close its end, discarding what it still sends. Closing
// at once would fail a client's late stdin write (an `attach` whose input
// ends after the container did) with EPIPE, and Node then drops the socket
// with the output and exit frames still unread.
static const long kLingerMs = 2000;

void attach_exit(int code) {
  char b[4] = {(char)(code >> 24), (char)(code >> 16), (char)(code >> 8), (char)code};
  for (int i = g_nclients - 1; i >= 0; i--) {
    send_frame(i, ATTACH_EXIT, b, 4);
    if (i < g_nclients) shutdown(g_clients[i].fd, SHUT_WR);
  }
  struct timespec t0, now;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  while (g_nclients > 0) {
    clock_gettime(CLOCK_MONOTONIC, &now);
    long left = kLingerMs - ((now.tv_sec - t0.tv_sec) * 1000 + (now.tv_nsec - t0.tv_nsec) / 1000000);
    if (left <= 0) break;
    struct pollfd p[kMaxClients];
    int n = attach_poll_fds(p, kMaxClients);
    int r = poll(p, (nfds_t)n, (int)left);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) break;
    for (int k = 0; k < n; k++) {
      if (!p[k].revents) continue;
      char buf[4096];
      ssize_t m = read(p[k].fd, buf, sizeof buf);
      if (m > 0 || (m < 0 && errno == EINTR)) continue;
      for (int i = 0; i < g_nclients; i++)
        if (g_clients[i].fd == p[k].fd) {
          drop(i);
          break;
        }
    }
  }
  while (g_nclients > 0) drop(g_nclients - 1);
}

int attach_poll_fds(struct pollfd *pfds, int max) {
  int n = 0;
  for (int i = 0; i < g_nclients && n < max; i++) pfds[n++] = {g_clients[i].fd, POLLIN, 0};
  return n;
}

static void handle_frame(client &c, int stdin_fd, int pty_fd, bool *stdin_closed) {
  if (c.type == ATTACH_STDIN) {
    int to = pty_fd >= 0 ? pty_fd : stdin_fd;
    if (to >= 0 && !*stdin_closed) write_all(to, c.body, c.body_len);
  } else if (c.type == ATTACH_RESIZE && c.body_len == 4 && pty_fd >= 0) {
    struct winsize ws = {};
    ws.ws_row = (unsigned short)(((uint8_t)c.body[0] << 8) | (uint8_t)c.body[1]);
    ws.ws_col = (unsigned short)(((uint8_t)c.body[2] << 8) | (uint8_t)c.body[3]);
    ioctl(pty_fd, TIOCSWINSZ, &ws);
  } else if (c.type == ATTACH_STDIN_EOF && stdin_fd >= 0 && pty_fd < 0 && !*stdin_closed) {
    close(stdin_fd);
    *stdin_closed = true;
  }
}

void attach_client_ready(int fd, short revents, int stdin_fd, int pty_fd, bool *stdin_closed) {
  int i = 0;
  while (i < g_nclients && g_clients[i].fd != fd) i++;
  if (i == g_nclients) return;
  client &c = g_clients[i];
  char buf[4096];
  ssize_t n = read(fd, buf, sizeof buf);
  if (n < 0 && errno == EINTR) return;
  if (n <= 0) {
    drop(i);
    return;
  }
  for (ssize_t k = 0; k < n; k++) {
    if (c.hdr_len < 5) {
      c.hdr[c.hdr_len++] = (uint8_t)buf[k];
      if (c.hdr_len == 5) {
        c.type = c.hdr[0];
        c.need = ((uint32_t)c.hdr[1] << 24) | ((uint32_t)c.hdr[2] << 16) | ((uint32_t)c.hdr[3] << 8) | c.hdr[4];
        c.body_len = 0;
        if (c.need == 0) {
          handle_frame(c, stdin_fd, pty_fd, stdin_closed);
          c.hdr_len = 0;
        }
      }
      continue;
    }
    c.body[c.body_len++] = buf[k];
    c.need--;
    if (c.need == 0 || c.body_len == sizeof c.body) {
      // Stdin frames larger than the buffer are passed on in pieces.
      handle_frame(c, stdin_fd, pty_fd, stdin_closed);
      c.body_len = 0;
      if (c.need == 0) c.hdr_len = 0;
    }
  }
  (void)revents;
}

int attach_last_fd() { return g_nclients ? g_clients[g_nclients - 1].fd : -1; }

bool attach_has(int fd) {
  for (int i = 0; i < g_nclients; i++)
    if (g_clients[i].fd == fd) return true;
  return false;
}
