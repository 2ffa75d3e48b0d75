// Formatting and writing without stdio (see monitor.h).
#include <errno.h>
#include <unistd.h>

#include "monitor.h"

void put_str(char *dst, size_t cap, size_t *len, const char *s) {
  while (*s && *len + 1 < cap) dst[(*len)++] = *s++;
  dst[*len] = 0;
}

void put_num(char *dst, size_t cap, size_t *len, long v, int width) {
  char tmp[24];
  int n = 0;
  bool neg = v < 0;
  unsigned long u = neg ? (unsigned long)(-v) : (unsigned long)v;
  do { tmp[n++] = (char)('0' + u % 10); u /= 10; } while (u && n < 22);
  while (n < width && n < 22) tmp[n++] = '0';
  if (neg) tmp[n++] = '-';
  while (n > 0 && *len + 1 < cap) dst[(*len)++] = tmp[--n];
  dst[*len] = 0;
}

long parse_num(const char *s) {
  long v = 0;
  bool neg = *s == '-';
  if (neg) s++;
  while (*s >= '0' && *s <= '9') v = v * 10 + (*s++ - '0');
  return neg ? -v : v;
}

bool write_all(int fd, const void *buf, size_t n) {
  const char *p = (const char *)buf;
  while (n > 0) {
    ssize_t w = write(fd, p, n);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return false;
    p += w;
    n -= (size_t)w;
  }
  return true;
}
