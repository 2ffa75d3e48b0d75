// Cgroup control-file writes and the cgroup v2 device filter.
// Syscalls: open, write, close (cgroupfs files); bpf(BPF_PROG_LOAD) and
// bpf(BPF_PROG_ATTACH) for a BPF_PROG_TYPE_CGROUP_DEVICE program;
// setrlimit(RLIMIT_MEMLOCK) on kernels (< 5.11) that charge programs to it.
//
// Writes are native because cgroupfs parses each write() as one command:
// we need exactly one write of the whole value, and the errno of that write
// (EINVAL for a bad value, EBUSY for a limit below current usage) rather
// than whatever a buffered writer reports.
//
// cgroup v2 has no devices.allow/deny files; device access is decided by an
// eBPF program attached to the cgroup (runc libcontainer/cgroups/devices
// devicefilter.go and crun src/libcrun/ebpf.c do the same). No libbpf: the
// program is a few dozen instructions built here from the rules.
#include <errno.h>
#include <fcntl.h>
#include <linux/bpf.h>
#include <stdint.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "cgroup.h"
#include "errors.h"

// cgroupWrite(path, value): open(O_WRONLY), one write(), close.
Napi::Value CgroupWrite(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  std::string path = info[0].As<Napi::String>();
  std::string value = info[1].As<Napi::String>();
  int fd;
  do {
    fd = open(path.c_str(), O_WRONLY | O_CLOEXEC);
  } while (fd < 0 && errno == EINTR);
  if (fd < 0) throw MakeSystemError(env, errno, "cgroup", "open", path.c_str());
  ssize_t n;
  do {
    n = write(fd, value.data(), value.size());
  } while (n < 0 && errno == EINTR);
  // A short write would mean the kernel took part of a command; cgroupfs
  // never does that, so treat it as an I/O error rather than retrying.
  int err = n < 0 ? errno : ((size_t)n != value.size() ? EIO : 0);
  close(fd);
  if (err) throw MakeSystemError(env, err, "cgroup", "write", path.c_str());
  return env.Undefined();
}

namespace {

struct DeviceRule {
  bool allow;
  char type;      // 'a', 'c' or 'b'
  int64_t major;  // -1 = any
  int64_t minor;  // -1 = any
  uint32_t access;  // BPF_DEVCG_ACC_* bits
};

const uint32_t kAllAccess = BPF_DEVCG_ACC_READ | BPF_DEVCG_ACC_WRITE | BPF_DEVCG_ACC_MKNOD;

bpf_insn Insn(uint8_t code, uint8_t dst, uint8_t src, int16_t off, int32_t imm) {
  bpf_insn i;
  memset(&i, 0, sizeof i);
  i.code = code;
  i.dst_reg = dst & 0xf;
  i.src_reg = src & 0xf;
  i.off = off;
  i.imm = imm;
  return i;
}

bpf_insn LoadCtxWord(uint8_t dst, int16_t off) { return Insn(BPF_LDX | BPF_MEM | BPF_W, dst, BPF_REG_1, off, 0); }
bpf_insn Alu32Imm(uint8_t op, uint8_t dst, int32_t imm) { return Insn(BPF_ALU | op | BPF_K, dst, 0, 0, imm); }
bpf_insn Mov32Reg(uint8_t dst, uint8_t src) { return Insn(BPF_ALU | BPF_MOV | BPF_X, dst, src, 0, 0); }
// Jumps get their offset once the block's length is known (kNext).
const int16_t kNext = 0x7fff;
bpf_insn JumpImm(uint8_t op, uint8_t dst, int32_t imm) { return Insn(BPF_JMP | op | BPF_K, dst, 0, kNext, imm); }
bpf_insn JumpReg(uint8_t op, uint8_t dst, uint8_t src) { return Insn(BPF_JMP | op | BPF_X, dst, src, kNext, 0); }
bpf_insn Exit() { return Insn(BPF_JMP | BPF_EXIT, 0, 0, 0, 0); }

// The program. struct bpf_cgroup_dev_ctx is { u32 access_type; u32 major;
// u32 minor; } with access_type = (access << 16) | device type.
//
//   r2 = device type     r3 = requested access     r4 = major   r5 = minor
//   block per rule, last rule first:  if the rule matches, return its verdict;
//                                     otherwise fall through to the next block
//   return the default verdict
//
// Checking the rules last-to-first makes the last matching rule win, as in
// the v1 devices controller. An allow rule matches when it grants every
// access bit asked for; a deny rule matches when it takes away any of them
// (the kernel's v1 semantics for exceptions in the two modes). A type 'a'
// rule covers every device whatever its numbers say (v1 "a"), so it
// discards the rules before it and sets the default; with none the default
// is deny.
std::vector<bpf_insn> BuildProgram(const std::vector<DeviceRule> &rules) {
  size_t first = 0;
  bool default_allow = false;
  for (size_t i = 0; i < rules.size(); i++) {
    if (rules[i].type == 'a') {
      first = i + 1;
      default_allow = rules[i].allow;
    }
  }

  std::vector<bpf_insn> prog = {
      LoadCtxWord(BPF_REG_2, 0), Alu32Imm(BPF_AND, BPF_REG_2, 0xffff),
      LoadCtxWord(BPF_REG_3, 0), Alu32Imm(BPF_RSH, BPF_REG_3, 16),
      LoadCtxWord(BPF_REG_4, 4),
      LoadCtxWord(BPF_REG_5, 8),
  };
  for (size_t i = rules.size(); i-- > first;) {
    const DeviceRule &r = rules[i];
    std::vector<bpf_insn> block;
    block.push_back(JumpImm(BPF_JNE, BPF_REG_2, r.type == 'b' ? BPF_DEVCG_DEV_BLOCK : BPF_DEVCG_DEV_CHAR));
    if (r.access != kAllAccess) {
      // r1 (the context pointer) is free now that everything is loaded.
      block.push_back(Mov32Reg(BPF_REG_1, BPF_REG_3));
      block.push_back(Alu32Imm(BPF_AND, BPF_REG_1, (int32_t)r.access));
      if (r.allow) block.push_back(JumpReg(BPF_JNE, BPF_REG_1, BPF_REG_3));  // asks for more than granted
      else block.push_back(JumpImm(BPF_JEQ, BPF_REG_1, 0));                 // asks for none of the denied
    }
    if (r.major >= 0) block.push_back(JumpImm(BPF_JNE, BPF_REG_4, (int32_t)r.major));
    if (r.minor >= 0) block.push_back(JumpImm(BPF_JNE, BPF_REG_5, (int32_t)r.minor));
    block.push_back(Alu32Imm(BPF_MOV, BPF_REG_0, r.allow ? 1 : 0));
    block.push_back(Exit());
    // A jump's offset counts from the instruction after it: to skip to the
    // next block, jump over what is left of this one.
    for (size_t j = 0; j < block.size(); j++)
      if (block[j].off == kNext) block[j].off = (int16_t)(block.size() - j - 1);
    prog.insert(prog.end(), block.begin(), block.end());
  }
  prog.push_back(Alu32Imm(BPF_MOV, BPF_REG_0, default_allow ? 1 : 0));
  prog.push_back(Exit());
  return prog;
}

int Bpf(int cmd, union bpf_attr *attr) { return (int)syscall(SYS_bpf, cmd, attr, sizeof *attr); }

int LoadProgram(const std::vector<bpf_insn> &prog) {
  static const char license[] = "GPL";
  union bpf_attr attr;
  memset(&attr, 0, sizeof attr);
  attr.prog_type = BPF_PROG_TYPE_CGROUP_DEVICE;
  attr.insns = (uint64_t)(uintptr_t)prog.data();
  attr.insn_cnt = (uint32_t)prog.size();
  attr.license = (uint64_t)(uintptr_t)license;
  int fd = Bpf(BPF_PROG_LOAD, &attr);
  if (fd < 0 && errno == EPERM) {
    // Before 5.11 a program's memory counts against RLIMIT_MEMLOCK, whose
    // default (64 KiB on many distributions) is easily used up; runc and
    // crun lift it the same way. Root may raise its own hard limit.
    struct rlimit unlimited = {RLIM_INFINITY, RLIM_INFINITY};
    if (setrlimit(RLIMIT_MEMLOCK, &unlimited) == 0) fd = Bpf(BPF_PROG_LOAD, &attr);
    else errno = EPERM;
  }
  return fd;
}

uint32_t AccessBits(const std::string &access) {
  uint32_t bits = 0;
  for (char c : access) {
    if (c == 'r') bits |= BPF_DEVCG_ACC_READ;
    else if (c == 'w') bits |= BPF_DEVCG_ACC_WRITE;
    else if (c == 'm') bits |= BPF_DEVCG_ACC_MKNOD;
  }
  return bits;
}

}  // namespace

// attachDeviceFilter(cgroupDir, rules): rules are validated in TypeScript
// (src/cgroups/devices.ts); type is 'a', 'c' or 'b', -1 means any number.
Napi::Value AttachDeviceFilter(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  std::string dir = info[0].As<Napi::String>();
  Napi::Array list = info[1].As<Napi::Array>();
  std::vector<DeviceRule> rules;
  for (uint32_t i = 0; i < list.Length(); i++) {
    Napi::Object o = list.Get(i).As<Napi::Object>();
    std::string type = o.Get("type").As<Napi::String>();
    rules.push_back(DeviceRule{
        o.Get("allow").ToBoolean().Value(),
        type.empty() ? 'a' : type[0],
        o.Get("major").As<Napi::Number>().Int64Value(),
        o.Get("minor").As<Napi::Number>().Int64Value(),
        AccessBits(o.Get("access").As<Napi::String>()),
    });
  }
  std::vector<bpf_insn> prog = BuildProgram(rules);

  int cgroup_fd = open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (cgroup_fd < 0) throw MakeSystemError(env, errno, "cgroup", "open", dir.c_str());
  int prog_fd = LoadProgram(prog);
  if (prog_fd < 0) {
    int err = errno;
    close(cgroup_fd);
    throw MakeSystemError(env, err, "cgroup", "bpf(BPF_PROG_LOAD)", dir.c_str());
  }
  union bpf_attr attr;
  memset(&attr, 0, sizeof attr);
  attr.target_fd = (uint32_t)cgroup_fd;
  attr.attach_bpf_fd = (uint32_t)prog_fd;
  attr.attach_type = BPF_CGROUP_DEVICE;
  // ALLOW_MULTI: programs on ancestors keep running too (all must allow),
  // and a later update can add a program before removing this one.
  attr.attach_flags = BPF_F_ALLOW_MULTI;
  int rc = Bpf(BPF_PROG_ATTACH, &attr);
  int err = rc < 0 ? errno : 0;
  // The cgroup holds its own reference to an attached program.
  close(prog_fd);
  close(cgroup_fd);
  if (rc < 0) throw MakeSystemError(env, err, "cgroup", "bpf(BPF_PROG_ATTACH)", dir.c_str());
  return env.Undefined();
}
