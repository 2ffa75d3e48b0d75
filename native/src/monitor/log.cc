// The container log in Docker's json-file format: one JSON object per line
// of output, {"log":"text\n","stream":"stdout","time":"RFC3339Nano"}, and a
// line longer than kMaxLine split into entries as Docker does (16 KiB).
// Syscalls: open, write, clock_gettime.
#include <fcntl.h>
#include <stdio.h>
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
  struct tm tm;
  gmtime_r(&ts.tv_sec, &tm);
  snprintf(out, 64, "%04d-%02d-%02dT%02d:%02d:%02d.%09ldZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
           tm.tm_min, tm.tm_sec, ts.tv_nsec);
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
