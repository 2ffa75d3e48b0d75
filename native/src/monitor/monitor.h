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
// With max_size > 0 the file is rotated before an entry would take it past
// max_size: FILE → FILE.1 → … → FILE.(max_file-1), the oldest deleted; with
// a gzip_helper (tsrun-log-gzip, gzip.cc), FILE.1 is gzipped to FILE.1.gz by it.
void log_open(const char *path, long max_size, int max_file, const char *gzip_helper);
void log_data(int stream, const char *buf, size_t n);  // stream 1 stdout, 2 stderr
void log_flush();                                       // writes partial lines out
bool log_reaped(int pid);                               // true if pid was the compressing child
void log_close();                                       // waits for a compression under way

// health.cc: runs the health check command on Docker's schedule.
struct health_opts {
  char **argv;  // the command (`tsrun healthcheck run ID`), run as a child
  long interval_ms, timeout_ms, start_period_ms, start_interval_ms;
};
void health_init(const health_opts &o);
// poll(2)'s timeout for the next thing health checks need (-1: none).
int health_poll_timeout();
// Starts a check when one is due; kills one that overran its timeout.
void health_tick();
bool health_reaped(int pid, int status);  // true if pid was the check
void health_stop();                       // the container is gone: kill and reap a running check
long monotonic_ms();
// RFC 3339 UTC time with nanoseconds into out (at least 64 bytes).
void format_now(char *out);

// events.cc: the die (and oom) lines for the root's event journal.
struct exit_events {
  const char *journal = nullptr;  // ROOT/events/events.jsonl
  const char *die = nullptr;      // templates with %EXIT%, %TIME%, %NANO%
  const char *oom = nullptr;
};
void journal_exit(const exit_events &ev, int code, bool oom);

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
