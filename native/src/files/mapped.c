// The launcher's use of the files addon (bin/launch.cjs): a bundle's source
// and its V8 code cache, mapped from the page cache instead of read.
// Reading copies each file twice into fresh memory (a Buffer, then a string
// in V8's heap), and a bundle verb reads ~0.6 MB that way: on VMs where
// first touching a page is costly, several ms per verb. A mapped source is
// an external string whose pages V8 reads only when it compiles a function
// the code cache lacks.
//
// A mapping keeps the file's contents as long as nobody rewrites the file
// in place: scripts/bundle.mjs writes new files and swaps its directory in,
// and caches are written beside and renamed, so a long-running process
// keeps compiling from the bundle it started with.
#include "files.h"
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

// The file named by the call's first argument, mapped read-only; NULL when
// it cannot be (missing, empty, not a regular file): the caller reads it.
static void *map_file(napi_env env, napi_callback_info info, size_t *len) {
  size_t argc = 1, n;
  napi_value arg;
  char path[4096];
  if (napi_get_cb_info(env, info, &argc, &arg, NULL, NULL) != napi_ok || argc < 1) return NULL;
  if (napi_get_value_string_utf8(env, arg, path, sizeof path, &n) != napi_ok || n >= sizeof path - 1) return NULL;
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return NULL;
  struct stat st;
  void *p = NULL;
  if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0) {
    // MAP_POPULATE: the pages in one go, not one fault each.
    p = mmap(NULL, st.st_size, PROT_READ, MAP_PRIVATE | MAP_POPULATE, fd, 0);
    if (p == MAP_FAILED) p = NULL;
    else *len = st.st_size;
  }
  close(fd);
  return p;
}

static void unmap(napi_env env, void *data, void *hint) { munmap(data, (size_t)hint); }

static napi_value undefined(napi_env env) {
  napi_value r;
  napi_get_undefined(env, &r);
  return r;
}

// text(path): the file as a latin1 string (bundles are ASCII), or undefined.
napi_value files_text(napi_env env, napi_callback_info info) {
  size_t len = 0;
  char *p = map_file(env, info, &len);
  if (!p) return undefined(env);
  napi_value r;
  bool copied;
  // When V8 copies instead, Node has already called unmap.
  if (node_api_create_external_string_latin1(env, p, len, unmap, (void *)len, &r, &copied) != napi_ok) return undefined(env);
  return r;
}

// bytes(path): the file as a Buffer over the mapping, or undefined.
napi_value files_bytes(napi_env env, napi_callback_info info) {
  size_t len = 0;
  void *p = map_file(env, info, &len);
  if (!p) return undefined(env);
  napi_value r;
  if (napi_create_external_buffer(env, len, p, unmap, (void *)len, &r) != napi_ok) {
    munmap(p, len);
    return undefined(env);
  }
  return r;
}
