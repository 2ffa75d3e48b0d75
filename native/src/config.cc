// Copies a NativeContainerConfig (src/native/types.ts) from JS into the plain
// C structures of config.h. JS validated everything already; here we only
// check types so a wrong call fails as a TypeError rather than a crash.
#include "config_holder.h"

#include <sched.h>
#include <sys/stat.h>

static std::string str(const Napi::Object &o, const char *k) {
  Napi::Value v = o.Get(k);
  if (!v.IsString()) throw Napi::TypeError::New(o.Env(), std::string("config.") + k + " must be a string");
  return v.As<Napi::String>().Utf8Value();
}

static bool opt_str(const Napi::Object &o, const char *k, std::string *out) {
  Napi::Value v = o.Get(k);
  if (v.IsNull() || v.IsUndefined()) return false;
  if (!v.IsString()) throw Napi::TypeError::New(o.Env(), std::string("config.") + k + " must be a string or null");
  *out = v.As<Napi::String>().Utf8Value();
  return true;
}

static double num(const Napi::Object &o, const char *k) {
  Napi::Value v = o.Get(k);
  if (!v.IsNumber()) throw Napi::TypeError::New(o.Env(), std::string("config.") + k + " must be a number");
  return v.As<Napi::Number>().DoubleValue();
}

static bool flag(const Napi::Object &o, const char *k) { return o.Get(k).ToBoolean().Value(); }

static Napi::Array arr(const Napi::Object &o, const char *k) {
  Napi::Value v = o.Get(k);
  if (!v.IsArray()) throw Napi::TypeError::New(o.Env(), std::string("config.") + k + " must be an array");
  return v.As<Napi::Array>();
}

static void strings(const Napi::Object &o, const char *k, std::deque<std::string> &store,
                    std::vector<const char *> &out) {
  Napi::Array a = arr(o, k);
  for (uint32_t i = 0; i < a.Length(); i++) {
    store.push_back(a.Get(i).As<Napi::String>().Utf8Value());
    out.push_back(store.back().c_str());
  }
}

static uint64_t capmask(const Napi::Object &caps, const char *k) {
  Napi::Array a = arr(caps, k);
  uint64_t m = 0;
  for (uint32_t i = 0; i < a.Length(); i++) m |= 1ULL << (a.Get(i).As<Napi::Number>().Uint32Value() & 63);
  return m;
}

// JS numbers cannot hold RLIM_INFINITY (2^64-1); anything negative or
// beyond 2^63 means unlimited.
static uint64_t rlim(double v) { return v < 0 || v >= 9.2e18 ? ~0ULL : (uint64_t)v; }

// config.userns (NativeUserns) and the namespace list: see config.h.
void ConfigHolder::load_userns(const Napi::Object &o) {
  cfg.userns = (cfg.clone_flags & CLONE_NEWUSER) != 0;
  for (const ns_join &j : joins)
    if (j.flag == CLONE_NEWUSER) cfg.userns = true;
  cfg.userns_late = cfg.userns && !cfg.exec_mode && !joins.empty();
  Napi::Value u = o.Get("userns");
  if (!u.IsObject()) return;
  Napi::Object uo = u.As<Napi::Object>();
  std::string s;
  if (opt_str(uo, "uidMap", &s) && !s.empty()) cfg.uid_map = keep(s);
  if (opt_str(uo, "gidMap", &s) && !s.empty()) cfg.gid_map = keep(s);
  Napi::Value im = uo.Get("idmapRootfs");
  if (!im.IsObject()) return;
  Napi::Object io = im.As<Napi::Object>();
  cfg.idmap_rootfs = true;
  strings(io, "lower", store, idmap_lower);
  cfg.idmap_lower = idmap_lower.data();
  cfg.n_idmap_lower = idmap_lower.size();
  if (cfg.n_idmap_lower) {
    cfg.idmap_upper_base = keep(str(io, "upperBase"));
    cfg.idmap_upper = keep(str(io, "upper"));
    cfg.idmap_work = keep(str(io, "work"));
  }
  cfg.idmap_mounter_uid = (uid_t)num(io, "mounterUid");
  cfg.idmap_mounter_gid = (gid_t)num(io, "mounterGid");
}

const char *ConfigHolder::keep(std::string s) {
  store.push_back(std::move(s));
  return store.back().c_str();
}

ConfigHolder::ConfigHolder(const Napi::Object &o) {
  cfg = {};
  std::string s;
  cfg.rootfs = keep(str(o, "rootfs"));
  cfg.readonly_root = flag(o, "readonlyRoot");
  cfg.no_pivot = flag(o, "noPivot");
  cfg.host_mount_ns = flag(o, "hostMountNs");
  cfg.apparmor_profile = opt_str(o, "apparmorProfile", &s) ? keep(s) : nullptr;
  { Napi::Value pf = o.Get("preserveFds"); cfg.preserve_fds = pf.IsNumber() ? pf.As<Napi::Number>().Int32Value() : 0; }
  cfg.exec_chroot = opt_str(o, "execChroot", &s) ? keep(s) : nullptr;
  cfg.clone_flags = (int)num(o, "cloneFlags");
  cfg.hostname = opt_str(o, "hostname", &s) ? keep(s) : nullptr;

  Napi::Array j = arr(o, "joinNamespaces");
  for (uint32_t i = 0; i < j.Length(); i++) {
    Napi::Object e = j.Get(i).As<Napi::Object>();
    joins.push_back({(int)num(e, "flag"), keep(str(e, "path"))});
  }
  Napi::Array m = arr(o, "mounts");
  for (uint32_t i = 0; i < m.Length(); i++) {
    Napi::Object e = m.Get(i).As<Napi::Object>();
    mount_spec ms = {};
    ms.source = opt_str(e, "source", &s) ? keep(s) : nullptr;
    ms.target = keep(str(e, "target"));
    ms.fstype = opt_str(e, "fstype", &s) ? keep(s) : nullptr;
    ms.data = opt_str(e, "data", &s) ? keep(s) : nullptr;
    ms.flags = (unsigned long)num(e, "flags");
    ms.propagation = (unsigned long)num(e, "propagation");
    ms.remount_flags = (unsigned long)num(e, "remountFlags");
    ms.target_is_file = str(e, "targetKind") == "file";
    ms.source_fd = -1;
    mounts.push_back(ms);
  }
  Napi::Array d = arr(o, "devices");
  for (uint32_t i = 0; i < d.Length(); i++) {
    Napi::Object e = d.Get(i).As<Napi::Object>();
    std::string t = str(e, "type");
    device_spec ds = {};
    ds.path = keep(str(e, "path"));
    ds.type = t == "b" ? S_IFBLK : t == "p" ? S_IFIFO : S_IFCHR;
    ds.major = (unsigned)num(e, "major");
    ds.minor = (unsigned)num(e, "minor");
    ds.mode = (mode_t)num(e, "mode");
    ds.uid = (uid_t)num(e, "uid");
    ds.gid = (gid_t)num(e, "gid");
    ds.host_fd = -1;
    devices.push_back(ds);
  }
  strings(o, "maskedPaths", store, masked);
  strings(o, "readonlyPaths", store, readonly);
  strings(o, "args", store, argv);
  if (argv.empty()) throw Napi::TypeError::New(o.Env(), "config.args must not be empty");
  argv.push_back(nullptr);
  strings(o, "env", store, envp);
  for (const char *e : envp)
    if (e[0] == 'P' && e[1] == 'A' && e[2] == 'T' && e[3] == 'H' && e[4] == '=') cfg.path_env = e + 5;
  envp.push_back(nullptr);
  cfg.cwd = keep(str(o, "cwd"));
  cfg.uid = (uid_t)num(o, "uid");
  cfg.gid = (gid_t)num(o, "gid");
  Napi::Array g = arr(o, "additionalGids");
  for (uint32_t i = 0; i < g.Length(); i++) groups.push_back((gid_t)g.Get(i).As<Napi::Number>().Uint32Value());
  cfg.umask = (int)num(o, "umask");
  Napi::Object caps = o.Get("caps").As<Napi::Object>();
  cfg.cap_bounding = capmask(caps, "bounding");
  cfg.cap_effective = capmask(caps, "effective");
  cfg.cap_permitted = capmask(caps, "permitted");
  cfg.cap_inheritable = capmask(caps, "inheritable");
  cfg.cap_ambient = capmask(caps, "ambient");
  Napi::Array r = arr(o, "rlimits");
  for (uint32_t i = 0; i < r.Length(); i++) {
    Napi::Object e = r.Get(i).As<Napi::Object>();
    rlimits.push_back({(int)num(e, "resource"), rlim(num(e, "soft")), rlim(num(e, "hard"))});
  }
  cfg.no_new_privs = flag(o, "noNewPrivs");
  Napi::Value oom = o.Get("oomScoreAdj");
  cfg.has_oom_score_adj = oom.IsNumber();
  cfg.oom_score_adj = cfg.has_oom_score_adj ? oom.As<Napi::Number>().Int32Value() : 0;
  cfg.terminal = flag(o, "terminal");
  Napi::Value cs = o.Get("consoleSize");
  if (cs.IsObject()) {
    cfg.rows = (unsigned short)num(cs.As<Napi::Object>(), "rows");
    cfg.cols = (unsigned short)num(cs.As<Napi::Object>(), "cols");
  }
  Napi::Array io = arr(o, "stdio");
  for (uint32_t i = 0; i < 3; i++) cfg.stdio[i] = io.Get(i).As<Napi::Number>().Int32Value();
  cfg.init = flag(o, "init");
  cfg.kill_on_parent_death = flag(o, "killOnParentDeath");
  cfg.exec_mode = flag(o, "execMode");
  cfg.exec_fifo_fd = -1;
  cfg.rootfs_mount_fd = -1;
  load_userns(o);

  Napi::Value sc = o.Get("sysctl");
  if (sc.IsArray()) {
    Napi::Array a = sc.As<Napi::Array>();
    for (uint32_t i = 0; i < a.Length(); i++) {
      Napi::Object e = a.Get(i).As<Napi::Object>();
      sysctls.push_back({keep(str(e, "key")), keep(str(e, "value"))});
    }
  }
  Napi::Value sf = o.Get("seccomp");
  if (sf.IsObject()) {
    Napi::Object so = sf.As<Napi::Object>();
    Napi::Value filter = so.Get("filter");
    if (!filter.IsBuffer()) throw Napi::TypeError::New(o.Env(), "config.seccomp.filter must be a Buffer");
    Napi::Buffer<char> b = filter.As<Napi::Buffer<char>>();
    if (b.Length() == 0 || b.Length() % 8 != 0 || b.Length() / 8 > 0xffff)
      throw Napi::TypeError::New(o.Env(), "config.seccomp.filter is not a BPF program");
    seccomp.assign(b.Data(), b.Length());
    cfg.seccomp_filter = seccomp.data();
    cfg.seccomp_len = b.Length() / 8;
    cfg.seccomp_flags = (unsigned)num(so, "flags");
  }
  Napi::Value hooks = o.Get("hooks");
  if (hooks.IsObject()) {
    Napi::Object h = hooks.As<Napi::Object>();
    create_runtime.load(arr(h, "createRuntime"));
    create_container.load(arr(h, "createContainer"));
    start_container.load(arr(h, "startContainer"));
    Napi::Object st = o.Get("hookState").As<Napi::Object>();
    cfg.state_creating = keep(str(st, "creating"));
    cfg.state_created = keep(str(st, "created"));
  }
  cfg.create_runtime = create_runtime.list();
  cfg.create_container = create_container.list();
  cfg.start_container = start_container.list();
  cfg.sysctls = sysctls.data();
  cfg.n_sysctls = sysctls.size();

  cfg.joins = joins.data();
  cfg.n_joins = joins.size();
  cfg.mounts = mounts.data();
  cfg.n_mounts = mounts.size();
  cfg.devices = devices.data();
  cfg.n_devices = devices.size();
  cfg.masked = masked.data();
  cfg.n_masked = masked.size();
  cfg.readonly = readonly.data();
  cfg.n_readonly = readonly.size();
  cfg.argv = const_cast<char *const *>(argv.data());
  cfg.envp = const_cast<char *const *>(envp.data());
  cfg.groups = groups.data();
  cfg.n_groups = groups.size();
  cfg.rlimits = rlimits.data();
  cfg.n_rlimits = rlimits.size();
}
