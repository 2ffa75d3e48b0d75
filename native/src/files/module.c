// The files addon's exports (files.h).
#include "files.h"

static void export_fn(napi_env env, napi_value exports, const char *name, napi_callback cb) {
  napi_value f;
  napi_create_function(env, name, NAPI_AUTO_LENGTH, cb, NULL, &f);
  napi_set_named_property(env, exports, name, f);
}

NAPI_MODULE_INIT() {
  export_fn(env, exports, "text", files_text);
  export_fn(env, exports, "bytes", files_bytes);
  export_fn(env, exports, "readTexts", files_read_texts);
  export_fn(env, exports, "flock", files_flock);
  export_fn(env, exports, "umount", files_umount);
  export_fn(env, exports, "errorText", files_error_text);
  return exports;
}
