// tsrun-log-gzip FILE: compresses a rotated container log for the monitor
// (--log-opt compress=true, see log.cc): FILE → FILE.gz.tmp (gzip), fsync,
// renamed to FILE.gz, then FILE is removed. A reader finds FILE, or FILE.gz
// complete, or both for a moment (it reads FILE then). Exits 0 on success,
// 1 leaving FILE as it was. A 16 KiB window and memLevel 7 keep zlib's
// state near 128 KiB (logs compress about as well as with the defaults).
// Syscalls: open, read, write, fsync, rename, unlink.
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
// node-gyp puts Node's headers first, so this is Node's zlib.h (1.3): the
// z_stream layout and deflate's API are those of the system libz.a (1.2.x)
// linked in, which checks only the major version and sizeof(z_stream).
#include <zlib.h>

#include "monitor.h"  // write_all (fmt.cc)

int main(int argc, char **argv) {
  if (argc != 2) return 2;
  const char *src = argv[1];
  static char tmp[4096 + 16], dst[4096 + 16];
  if (strlen(src) > 4096) return 2;
  snprintf(tmp, sizeof tmp, "%s.gz.tmp", src);
  snprintf(dst, sizeof dst, "%s.gz", src);
  static unsigned char in[16384], out[16384];
  int ifd = open(src, O_RDONLY | O_CLOEXEC);
  if (ifd < 0) return 1;
  int ofd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
  if (ofd < 0) return 1;
  z_stream z;
  memset(&z, 0, sizeof z);
  bool ok = deflateInit2(&z, 6, Z_DEFLATED, 14 + 16, 7, Z_DEFAULT_STRATEGY) == Z_OK;
  for (int flush = Z_NO_FLUSH; ok && flush != Z_FINISH;) {
    ssize_t n = read(ifd, in, sizeof in);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) ok = false;
    flush = n <= 0 ? Z_FINISH : Z_NO_FLUSH;
    z.next_in = in;
    z.avail_in = n > 0 ? (uInt)n : 0;
    do {
      z.next_out = out;
      z.avail_out = sizeof out;
      deflate(&z, flush);
      ok = ok && write_all(ofd, out, sizeof out - z.avail_out);
    } while (ok && z.avail_out == 0);
  }
  deflateEnd(&z);
  ok = ok && fsync(ofd) == 0;
  ok = close(ofd) == 0 && ok;
  if (!ok || rename(tmp, dst) != 0) {
    unlink(tmp);
    return 1;
  }
  unlink(src);
  return 0;
}
