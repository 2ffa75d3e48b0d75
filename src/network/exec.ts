// The one module that runs the host's network tools: `ip` (iproute2), `nft`
// (nftables), `nsenter` (util-linux), and writes /proc/sys directly instead of
// spawning `sysctl`. Everything else in src/network/ takes a `NetTools` so
// unit tests can hand in a fake that records calls.
//
// Errors: a failing tool becomes a TsrunError whose message names the command
// line and carries the tool's stderr, e.g.
//   ip link add tsrun0 type bridge: RTNETLINK answers: Operation not permitted
import { access, readFile, writeFile } from 'node:fs/promises';
import { TsrunError } from '../errors.js';

export interface RunResult {
  stdout: string;
  stderr: string;
  exitCode: number;
}

export interface NetTools {
  /** `ip ARGS...`; stdout. Throws TsrunError on a non-zero exit. */
  ip(args: string[]): Promise<string>;
  /** `ip -j ARGS...` parsed (an empty output is []). */
  ipJson<T = unknown>(args: string[]): Promise<T[]>;
  /** `nft -f -` with the script on stdin: applied as one atomic transaction. */
  nftScript(script: string): Promise<void>;
  /** `nft -j ARGS...` parsed; `null` when the object does not exist (ENOENT). */
  nftJson(args: string[]): Promise<NftJson | null>;
  /** `ip -batch -` run inside the network namespace of `pid` (via nsenter --net=/proc/PID/ns/net). */
  ipBatchInNetns(pid: number, commands: string[]): Promise<void>;
  /** `ip -j ARGS...` inside the network namespace of `pid`, parsed. */
  ipJsonInNetns<T = unknown>(pid: number, args: string[]): Promise<T[]>;
  /** Reads /proc/sys/<key with dots as slashes>, trimmed. */
  readSysctl(key: string): Promise<string>;
  /** Writes /proc/sys/<key with dots as slashes>. */
  writeSysctl(key: string, value: string): Promise<void>;
  /** Whether a network device of this name exists on the host (default: from `ip -j link show`). */
  linkExists?(name: string): Promise<boolean>;
}

export interface NftJson {
  nftables: Array<Record<string, any>>;
}

function toolError(cmd: string, args: string[], r: RunResult | null, cause?: unknown): TsrunError {
  const line = [cmd, ...args].join(' ');
  if (r === null) {
    const code = (cause as NodeJS.ErrnoException | undefined)?.code;
    const pkg: Record<string, string> = { ip: 'iproute2', nft: 'nftables', nsenter: 'util-linux' };
    const hint = code === 'ENOENT' ? ` (${cmd} is not installed${pkg[cmd] ? `: apt-get install ${pkg[cmd]}` : ''})` : '';
    return new TsrunError('CONTAINER_SETUP_FAILED', `${line}: ${(cause as Error)?.message ?? 'failed to run'}${hint}`, { cause });
  }
  const why = r.stderr.trim() || r.stdout.trim() || `exit status ${r.exitCode}`;
  return new TsrunError('CONTAINER_SETUP_FAILED', `${line}: ${why}`);
}

// A container's monitor runs `tsrun container cleanup` with an empty
// environment, and engines may call tsrun with a bare one: the tools are
// then looked up on the usual system path.
const SYSTEM_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
const toolEnv = () => (process.env.PATH ? process.env : { ...process.env, PATH: SYSTEM_PATH });

/** Runs a command without a shell; resolves with its output whatever the exit code. */
export async function runCommand(cmd: string, args: string[], input?: string): Promise<RunResult> {
  // child_process (with net and stream) loads when a tool first runs, not with every verb.
  const { execFile, spawn } = await import('node:child_process');
  return new Promise((resolve, reject) => {
    if (input === undefined) {
      execFile(cmd, args, { maxBuffer: 64 << 20, encoding: 'utf8', env: toolEnv() }, (err, stdout, stderr) => {
        if (err && typeof (err as NodeJS.ErrnoException).code === 'string') return reject(toolError(cmd, args, null, err));
        const exitCode = err ? ((err as { code?: number }).code ?? 1) : 0;
        resolve({ stdout, stderr, exitCode });
      });
      return;
    }
    const child = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'], env: toolEnv() });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', (err) => reject(toolError(cmd, args, null, err)));
    child.on('close', (code, signal) => resolve({ stdout, stderr, exitCode: code ?? (signal ? 128 : 1) }));
    child.stdin.on('error', () => {}); // EPIPE when the tool exits early; its stderr says why
    child.stdin.end(input);
  });
}

async function must(cmd: string, args: string[], input?: string, shownArgs = args): Promise<string> {
  const r = await runCommand(cmd, args, input);
  if (r.exitCode !== 0) throw toolError(cmd, shownArgs, r);
  return r.stdout;
}

function parseJsonList<T>(out: string): T[] {
  const s = out.trim();
  return s === '' ? [] : (JSON.parse(s) as T[]);
}

function sysctlPath(key: string): string {
  if (!/^[A-Za-z0-9_.-]+$/.test(key) || key.includes('..')) throw new TsrunError('INVALID_ARGUMENT', `invalid sysctl key ${key}`);
  return '/proc/sys/' + key.replaceAll('.', '/');
}

function netnsArgs(pid: number): string[] {
  if (!Number.isInteger(pid) || pid <= 0) throw new TsrunError('INVALID_ARGUMENT', `invalid pid ${pid}`);
  return [`--net=/proc/${pid}/ns/net`, '--'];
}

/** The real tools on this host. */
export const hostTools: NetTools = {
  ip: (args) => must('ip', args),
  ipJson: async (args) => parseJsonList(await must('ip', ['-j', ...args])),
  nftScript: async (script) => {
    // Show the script in the error: nft's own message points at a line of it.
    const r = await runCommand('nft', ['-f', '-'], script);
    if (r.exitCode !== 0) throw toolError('nft', ['-f', '-'], { ...r, stderr: `${r.stderr.trim()}\n--- script ---\n${script}` });
  },
  nftJson: async (args) => {
    const r = await runCommand('nft', ['-j', ...args]);
    if (r.exitCode !== 0) {
      if (/No such file or directory/.test(r.stderr)) return null;
      throw toolError('nft', ['-j', ...args], r);
    }
    return r.stdout.trim() === '' ? { nftables: [] } : (JSON.parse(r.stdout) as NftJson);
  },
  ipBatchInNetns: async (pid, commands) => {
    await must('nsenter', [...netnsArgs(pid), 'ip', '-batch', '-'], commands.join('\n') + '\n', [
      ...netnsArgs(pid),
      'ip',
      '-batch',
      `- <<< ${JSON.stringify(commands.join('; '))}`,
    ]);
  },
  ipJsonInNetns: async (pid, args) => parseJsonList(await must('nsenter', [...netnsArgs(pid), 'ip', '-j', ...args])),
  readSysctl: async (key) => (await readFile(sysctlPath(key), 'utf8')).trim(),
  writeSysctl: async (key, value) => {
    try {
      await writeFile(sysctlPath(key), value);
    } catch (err) {
      throw new TsrunError('CONTAINER_SETUP_FAILED', `write ${sysctlPath(key)}=${value}: ${(err as Error).message}`, { cause: err });
    }
  },
  // The kernel lists the host's devices in sysfs: a stat, where `ip -j link
  // show` is a process and every link's JSON.
  linkExists: async (name) => {
    if (!/^[A-Za-z0-9_.:-]{1,15}$/.test(name) || name === '.' || name === '..') throw new TsrunError('INVALID_ARGUMENT', `invalid device name ${JSON.stringify(name)}`);
    return access(`/sys/class/net/${name}`).then(() => true, () => false);
  },
};
