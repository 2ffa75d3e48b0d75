// The container's die (and oom) event, appended by its monitor to the
// root's event journal when the container exits: a detached container's
// die then needs no Node process. src/events/emit.ts exitEventTemplates
// renders the lines; %EXIT%, %TIME% and %NANO% are filled in here.
// Exactly once with Node's Containers.journalExit: both take
// flock(DIR/events.lock) and append only while DIR/die.journaled does not
// exist, then create it. One write(2) of the whole line on an O_APPEND fd,
// as every writer of the journal does, so lines never interleave.
// Syscalls: open, flock, access, write, close, clock_gettime.
#include <fcntl.h>
#include <string.h>
#include <sys/file.h>
#include <time.h>
#include <unistd.h>

#include "monitor.h"

static char line[8192];

// The template with its tokens replaced; 0 when it does not fit.
static size_t fill(const char *tpl, int code, long long ms) {
  size_t n = 0;
  line[0] = 0;
  for (const char *p = tpl; *p;) {
    if (!strncmp(p, "%EXIT%", 6)) {
      put_num(line, sizeof line, &n, code);
      p += 6;
    } else if (!strncmp(p, "%TIME%", 6)) {
      put_num(line, sizeof line, &n, (long)(ms / 1000));
      p += 6;
    } else if (!strncmp(p, "%NANO%", 6)) {
      put_num(line, sizeof line, &n, (long)ms);
      put_str(line, sizeof line, &n, "000000");
      p += 6;
    } else {
      if (n + 1 >= sizeof line) return 0;
      line[n++] = *p++;
      line[n] = 0;
    }
  }
  return n + 1 >= sizeof line ? 0 : n;
}

static void append(int fd, const char *tpl, int code, long long ms) {
  size_t n = fill(tpl, code, ms);
  if (n > 0) (void)!write(fd, line, n);
}

void journal_exit(const exit_events &ev, int code, bool oom) {
  if (!ev.journal) return;
  int lock = open("events.lock", O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (lock < 0) return;
  if (flock(lock, LOCK_EX) == 0 && access("die.journaled", F_OK) != 0) {
    int fd = open(ev.journal, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
    if (fd >= 0) {
      struct timespec ts;
      clock_gettime(CLOCK_REALTIME, &ts);
      long long ms = (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
      if (oom && ev.oom) append(fd, ev.oom, code, ms);
      append(fd, ev.die, code, ms);
      close(fd);
      int done = open("die.journaled", O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
      if (done >= 0) close(done);
    }
  }
  close(lock);
}
