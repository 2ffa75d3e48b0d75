// The files addon (build/Release/tsrun-files.node): plain C, no libraries,
// kept apart from tsrun.node so that loading it costs a fraction of a ms.
// The launcher maps bundles with it (mapped.c) before the shell runs; the
// kernel facade (src/native/binding.ts) reads many small state files with
// it in one call (read_texts.c), and takes locks and unmounts with it
// (syscalls.c), so that ps, inspect, logs, stop and rm never load tsrun.node.
#ifndef TSRUN_FILES_H
#define TSRUN_FILES_H
// The module is built against Node's experimental N-API: external strings
// (mapped.c, Node >= 20.4); finalizers take a plain napi_env, under the
// names of every Node version's headers.
#define NAPI_EXPERIMENTAL
#define NODE_API_EXPERIMENTAL_NOGC_ENV_OPT_OUT
#define NODE_API_EXPERIMENTAL_BASIC_ENV_OPT_OUT
#include <node_api.h>

napi_value files_text(napi_env env, napi_callback_info info);
napi_value files_bytes(napi_env env, napi_callback_info info);
napi_value files_read_texts(napi_env env, napi_callback_info info);
napi_value files_flock(napi_env env, napi_callback_info info);
napi_value files_umount(napi_env env, napi_callback_info info);
napi_value files_error_text(napi_env env, napi_callback_info info);

#endif
