// Owns the storage behind a container_config for the duration of a spawn.
#pragma once
#include <napi.h>

#include <deque>
#include <string>
#include <vector>

#include "config.h"
#include "hooks.h"

class ConfigHolder {
 public:
  explicit ConfigHolder(const Napi::Object &o);
  container_config cfg;

 private:
  const char *keep(std::string s);
  void load_userns(const Napi::Object &o);
  // deque: pointers to elements stay valid as it grows.
  std::deque<std::string> store;
  std::vector<ns_join> joins;
  std::vector<mount_spec> mounts;
  std::vector<device_spec> devices;
  std::vector<const char *> masked, readonly, argv, envp, idmap_lower;
  std::vector<gid_t> groups;
  std::vector<rlimit_spec> rlimits;
  std::vector<sysctl_spec> sysctls;
  std::string seccomp;
  HookStore create_runtime, create_container, start_container;
};
