// tsrun-monitor: one small process per detached container (conmon's job).
// It is the container's parent: it owns its stdio or pty, writes the log in
// Docker's json-file format, serves `attach` clients on a unix socket,
// records the exit status (and whether the kernel OOM-killed it) and exits.
// Plain C in .cc files, linked statically: no allocator-heavy runtime, so
// the resident set stays well under 1 MiB.
#pragma once
#include <stddef.h>
#include <stdint.h>

// log.cc: Docker json-file lines {"log":"…","stream":"stdout","time":"…"}.
void log_open(const char *path);
void log_data(int stream, const char *buf, size_t n);  // stream 1 stdout, 2 stderr
void log_flush();                                       // writes partial lines out
// RFC 3339 UTC time with nanoseconds into out (at least 64 bytes).
void format_now(char *out);

// attach.cc: the attach socket and its clients.
int attach_listen(const char *name);
void attach_accept(int listen_fd);
void attach_broadcast(int stream, const char *buf, size_t n);
void attach_exit(int code);
// Fills pfds with client fds; returns how many.
int attach_poll_fds(struct pollfd *pfds, int max);
// Handles a readable client: stdin bytes go to stdin_fd, resizes to pty_fd.
void attach_client_ready(int fd, short revents, int stdin_fd, int pty_fd, bool *stdin_closed);

int attach_last_fd();
bool attach_has(int fd);

// Tiny formatting helpers (fmt.cc): stdio and the time zone machinery would
// triple the static binary, and its pages are most of the resident set.
// Appends to dst at *len (capacity cap); numbers zero-padded to `width`.
void put_str(char *dst, size_t cap, size_t *len, const char *s);
void put_num(char *dst, size_t cap, size_t *len, long v, int width = 0);
long parse_num(const char *s);

// Writes a whole buffer, retrying on EINTR/short writes.
bool write_all(int fd, const void *buf, size_t n);
