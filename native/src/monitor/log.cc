// The container log in Docker's json-file format: one JSON object per line
// of output, {"log":"text\n","stream":"stdout","time":"RFC3339Nano"}, and a
// line longer than kMaxLine split into entries as Docker does (16 KiB).
// Syscalls: open, write, clock_gettime.
#include <fcntl.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "monitor.h"

static const size_t kMaxLine = 16 * 1024;
static int g_log = -1;
static char g_partial[2][kMaxLine];
static size_t g_partial_len[2];
// Worst case: every byte escaped as \u00XX (6 bytes) plus the envelope.
static char g_entry[kMaxLine * 6 + 128];

void log_open(const char *path) { g_log = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640); }

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
  // One write per entry: O_APPEND keeps entries whole for `logs -f` readers.
  write_all(g_log, g_entry, o);
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
