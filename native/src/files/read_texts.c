// readTexts(paths): every file's whole content as a string, null for one
// that cannot be read. `ps` derives each container's status from ~5 small
// files (its record, its instance, /proc/PID/stat, the freezer state, an
// exit record); read from JavaScript, each costs a dozen calls into Node's
// fs layer and their garbage on top of the system calls. Here the system
// calls (open, fstat, read, close) are all there is, spread over up to
// one thread per CPU: the kernel's part (procfs formatting a stat line,
// cgroupfs a freezer state, ~10 µs a file on a VM) is most of the cost.
//
// An ASCII text (every state file tsrun writes; /proc and cgroupfs files)
// becomes an external string over the buffer it was read into, outside
// V8's young generation, which 100 containers' records would otherwise
// fill past a scavenge (~2.5 ms each here: the records stay live, so they
// are copied).
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "files.h"

#define MAX_THREADS 4
// Fewer files than this per thread: starting one costs more than it saves.
#define FILES_PER_THREAD 32

struct text {
  char *path;  // NULL: a path that cannot be a file's (too long, a NUL in it, not a string)
  char *data;  // malloc'd; NULL until read
  ssize_t len; // -1: cannot be read
};

struct batch {
  struct text *texts;
  uint32_t count;
  atomic_uint next;
};

// The whole file into t->data, read through the thread's buffer `buf`
// (grown as needed) and copied out at its size: buffers sized for the
// largest file would each be fresh pages, and a first touch of a page costs
// µs on a VM. Only regular files (procfs and cgroupfs files are):
// O_NONBLOCK so that a fifo never blocks the call, though opening one still
// wakes a writer waiting for a reader, so callers pass none.
static void slurp(struct text *t, char **buf, size_t *cap) {
  int fd = open(t->path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
  if (fd < 0) return;
  struct stat st;
  if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode)) {
    size_t got = 0;
    for (;;) {
      if (got == *cap) {
        char *bigger = realloc(*buf, *cap * 2);
        if (!bigger) break;
        *buf = bigger;
        *cap *= 2;
      }
      ssize_t n = read(fd, *buf + got, *cap - got);
      if (n < 0) break;
      got += n;
      // A regular file's size ends it without one more read; procfs and
      // cgroupfs files report a size of 0 and end at a read of nothing.
      if (n == 0 || (st.st_size > 0 && got >= (size_t)st.st_size)) {
        if ((t->data = malloc(got ? got : 1))) {
          memcpy(t->data, *buf, got);
          t->len = got;
        }
        break;
      }
    }
  }
  close(fd);
}

static void *read_some(void *arg) {
  struct batch *b = arg;
  size_t cap = 16384;
  char *buf = malloc(cap);
  for (uint32_t i; buf && (i = atomic_fetch_add(&b->next, 1)) < b->count;)
    if (b->texts[i].path) slurp(&b->texts[i], &buf, &cap);
  free(buf);
  return NULL;
}

// Every text read, by this thread and as many more as the CPUs and the
// batch's size make worth it.
static void read_all(struct batch *b) {
  long cpus = sysconf(_SC_NPROCESSORS_ONLN);
  long threads = b->count / FILES_PER_THREAD;
  if (threads > cpus) threads = cpus;
  if (threads > MAX_THREADS) threads = MAX_THREADS;
  pthread_t ids[MAX_THREADS];
  int started = 0;
  for (long i = 1; i < threads; i++)
    if (pthread_create(&ids[started], NULL, read_some, b) == 0) started++;
  read_some(b);
  for (int i = 0; i < started; i++) pthread_join(ids[i], NULL);
}

static void free_text(napi_env env, void *data, void *hint) { free(data); }

static bool ascii(const char *s, size_t len) {
  for (size_t i = 0; i < len; i++)
    if ((unsigned char)s[i] >= 0x80) return false;
  return true;
}

// The text as a string, taking its buffer: external when ASCII (and long
// enough for that to pay: V8 copies short ones anyway), else decoded from UTF-8.
static napi_value text_value(napi_env env, struct text *t) {
  napi_value v;
  bool copied;
  if (t->len >= 64 && ascii(t->data, t->len) &&
      node_api_create_external_string_latin1(env, t->data, t->len, free_text, NULL, &v, &copied) == napi_ok) {
    t->data = NULL; // the string's now (or freed, when V8 copied it)
    return v;
  }
  if (napi_create_string_utf8(env, t->data ? t->data : "", t->len, &v) != napi_ok) napi_get_null(env, &v);
  return v;
}

// A path as C wants it, or NULL when no file has it.
static char *path_of(napi_env env, napi_value value) {
  size_t n;
  if (napi_get_value_string_utf8(env, value, NULL, 0, &n) != napi_ok || n >= 4096) return NULL;
  char *path = malloc(n + 1);
  if (path && (napi_get_value_string_utf8(env, value, path, n + 1, &n) != napi_ok || strlen(path) != n)) {
    // A NUL inside: C would cut the path there and open another file.
    free(path);
    path = NULL;
  }
  return path;
}

napi_value files_read_texts(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value paths, out, value, null;
  bool is_array;
  struct batch b = {0};
  if (napi_get_cb_info(env, info, &argc, &paths, NULL, NULL) != napi_ok || argc < 1 || napi_is_array(env, paths, &is_array) != napi_ok ||
      !is_array) {
    napi_throw_type_error(env, NULL, "readTexts: paths must be an array of strings");
    return NULL;
  }
  napi_get_array_length(env, paths, &b.count);
  b.texts = calloc(b.count ? b.count : 1, sizeof *b.texts);
  if (!b.texts) {
    napi_throw_error(env, "ENOMEM", "readTexts: out of memory");
    return NULL;
  }
  for (uint32_t i = 0; i < b.count; i++) {
    b.texts[i].len = -1;
    if (napi_get_element(env, paths, i, &value) == napi_ok) b.texts[i].path = path_of(env, value);
  }
  read_all(&b);
  napi_create_array_with_length(env, b.count, &out);
  napi_get_null(env, &null);
  for (uint32_t i = 0; i < b.count; i++) {
    struct text *t = &b.texts[i];
    napi_set_element(env, out, i, t->len < 0 ? null : text_value(env, t));
    free(t->data);
    free(t->path);
  }
  free(b.texts);
  return out;
}
