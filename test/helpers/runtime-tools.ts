// Runs the OCI runtime-tools validation suite (built by
// scripts/runtime-tools.sh) against a runtime and compares runtimes.
//
// Each validation/*/*.t is a Go program that writes TAP on stdout and drives
// the runtime named by $RUNTIME (create/start/state/kill/delete). It must run
// with cwd = the built tree (it untars rootfs-amd64.tar.gz and copies
// runtimetest from there) and puts its bundles under $TMPDIR.
//
// A case is identified by its file and its name (names repeat within a file,
// so the n-th occurrence of a name is "name #n"); numbers are not stable
// across runtimes, since a runtime that fails early emits fewer cases.
//
// Also a command line:
//   scripts/runtime-tools.sh compare [--tarball T | --suite DIR]
//       [--runtime NAME=CMD]... [--only REGEX] [--jobs N] [--timeout SEC] [--json FILE] [--no-cache]
// NAME=CMD is a runtime command line, e.g. runc='runc' or
// tsrun-oci='node bin/tsrun-oci'; the default is runc and this
// checkout's tsrun-oci. Each runtime gets a private --root. With more than
// one runtime it prints every case the first passes and another fails.
// runc's results are cached next to the suite, keyed by `runc --version`
// (--no-cache runs it again).
import { execFileSync, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmdirSync, rmSync, writeFileSync } from 'node:fs';
import { release as kernelRelease, tmpdir } from 'node:os';
import { basename, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = fileURLToPath(new URL('../..', import.meta.url));

export const DEFAULT_TARBALL = resolve(repo, process.env.TSRUN_RUNTIME_TOOLS_TARBALL ?? '../shared/third_party/runtime-tools-260e151.tar.gz');

export interface TapCase {
  n: number;
  ok: boolean;
  name: string;
  /** Unique within the file: the name, with " #k" from its second occurrence on. */
  key: string;
  skip?: string;
  todo?: string;
  /** The YAML diagnostic block that followed the line, if any. */
  diag?: string;
}

export interface TapResult {
  cases: TapCase[];
  plan: number | null;
  /** YAML blocks that came before any case (a test that failed outside a case reports its error there). */
  preamble: string[];
  bailOut?: string;
}

export interface FileResult extends TapResult {
  /** The test's directory name under validation/ ("default", "kill", ...). */
  file: string;
  exitCode: number | null;
  timedOut: boolean;
  ms: number;
  /** The last lines of the test's stderr (where it says why a container would not create or start). */
  stderr: string;
}

export interface SuiteResult {
  runtime: string;
  files: FileResult[];
}

/** Parses TAP version 13 as tap-go writes it. */
export function parseTap(text: string): TapResult {
  const cases: TapCase[] = [];
  const preamble: string[] = [];
  const seen = new Map<string, number>();
  let plan: number | null = null;
  let bailOut: string | undefined;
  let yaml: string[] | null = null;
  for (const line of text.split('\n')) {
    if (yaml) {
      if (/^\s+\.\.\.\s*$/.test(line)) {
        const block = yaml.join('\n');
        if (cases.length) cases[cases.length - 1].diag = block;
        else preamble.push(block);
        yaml = null;
      } else {
        yaml.push(line.replace(/^ {2}/, ''));
      }
      continue;
    }
    if (/^\s+---\s*$/.test(line)) {
      yaml = [];
      continue;
    }
    const m = /^(not )?ok\b\s*(\d+)?\s*(?:-\s*)?(.*)$/.exec(line);
    if (m) {
      let name = m[3];
      let skip: string | undefined;
      let todo: string | undefined;
      const d = /^(.*?)\s*#\s*(skip|todo)\b\S*\s*(.*)$/i.exec(name);
      if (d) {
        name = d[1];
        if (d[2].toLowerCase() === 'skip') skip = d[3];
        else todo = d[3];
      }
      if (!name) name = skip !== undefined ? `# SKIP ${skip}` : todo !== undefined ? `# TODO ${todo}` : `#${m[2] ?? cases.length + 1}`;
      const k = (seen.get(name) ?? 0) + 1;
      seen.set(name, k);
      cases.push({
        n: m[2] ? Number(m[2]) : cases.length + 1,
        ok: !m[1],
        name,
        key: k === 1 ? name : `${name} #${k}`,
        ...(skip !== undefined ? { skip } : {}),
        ...(todo !== undefined ? { todo } : {}),
      });
      continue;
    }
    // "# expect: 10, actual: 60" (tap-go's Diagnostic) after a case: its diagnostic too.
    const comment = /^#\s?(.*)$/.exec(line);
    if (comment && cases.length) {
      const last = cases[cases.length - 1];
      last.diag = last.diag ? `${last.diag}\n${comment[1]}` : comment[1];
      continue;
    }
    const p = /^1\.\.(\d+)/.exec(line);
    if (p) plan = Number(p[1]);
    const b = /^Bail out!\s*(.*)$/.exec(line);
    if (b) bailOut = b[1];
  }
  return { cases, plan, preamble, ...(bailOut !== undefined ? { bailOut } : {}) };
}

/** A file passes fully when it exits 0, ran at least one case and failed none. */
export function filePasses(f: FileResult): boolean {
  return f.exitCode === 0 && !f.timedOut && f.cases.length > 0 && f.cases.every((c) => c.ok);
}

export function totals(r: SuiteResult): { ok: number; notOk: number; filesPassing: number; files: number } {
  let ok = 0;
  let notOk = 0;
  for (const f of r.files) for (const c of f.cases) c.ok ? ok++ : notOk++;
  return { ok, notOk, filesPassing: r.files.filter(filePasses).length, files: r.files.length };
}

/** Builds (or finds cached) the suite; returns its directory. */
export function buildSuite(tarball = DEFAULT_TARBALL, outDir?: string): string {
  const out = execFileSync('bash', [join(repo, 'scripts/runtime-tools.sh'), tarball, ...(outDir ? [outDir] : [])], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return out.trim().split('\n').pop()!;
}

/** Why the suite cannot be built here, or '' when it can. */
export function suiteSkipReason(tarball = DEFAULT_TARBALL): string {
  const problems: string[] = [];
  if (!existsSync(tarball)) problems.push(`no runtime-tools tarball at ${tarball} (set TSRUN_RUNTIME_TOOLS_TARBALL)`);
  for (const tool of ['go', 'make']) {
    try {
      execFileSync('sh', ['-c', `command -v ${tool}`], { stdio: 'ignore' });
    } catch {
      problems.push(`${tool} not found (Debian: apt-get install golang-go make)`);
    }
  }
  return problems.join('; ');
}

export function listTests(suiteDir: string): string[] {
  const v = join(suiteDir, 'validation');
  return readdirSync(v)
    .filter((d) => existsSync(join(v, d, `${d}.t`)))
    .sort();
}

/**
 * Files that must not run at the same time as each other, in this runtime
 * or any other: they use the fixed cgroup paths /cgrouptest,
 * testdir/cgrouptest/container and /sys/fs/cgroup/pids/cgrouptest.
 */
export function isExclusive(file: string): boolean {
  return /^linux_cgroups_|^delete_resources$|^delete_only_create_resources$/.test(file);
}

export interface Runtime {
  name: string;
  /** An executable (the suite execs $RUNTIME with the verb's arguments). */
  path: string;
  /** Its private state directory (--root). */
  root: string;
}

/**
 * Writes an executable wrapper that runs `command` with a private --root
 * (runc and tsrun-oci both take it before the verb).
 */
export function runtimeWrapper(dir: string, name: string, command: string[]): Runtime {
  mkdirSync(dir, { recursive: true });
  const root = join(dir, `${name}.root`);
  const path = join(dir, name);
  const quote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
  writeFileSync(path, `#!/bin/sh\nexec ${command.map(quote).join(' ')} --root ${quote(root)} "$@"\n`);
  chmodSync(path, 0o755);
  return { name, path, root };
}

/** tsrun-oci from this checkout's dist/. */
export function tsrunOciCommand(): string[] {
  return [process.execPath, '--', join(repo, 'bin/tsrun-oci')];
}

export interface RunOptions {
  /** Per file, in ms (default 120 s). */
  timeoutMs?: number;
  /** Files at once (default 2); exclusive files still run one at a time. */
  jobs?: number;
  /** Only files whose name matches. */
  only?: RegExp;
  /** Only these files. */
  files?: string[];
  /** Called as each file finishes. */
  onFile?: (f: FileResult) => void;
  /** Held while an exclusive file runs; pass one lock to runs that go on at the same time. */
  exclusiveLock?: Mutex;
}

export class Mutex {
  private tail: Promise<void> = Promise.resolve();
  async hold<T>(fn: () => Promise<T>): Promise<T> {
    const prev = this.tail;
    let release!: () => void;
    this.tail = new Promise((r) => (release = r));
    await prev;
    try {
      return await fn();
    } finally {
      release();
    }
  }
}

function tail(s: string, lines = 15): string {
  return s.trimEnd().split('\n').slice(-lines).join('\n');
}

/** Lazily unmounts everything mounted at or below `dir`, deepest first. */
export function unmountUnder(dir: string): void {
  let mountinfo = '';
  try {
    mountinfo = readFileSync('/proc/self/mountinfo', 'utf8');
  } catch {
    return;
  }
  const points = mountinfo
    .split('\n')
    .map((l) => l.split(' ')[4])
    .filter((p): p is string => !!p && (p === dir || p.startsWith(`${dir}/`)))
    // mountinfo escapes blanks as \040; the suite's paths have none.
    .sort((a, b) => b.length - a.length);
  for (const p of points) {
    try {
      execFileSync('umount', ['-l', p], { stdio: 'ignore' });
    } catch {
      // already gone with its parent
    }
  }
}

/** Runs one validation file against `runtime`. */
export function runFile(suiteDir: string, file: string, runtime: Runtime, timeoutMs = 120_000): Promise<FileResult> {
  const tmp = mkdtempSync(join(tmpdir(), `rt-${runtime.name}-${file}-`));
  // Searchable by all: a container in a user namespace reaches its bundle as another uid.
  chmodSync(tmp, 0o755);
  const started = Date.now();
  return new Promise((done) => {
    const child = spawn(join(suiteDir, 'validation', file, `${file}.t`), [], {
      cwd: suiteDir,
      env: { ...process.env, RUNTIME: runtime.path, TMPDIR: tmp },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        // already gone
      }
    }, timeoutMs);
    child.on('close', (code) => {
      clearTimeout(timer);
      // Bundles the test could not remove (a timeout), and the mounts a
      // runtime left on the host: runc mounts a container without a mount
      // namespace (linux_ns_itype) in the host's, and leaves them there.
      unmountUnder(tmp);
      try {
        rmSync(tmp, { recursive: true, force: true });
      } catch {
        // a mount that would not go; the next run is not affected
      }
      done({ file, exitCode: code, timedOut, ms: Date.now() - started, stderr: tail(stderr), ...parseTap(stdout) });
    });
  });
}

/** Force-deletes whatever containers a run left under the runtime's root. */
export function cleanupRuntime(runtime: Runtime): void {
  let ids: string[] = [];
  try {
    ids = execFileSync(runtime.path, ['list', '-q'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], timeout: 30_000 })
      .split('\n')
      .filter(Boolean);
  } catch {
    return;
  }
  const del = (id: string) => execFileSync(runtime.path, ['delete', '--force', id], { stdio: 'ignore', timeout: 30_000 });
  for (const id of ids) {
    try {
      del(id);
    } catch {
      // A process of the container that holds what delete waits for (its
      // lock, say): kill it by the pid state reports, then try once more.
      // A container left here would leave its cgroup once the run's root is
      // removed, so say so rather than lose it quietly.
      try {
        const { pid } = JSON.parse(execFileSync(runtime.path, ['state', id], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], timeout: 30_000 })) as { pid?: number };
        if (pid) process.kill(pid, 'SIGKILL');
        del(id);
      } catch (err) {
        process.stderr.write(`runtime-tools: ${runtime.name} could not delete container ${id}: ${(err as Error).message}\n`);
      }
    }
  }
}

/**
 * Removes the suite's fixed cgroups (cgrouptest, testdir/cgrouptest/...)
 * that a runtime left empty: runc removes a relative cgroupsPath's leaf
 * only. rmdir never removes a cgroup that still has processes.
 */
export function removeSuiteCgroups(root = '/sys/fs/cgroup'): void {
  const hierarchies = [root, ...readdirSync(root, { withFileTypes: true }).filter((d) => d.isDirectory()).map((d) => join(root, d.name))];
  const rmTree = (dir: string) => {
    if (!existsSync(dir)) return;
    for (const d of readdirSync(dir, { withFileTypes: true })) if (d.isDirectory()) rmTree(join(dir, d.name));
    try {
      rmdirSync(dir);
    } catch {
      // busy, or not ours to remove
    }
  };
  for (const h of hierarchies) for (const name of ['testdir', 'cgrouptest']) rmTree(join(h, name));
}

/** Runs every (or every --only) file against `runtime`, `jobs` at a time. */
export async function runSuite(suiteDir: string, runtime: Runtime, opts: RunOptions = {}): Promise<SuiteResult> {
  const files = listTests(suiteDir).filter((f) => (!opts.only || opts.only.test(f)) && (!opts.files || opts.files.includes(f)));
  const lock = opts.exclusiveLock ?? new Mutex();
  const exclusive = files.filter(isExclusive);
  const shared = files.filter((f) => !isExclusive(f));
  const results = new Map<string, FileResult>();
  const finish = (r: FileResult) => {
    results.set(r.file, r);
    opts.onFile?.(r);
  };
  const sharedLane = async () => {
    for (let f = shared.shift(); f !== undefined; f = shared.shift()) finish(await runFile(suiteDir, f, runtime, opts.timeoutMs));
  };
  // One lane takes the exclusive files in turn (then helps with the rest), the others the rest.
  const exclusiveLane = async () => {
    for (const f of exclusive) finish(await lock.hold(() => runFile(suiteDir, f, runtime, opts.timeoutMs)));
    await sharedLane();
  };
  const lanes = Math.max(1, opts.jobs ?? 2);
  await Promise.all([exclusiveLane(), ...Array.from({ length: lanes - 1 }, sharedLane)]);
  cleanupRuntime(runtime);
  removeSuiteCgroups();
  return { runtime: runtime.name, files: files.map((f) => results.get(f)!) };
}

/**
 * runc's results are the same from run to run for a given suite build, runc
 * binary and kernel, so they are kept next to the suite, keyed by
 * `runc --version` and the kernel release. A run with a timeout is not kept.
 */
export async function cachedRuntimeResult(suiteDir: string, runtime: Runtime, versionArgs: string[], opts: RunOptions = {}): Promise<SuiteResult> {
  let version = '';
  try {
    version = execFileSync(runtime.path, versionArgs, { encoding: 'utf8' });
  } catch {
    return runSuite(suiteDir, runtime, opts);
  }
  // The kernel too: what a runtime can do here depends on it.
  const key = createHash('sha256').update(`${version}\n${kernelRelease()}\n${opts.only ?? ''}\n${opts.files?.join(',') ?? ''}`).digest('hex').slice(0, 16);
  const cache = join(suiteDir, `.results-${basename(runtime.name)}-${key}.json`);
  if (existsSync(cache)) {
    try {
      return JSON.parse(readFileSync(cache, 'utf8')) as SuiteResult;
    } catch {
      // rewritten below
    }
  }
  const result = await runSuite(suiteDir, runtime, opts);
  // A run cut short by timeouts is not worth keeping.
  if (!result.files.some((f) => f.timedOut)) writeFileSync(cache, JSON.stringify(result));
  return result;
}

export interface Regression {
  file: string;
  key: string;
  /** What the other runtime said: the case's diagnostic, or why the file produced no such case. */
  why: string;
}

/**
 * The cases a run passed: its ok lines (skips included), but only when the
 * file exited 0. A test reports some failures by exiting non-zero after its
 * TAP (util.Fatal): process_capabilities_fail prints the 309 ok lines of a
 * container that ran, then fails because the runtime accepted an unknown
 * capability instead of refusing it, as runc 1.1.5 does.
 */
export function passedCases(f: FileResult): TapCase[] {
  return f.exitCode === 0 && !f.timedOut ? f.cases.filter((c) => c.ok) : [];
}

/**
 * Every case `base` passes that `other` does not, and every file `base`
 * passes fully that `other` does not (key "(file)"; listed only when no
 * case of the file is).
 */
export function regressions(base: SuiteResult, other: SuiteResult): Regression[] {
  const out: Regression[] = [];
  const byFile = new Map(other.files.map((f) => [f.file, f]));
  for (const bf of base.files) {
    const of = byFile.get(bf.file);
    const passed = new Map((of ? passedCases(of) : []).map((c) => [c.key, c]));
    const cases = new Map((of?.cases ?? []).map((c) => [c.key, c]));
    const exit = of ? (of.timedOut ? 'timeout' : `exit ${of.exitCode}`) : '';
    // What went wrong instead: failures that base has no case for ("exit status 1" from t.Fail).
    const baseKeys = new Set(bf.cases.map((c) => c.key));
    const extra = (of?.cases ?? []).filter((c) => !c.ok && !baseKeys.has(c.key)).map((c) => c.name);
    const instead = [oneLine(of?.stderr || of?.preamble.join(' ') || ''), extra.length ? `failed instead: ${[...new Set(extra)].join(', ')}` : '']
      .filter(Boolean)
      .join('; ');
    const before = out.length;
    for (const c of passedCases(bf)) {
      if (passed.has(c.key)) continue;
      const oc = cases.get(c.key);
      let why: string;
      if (!of) why = 'file not run';
      else if (oc?.ok) why = `ok, but the file failed (${exit}; ${instead || 'no stderr'})`;
      else if (oc) why = oc.diag ? oneLine(oc.diag) : 'not ok';
      else why = `no such case (${exit}; ${instead || 'no stderr'})`;
      out.push({ file: bf.file, key: c.key, why });
    }
    if (out.length === before && of && filePasses(bf) && !filePasses(of)) {
      out.push({ file: bf.file, key: '(file)', why: `passes fully with ${base.runtime}, not with ${other.runtime} (${exit}; ${instead || 'no stderr'})` });
    }
  }
  return out;
}

function oneLine(s: string, max = 300): string {
  const t = s.replace(/\s+/g, ' ').trim();
  return t.length > max ? `${t.slice(0, max)}...` : t;
}

/** A per-file table of several runtimes' results. */
export function formatTable(results: SuiteResult[]): string {
  const files = results[0].files.map((f) => f.file);
  const rows: string[][] = [['file', ...results.map((r) => `${r.runtime} ok/not ok`)]];
  for (const file of files) {
    rows.push([
      file,
      ...results.map((r) => {
        const f = r.files.find((x) => x.file === file);
        if (!f) return '-';
        const ok = f.cases.filter((c) => c.ok).length;
        const flag = f.timedOut ? ' TIMEOUT' : f.exitCode !== 0 ? ` exit ${f.exitCode}` : filePasses(f) ? ' pass' : '';
        return `${ok}/${f.cases.length - ok}${flag}`;
      }),
    ]);
  }
  rows.push([
    'total (files passing)',
    ...results.map((r) => {
      const t = totals(r);
      return `${t.ok}/${t.notOk} (${t.filesPassing}/${t.files})`;
    }),
  ]);
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  return rows.map((r) => r.map((c, i) => c.padEnd(widths[i])).join('  ').trimEnd()).join('\n');
}

/** The regressions, per file; cases that share one reason are listed under it once. */
export function formatRegressions(base: SuiteResult, other: SuiteResult, namesPerReason = 5): string {
  const regs = regressions(base, other);
  const lines: string[] = [];
  const files = [...new Set(regs.map((r) => r.file))];
  for (const file of files) {
    lines.push(`${file}:`);
    const byWhy = new Map<string, string[]>();
    for (const r of regs.filter((x) => x.file === file)) byWhy.set(r.why, [...(byWhy.get(r.why) ?? []), r.key]);
    for (const [why, keys] of byWhy) {
      if (keys.length === 1) {
        lines.push(`  ${keys[0]}: ${why}`);
        continue;
      }
      lines.push(`  ${keys.length} cases: ${why}`);
      for (const k of keys.slice(0, namesPerReason)) lines.push(`    ${k}`);
      if (keys.length > namesPerReason) lines.push(`    ... and ${keys.length - namesPerReason} more`);
    }
  }
  return `${regs.length} case(s) ${base.runtime} passes and ${other.runtime} does not:\n${lines.join('\n')}`;
}

async function main(argv: string[]): Promise<void> {
  let tarball = DEFAULT_TARBALL;
  let suite: string | undefined;
  const specs: Array<[string, string[]]> = [];
  const opts: RunOptions = {};
  let json: string | undefined;
  let cache = true;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const val = () => argv[++i];
    if (a === '--') continue;
    else if (a === '--tarball') tarball = resolve(val());
    else if (a === '--suite') suite = resolve(val());
    else if (a === '--only') opts.only = new RegExp(val());
    else if (a === '--jobs') opts.jobs = Number(val());
    else if (a === '--timeout') opts.timeoutMs = Number(val()) * 1000;
    else if (a === '--json') json = resolve(val());
    else if (a === '--no-cache') cache = false;
    else if (a === '--runtime') {
      const v = val();
      const eq = v.indexOf('=');
      const name = eq < 0 ? v : v.slice(0, eq);
      const cmd = eq < 0 ? (name === 'tsrun-oci' ? tsrunOciCommand() : [name]) : v.slice(eq + 1).split(/\s+/).filter(Boolean);
      specs.push([name, cmd]);
    } else throw new Error(`unknown argument ${a}`);
  }
  if (!specs.length) specs.push(['runc', ['runc']], ['tsrun-oci', tsrunOciCommand()]);
  suite ??= buildSuite(tarball);
  const work = mkdtempSync(join(tmpdir(), 'runtime-tools-run-'));
  const results: SuiteResult[] = [];
  // One runtime after the other: the cgroup tests of two runtimes share fixed paths.
  for (const [name, cmd] of specs) {
    const rt = runtimeWrapper(work, name, cmd);
    process.stderr.write(`== ${name}: ${cmd.join(' ')}\n`);
    const runOpts: RunOptions = {
      ...opts,
      onFile: (f) => {
        const ok = f.cases.filter((c) => c.ok).length;
        process.stderr.write(`${name} ${f.file}: ${ok} ok, ${f.cases.length - ok} not ok${f.timedOut ? ' (timeout)' : ''} ${(f.ms / 1000).toFixed(1)}s\n`);
      },
    };
    // runc's results only change with runc (or the suite): kept unless --no-cache.
    results.push(cache && name === 'runc' ? await cachedRuntimeResult(suite, rt, ['--version'], runOpts) : await runSuite(suite, rt, runOpts));
  }
  if (json) writeFileSync(json, JSON.stringify(results, null, 1));
  process.stdout.write(`${formatTable(results)}\n`);
  for (const other of results.slice(1)) {
    process.stdout.write(`\n${formatRegressions(results[0], other)}\n`);
    if (regressions(results[0], other).length) process.exitCode = 1;
  }
  rmSync(work, { recursive: true, force: true });
}

// Run as a command (scripts/runtime-tools.sh compare ...): vite-node does
// not say which file it was asked to run, so the script says so.
if (process.env.TSRUN_RUNTIME_TOOLS_CLI === '1' && !process.env.VITEST) {
  delete process.env.TSRUN_RUNTIME_TOOLS_CLI; // not for the suite's children
  main(process.argv.slice(2)).catch((err) => {
    process.stderr.write(`${(err as Error).stack ?? err}\n`);
    process.exitCode = 1;
  });
}
