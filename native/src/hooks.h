// OCI hooks: the runner (hooks.cc) and the storage a hook list needs while
// a spawn or runHooks call lasts.
#pragma once
#include <napi.h>
#include <sys/types.h>

#include <string>
#include <vector>

#include "config.h"

struct hook_failure {
  int index;   // which hook of the list
  int err;     // errno: ECANCELED for a non-zero exit, ETIMEDOUT, or why execve failed
  int status;  // wait status when it ran to an end, else -1
};

// Runs the list in order with {"pid":pid,<state_rest> on stdin. 0, or -1
// with *fail filled. Async-signal-safe.
int run_hooks(const hook_list *list, pid_t pid, const char *state_rest, hook_failure *fail);
void describe_hook_failure(const hook_spec *h, const hook_failure *f, char *out, size_t cap);

class HookStore {
 public:
  // [{path, args, env, timeout}] as src/native/types.ts NativeHook.
  void load(const Napi::Array &arr);
  hook_list list() const;

 private:
  struct Entry {
    std::string path;
    std::vector<std::string> args, env;
    std::vector<char *> argv, envp;
    int timeout = 0;
  };
  std::vector<Entry> entries;
  std::vector<hook_spec> specs;
};

Napi::Value RunHooks(const Napi::CallbackInfo &info);
