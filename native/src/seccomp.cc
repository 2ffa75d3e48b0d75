// Seccomp: an OCI linux.seccomp object is compiled to classic BPF with
// libseccomp on the parent side (seccompCompile, cached by the caller per
// profile digest), and the child only installs the finished program, so
// nothing between clone and execve allocates or calls into libseccomp.
// Syscalls: seccomp(SECCOMP_SET_MODE_FILTER), memfd_create, read.
#include <errno.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <seccomp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "child.h"
#include "errors.h"
#include "spawn.h"

namespace {

// The ctx is freed on every path out, including a thrown JS error.
struct FilterCtx {
  scmp_filter_ctx ctx = nullptr;
  ~FilterCtx() {
    if (ctx) seccomp_release(ctx);
  }
};

Napi::Error invalid(Napi::Env env, const std::string &msg) { return Napi::TypeError::New(env, "seccomp: " + msg); }

uint32_t action_of(Napi::Env env, const std::string &name, Napi::Value errno_ret) {
  uint32_t ret = errno_ret.IsNumber() ? errno_ret.As<Napi::Number>().Uint32Value() : EPERM;
  if (name == "SCMP_ACT_ALLOW") return SCMP_ACT_ALLOW;
  if (name == "SCMP_ACT_ERRNO") return SCMP_ACT_ERRNO(ret);
  if (name == "SCMP_ACT_KILL" || name == "SCMP_ACT_KILL_THREAD") return SCMP_ACT_KILL_THREAD;
  if (name == "SCMP_ACT_KILL_PROCESS") return SCMP_ACT_KILL_PROCESS;
  if (name == "SCMP_ACT_TRAP") return SCMP_ACT_TRAP;
  if (name == "SCMP_ACT_TRACE") return SCMP_ACT_TRACE(ret);
  if (name == "SCMP_ACT_LOG") return SCMP_ACT_LOG;
  throw invalid(env, "unsupported action " + name);
}

scmp_compare op_of(Napi::Env env, const std::string &op) {
  if (op == "SCMP_CMP_NE") return SCMP_CMP_NE;
  if (op == "SCMP_CMP_LT") return SCMP_CMP_LT;
  if (op == "SCMP_CMP_LE") return SCMP_CMP_LE;
  if (op == "SCMP_CMP_EQ") return SCMP_CMP_EQ;
  if (op == "SCMP_CMP_GE") return SCMP_CMP_GE;
  if (op == "SCMP_CMP_GT") return SCMP_CMP_GT;
  if (op == "SCMP_CMP_MASKED_EQ") return SCMP_CMP_MASKED_EQ;
  throw invalid(env, "unsupported argument operator " + op);
}

uint64_t u64(Napi::Value v) {
  if (v.IsBigInt()) {
    bool lossless;
    return v.As<Napi::BigInt>().Uint64Value(&lossless);
  }
  if (!v.IsNumber()) return 0;
  double d = v.As<Napi::Number>().DoubleValue();
  // Profiles write -1-style masks as negative numbers now and then.
  return d < 0 ? (uint64_t)(int64_t)d : (uint64_t)d;
}

std::string str(Napi::Value v) { return v.IsString() ? v.As<Napi::String>().Utf8Value() : std::string(); }

// "SCMP_ARCH_X86_64" → libseccomp's token for "x86_64".
uint32_t arch_of(Napi::Env env, const std::string &name) {
  std::string n = name.rfind("SCMP_ARCH_", 0) == 0 ? name.substr(10) : name;
  for (char &ch : n) ch = (char)tolower((unsigned char)ch);
  uint32_t a = seccomp_arch_resolve_name(n.c_str());
  if (a == 0) throw invalid(env, "unknown architecture " + name);
  return a;
}

void add_rule(Napi::Env env, scmp_filter_ctx ctx, uint32_t act, int nr, const std::string &name, Napi::Value args) {
  std::vector<scmp_arg_cmp> conds;
  unsigned per_index[6] = {};
  if (args.IsArray()) {
    Napi::Array a = args.As<Napi::Array>();
    for (uint32_t i = 0; i < a.Length(); i++) {
      Napi::Object c = a.Get(i).As<Napi::Object>();
      unsigned idx = c.Get("index").As<Napi::Number>().Uint32Value();
      if (idx > 5) throw invalid(env, "argument index " + std::to_string(idx) + " of " + name + " is out of range");
      per_index[idx]++;
      conds.push_back({idx, op_of(env, str(c.Get("op"))), u64(c.Get("value")), u64(c.Get("valueTwo"))});
    }
  }
  // runc's rule: conditions on distinct arguments must all hold (one rule);
  // several on the same argument are alternatives (one rule each).
  bool alternatives = false;
  for (unsigned n : per_index) alternatives |= n > 1;
  int rc = 0;
  if (!alternatives) {
    rc = seccomp_rule_add_array(ctx, act, nr, (unsigned)conds.size(), conds.empty() ? nullptr : conds.data());
  } else {
    for (size_t i = 0; i < conds.size() && rc == 0; i++) rc = seccomp_rule_add_array(ctx, act, nr, 1, &conds[i]);
  }
  if (rc < 0) throw invalid(env, "cannot add the rule for " + name + ": " + strerror(-rc));
}

// The highest syscall number libseccomp knows for an architecture.
int max_known_nr(uint32_t arch) {
  for (int nr = 1023; nr >= 0; nr--) {
    char *name = seccomp_syscall_resolve_num_arch(arch, nr);
    if (name) {
      free(name);
      return nr;
    }
  }
  return -1;
}

// runc's stub: a syscall newer than this libseccomp (so absent from any
// profile) fails with ENOSYS, not the default errno, so libc falls back to
// the call it replaces (fchmodat2 → fchmodat, and the like) instead of
// reporting EPERM. Prepended per architecture; the exported program after
// it is unchanged (classic BPF jumps are relative and only go forward).
std::string enosys_stub(const std::vector<uint32_t> &arches) {
  std::vector<sock_filter> out;
  for (uint32_t arch : arches) {
    int max = max_known_nr(arch);
    if (max < 0) continue;
    bool x86_64 = arch == SCMP_ARCH_X86_64;
    unsigned char rest = x86_64 ? 4 : 3;
    out.push_back(BPF_STMT(BPF_LD | BPF_W | BPF_ABS, 4));  // seccomp_data.arch
    out.push_back(BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, arch, 0, rest));
    out.push_back(BPF_STMT(BPF_LD | BPF_W | BPF_ABS, 0));  // seccomp_data.nr
    // x32 calls arrive as x86_64 with bit 30 set: libseccomp's part.
    if (x86_64) out.push_back(BPF_JUMP(BPF_JMP | BPF_JSET | BPF_K, 0x40000000, 2, 0));
    out.push_back(BPF_JUMP(BPF_JMP | BPF_JGT | BPF_K, (uint32_t)max, 0, 1));
    out.push_back(BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | ENOSYS));
  }
  return std::string(reinterpret_cast<const char *>(out.data()), out.size() * sizeof(sock_filter));
}

}  // namespace

// seccompCompile(seccomp): Buffer of struct sock_filter, ready for
// seccomp(SECCOMP_SET_MODE_FILTER). Syscall names this libseccomp does not
// know are skipped, as runc does; rules whose action is the default one are
// skipped too (libseccomp refuses them).
Napi::Value SeccompCompile(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  Napi::Object s = info[0].As<Napi::Object>();
  uint32_t def = action_of(env, str(s.Get("defaultAction")), s.Get("defaultErrnoRet"));
  FilterCtx f;
  f.ctx = seccomp_init(def);
  if (!f.ctx) throw invalid(env, "cannot initialise libseccomp");
  // The filter is only exported: whether no_new_privs is set is the
  // runtime's business, not libseccomp's.
  seccomp_attr_set(f.ctx, SCMP_FLTATR_CTL_NNP, 0);
  std::vector<uint32_t> arch_list = {seccomp_arch_native()};
  Napi::Value arches = s.Get("architectures");
  if (arches.IsArray()) {
    Napi::Array a = arches.As<Napi::Array>();
    for (uint32_t i = 0; i < a.Length(); i++) {
      uint32_t arch = arch_of(env, str(a.Get(i)));
      int rc = seccomp_arch_add(f.ctx, arch);
      if (rc < 0 && rc != -EEXIST) throw invalid(env, "cannot add architecture " + str(a.Get(i)) + ": " + strerror(-rc));
      if (rc == 0 && arch != SCMP_ARCH_X32) arch_list.push_back(arch);
    }
  }
  Napi::Value calls = s.Get("syscalls");
  if (calls.IsArray()) {
    Napi::Array list = calls.As<Napi::Array>();
    for (uint32_t i = 0; i < list.Length(); i++) {
      Napi::Object rule = list.Get(i).As<Napi::Object>();
      uint32_t act = action_of(env, str(rule.Get("action")), rule.Get("errnoRet"));
      if (act == def) continue;
      Napi::Array names = rule.Get("names").As<Napi::Array>();
      for (uint32_t j = 0; j < names.Length(); j++) {
        std::string name = str(names.Get(j));
        int nr = seccomp_syscall_resolve_name(name.c_str());
        if (nr == __NR_SCMP_ERROR) continue;
        add_rule(env, f.ctx, act, nr, name, rule.Get("args"));
      }
    }
  }
  int fd = (int)syscall(SYS_memfd_create, "seccomp-bpf", MFD_CLOEXEC);
  if (fd < 0) throw MakeSystemError(env, errno, "seccomp", "memfd_create", nullptr);
  int rc = seccomp_export_bpf(f.ctx, fd);
  // With ALLOW as the default an unknown call is allowed anyway.
  std::string out = def == SCMP_ACT_ALLOW ? std::string() : enosys_stub(arch_list);
  if (rc == 0) {
    lseek(fd, 0, SEEK_SET);
    char buf[8192];
    ssize_t n;
    while ((n = read(fd, buf, sizeof buf)) > 0) out.append(buf, (size_t)n);
  }
  close(fd);
  if (rc < 0) throw invalid(env, std::string("cannot export the filter: ") + strerror(-rc));
  return Napi::Buffer<char>::Copy(env, out.data(), out.size());
}

static bool prctl_get_seccomp_ok() { return syscall(SYS_prctl, 21 /* PR_GET_SECCOMP */, 0, 0, 0, 0) >= 0; }

// seccompInfo(): what `tsrun check` reports.
Napi::Value SeccompInfo(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  const scmp_version *v = seccomp_version();
  Napi::Object o = Napi::Object::New(env);
  o.Set("libseccomp", std::to_string(v->major) + "." + std::to_string(v->minor) + "." + std::to_string(v->micro));
  // PR_GET_SECCOMP works without a filter; EINVAL means no seccomp in this kernel.
  o.Set("kernel", prctl_get_seccomp_ok());
  o.Set("apiLevel", (double)seccomp_api_get());
  // Bumped whenever seccompCompile's output changes for the same input, so
  // programs cached by an older addon are not reused.
  o.Set("program", 2);
  return o;
}

void child_seccomp(const container_config *c) {
  if (!c->seccomp_filter) return;
  struct sock_fprog prog;
  prog.len = (unsigned short)c->seccomp_len;
  prog.filter = const_cast<struct sock_filter *>(static_cast<const struct sock_filter *>(c->seccomp_filter));
  if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, c->seccomp_flags, &prog) != 0)
    child_fail("seccomp", "seccomp", nullptr);
}
