// The container log in Docker's json-file format: one JSON object per line
// of output, {"log":"text\n","stream":"stdout","time":"RFC3339Nano"}, and a
// line longer than kMaxLine split into entries as Docker does (16 KiB).
//
// Rotation (--log-opt max-size/max-file/compress): before an entry would
// take the file past max-size, the files shift up one (FILE.k → FILE.k+1,
// the oldest deleted), FILE gets the name FILE.1 as well (link), and a new
// empty file, made under a temp name, is renamed over FILE. A reader always
// finds a complete FILE (never a truncated or missing one); one that holds
// FILE open keeps reading the old inode, and a follower notices the new
// inode at FILE (runtime/logs.ts). With compress, a child runs the
// tsrun-log-gzip helper (gzip.cc), which turns FILE.1 into FILE.1.gz: zlib
// lives in that executable only (linked in here, its code alone would add
// some 80 KiB to every monitor's resident set through the kernel's
// fault-around), and the loop here waits for it only when the next
// rotation comes first.
// Syscalls: open, write, fstat, link, rename, unlink, fork, execve, waitpid, clock_gettime.
#include <errno.h>
#include <signal.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "monitor.h"

static const size_t kMaxLine = 16 * 1024;
static int g_log = -1;
static char g_partial[2][kMaxLine];
static size_t g_partial_len[2];
// Worst case: every byte escaped as \u00XX (6 bytes) plus the envelope.
static char g_entry[kMaxLine * 6 + 128];

static const char *g_path;
static long g_max_size;  // 0: never rotate
static int g_max_file = 1;
static bool g_compress;
static long g_size;      // bytes in the current file
static pid_t g_gz = -1;  // the child compressing FILE.1
static const char *g_gzip_helper;  // its executable (null: no compression)

void log_open(const char *path, long max_size, int max_file, const char *gzip_helper) {
  g_path = path;
  g_gzip_helper = gzip_helper;
  g_max_size = max_size > 0 ? max_size : 0;
  g_max_file = max_file > 1 ? max_file : 1;
  g_compress = gzip_helper && g_max_file > 1;
  g_log = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
  struct stat st;
  if (g_log >= 0 && fstat(g_log, &st) == 0) g_size = (long)st.st_size;
}

// FILE.k, FILE.k.gz, or FILE.tmp (k 0 with tmp).
static const size_t kPath = 4096 + 32;
static void rotated_name(char *out, long k, const char *suffix) {
  size_t n = 0;
  out[0] = 0;
  put_str(out, kPath, &n, g_path);
  if (k > 0) {
    put_str(out, kPath, &n, ".");
    put_num(out, kPath, &n, k);
  }
  put_str(out, kPath, &n, suffix);
}

// rename(2) without <stdio.h> (see fmt.cc for why the monitor has none).
static int rename_file(const char *from, const char *to) { return (int)syscall(SYS_renameat, AT_FDCWD, from, AT_FDCWD, to); }

static void wait_child(pid_t pid) {
  int st;
  while (waitpid(pid, &st, 0) < 0 && errno == EINTR) {
  }
}

// The child that compresses FILE.1: tsrun-log-gzip FILE.1, with no signal
// blocked and none of our fds.
static pid_t start_gzip(const char *src) {
  if (!g_gzip_helper) return -1;
  pid_t pid = fork();
  if (pid != 0) return pid;
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, nullptr);
  syscall(SYS_close_range, 3U, ~0U, 0U);
  char *const argv[] = {const_cast<char *>(g_gzip_helper), const_cast<char *>(src), nullptr};
  execv(g_gzip_helper, argv);
  _exit(127);
}

static void rotate() {
  if (g_gz > 0) {  // the previous FILE.1 must be FILE.1.gz before it moves on
    wait_child(g_gz);
    g_gz = -1;
  }
  static char tmp[kPath], a[kPath], b[kPath];
  rotated_name(tmp, 0, ".tmp");
  int fd = open(tmp, O_WRONLY | O_APPEND | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
  if (fd < 0) return;  // keep writing the current file rather than lose output
  if (g_max_file > 1) {
    static const char *const kSuffixes[] = {"", ".gz"};
    for (const char *sfx : kSuffixes) {
      rotated_name(a, g_max_file - 1, sfx);
      unlink(a);
      for (long k = g_max_file - 2; k >= 1; k--) {
        rotated_name(a, k, sfx);
        rotated_name(b, k + 1, sfx);
        rename_file(a, b);
      }
    }
    rotated_name(a, 1, "");
    link(g_path, a);
  }
  if (rename_file(tmp, g_path) != 0) {
    close(fd);
    unlink(tmp);
    return;
  }
  close(g_log);
  g_log = fd;
  g_size = 0;
  if (!g_compress) return;
  rotated_name(a, 1, "");
  g_gz = start_gzip(a);
}

bool log_reaped(int pid) {
  if (pid <= 0 || pid != g_gz) return false;
  g_gz = -1;
  return true;
}

void log_close() {
  if (g_gz > 0) wait_child(g_gz);
  g_gz = -1;
}

void format_now(char *out) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  // UTC civil date from days since the epoch (Howard Hinnant's algorithm).
  long days = ts.tv_sec / 86400, secs = ts.tv_sec % 86400;
  long z = days + 719468, era = z / 146097, doe = z - era * 146097;
  long yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  long doy = doe - (365 * yoe + yoe / 4 - yoe / 100), mp = (5 * doy + 2) / 153;
  long d = doy - (153 * mp + 2) / 5 + 1, m = mp < 10 ? mp + 3 : mp - 9, y = yoe + era * 400 + (m <= 2);
  size_t n = 0;
  out[0] = 0;
  put_num(out, 64, &n, y, 4);
  put_str(out, 64, &n, "-");
  put_num(out, 64, &n, m, 2);
  put_str(out, 64, &n, "-");
  put_num(out, 64, &n, d, 2);
  put_str(out, 64, &n, "T");
  put_num(out, 64, &n, secs / 3600, 2);
  put_str(out, 64, &n, ":");
  put_num(out, 64, &n, secs / 60 % 60, 2);
  put_str(out, 64, &n, ":");
  put_num(out, 64, &n, secs % 60, 2);
  put_str(out, 64, &n, ".");
  put_num(out, 64, &n, ts.tv_nsec, 9);
  put_str(out, 64, &n, "Z");
}

static void write_entry(int stream, const char *s, size_t n) {
  if (g_log < 0 || n == 0) return;
  size_t o = 0;
  auto put = [&](const char *t) { while (*t) g_entry[o++] = *t++; };
  put("{\"log\":\"");
  static const char hex[] = "0123456789abcdef";
  for (size_t i = 0; i < n; i++) {
    unsigned char ch = (unsigned char)s[i];
    switch (ch) {
      case '"': put("\\\""); break;
      case '\\': put("\\\\"); break;
      case '\n': put("\\n"); break;
      case '\r': put("\\r"); break;
      case '\t': put("\\t"); break;
      default:
        if (ch < 0x20 || ch == 0x7f) {
          put("\\u00");
          g_entry[o++] = hex[ch >> 4];
          g_entry[o++] = hex[ch & 15];
        } else {
          // UTF-8 passes through; invalid sequences are the reader's problem, as in Docker.
          g_entry[o++] = (char)ch;
        }
    }
  }
  put(stream == 2 ? "\",\"stream\":\"stderr\",\"time\":\"" : "\",\"stream\":\"stdout\",\"time\":\"");
  char now[64];
  format_now(now);
  put(now);
  put("\"}\n");
  // Rotated before an entry would pass max-size (a file holding no entry
  // yet takes one however long it is).
  if (g_max_size && g_size > 0 && g_size + (long)o > g_max_size) rotate();
  // One write per entry: O_APPEND keeps entries whole for `logs -f` readers.
  if (write_all(g_log, g_entry, o)) g_size += (long)o;
}

void log_data(int stream, const char *buf, size_t n) {
  int k = stream == 2 ? 1 : 0;
  char *line = g_partial[k];
  size_t &len = g_partial_len[k];
  for (size_t i = 0; i < n; i++) {
    line[len++] = buf[i];
    if (buf[i] == '\n' || len == kMaxLine) {
      write_entry(stream, line, len);
      len = 0;
    }
  }
}

void log_flush() {
  for (int k = 0; k < 2; k++) {
    write_entry(k + 1, g_partial[k], g_partial_len[k]);
    g_partial_len[k] = 0;
  }
}
