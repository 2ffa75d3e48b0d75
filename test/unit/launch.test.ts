// bin/launch.cjs on a throwaway layout (bin/, dist/cli, dist/bundle): which
// code it runs, and the code caches it keeps; with the native helper that
// maps bundles (build/Release/tsrun-files.node) and without it.
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

const launcher = new URL('../../bin/launch.cjs', import.meta.url).pathname;
const mappedAddon = new URL('../../build/Release/tsrun-files.node', import.meta.url).pathname;
let dir: string;

function layout(withAddon: boolean): void {
  dir = mkdtempSync(join(tmpdir(), 'tsrun-launch-'));
  for (const d of ['bin', 'dist/cli', 'dist/bundle']) mkdirSync(join(dir, d), { recursive: true });
  copyFileSync(launcher, join(dir, 'bin/launch.cjs'));
  writeFileSync(join(dir, 'bin/package.json'), '{"type":"commonjs"}');
  writeFileSync(join(dir, 'bin/x'), "require('./launch.cjs')('x');\n");
  writeFileSync(join(dir, 'package.json'), '{"type":"module"}');
  writeFileSync(join(dir, 'dist/cli/x.js'), "process.stdout.write('modules');\n");
  // The shell names its verb, then loads its core (as scripts/bundle.mjs writes them).
  writeFileSync(
    join(dir, 'dist/bundle/x.cjs'),
    "const verb = process.argv.slice(2).filter((a, i, all) => !a.startsWith('-') && !(all[i - 1] || '').match(/^--[a-z]+$/))[0];\n" +
      "if (verb !== 'pss') globalThis[Symbol.for('tsrun.verb')] = verb;\n" +
      "const core = (globalThis[Symbol.for('tsrun.load')] || require)(require('node:path').join(__dirname, 'x-core.cjs'));\n" +
      "process.stdout.write('bundle:' + core.answer());\n" +
      "if (process.env.FAIL) process.exitCode = 2;\n",
  );
  // The core as scripts/bundle.mjs writes bundles: already wrapped (the
  // shell above is not: the launcher wraps it). It says whether its own file
  // is mapped into the process.
  writeFileSync(
    join(dir, 'dist/bundle/x-core.cjs'),
    '(function (exports, require, module, __filename, __dirname) { ' +
      "exports.answer = () => String(6 * 7) + (require('node:fs').readFileSync('/proc/self/maps', 'utf8').includes(__filename) ? ':mapped' : '');\n});\n",
  );
  const past = new Date(Date.now() - 60_000);
  utimesSync(join(dir, 'dist/cli/x.js'), past, past);
  if (withAddon) {
    mkdirSync(join(dir, 'build/Release'), { recursive: true });
    copyFileSync(mappedAddon, join(dir, 'build/Release/tsrun-files.node'));
  }
}

afterEach(() => rmSync(dir, { recursive: true, force: true }));

const run = (...args: string[]) => execFileSync(process.execPath, [join(dir, 'bin/x'), ...args], { encoding: 'utf8' });
const caches = () => readdirSync(join(dir, 'dist/bundle')).filter((f) => f.endsWith('.v8cache')).sort();

describe.each([
  ['reading bundles', false, 'bundle:42'],
  ['mapping bundles', true, 'bundle:42:mapped'],
])('bin/launch.cjs, %s', (_mode, withAddon, ran) => {
  beforeEach(() => layout(withAddon));

  it('runs the bundle, and the modules when there is no bundle or tsc wrote them after it', () => {
    expect(run('ps')).toBe(ran);
    // The API service reads its bundles: an upgrade may rewrite them in place under it.
    expect(run('system', 'service')).toBe('bundle:42');
    const now = new Date();
    utimesSync(join(dir, 'dist/cli/x.js'), now, now);
    utimesSync(join(dir, 'dist/bundle/x.cjs'), new Date(now.getTime() - 60_000), new Date(now.getTime() - 60_000));
    expect(run('ps')).toBe('modules');
    rmSync(join(dir, 'dist/bundle'), { recursive: true });
    expect(run('ps')).toBe('modules');
  });

  it('writes code caches per verb, the shell\'s once the shell has named its verb, and uses them', () => {
    expect(caches()).toEqual([]);
    run('ps');
    expect(caches()).toEqual(['x-core.cjs.ps.v8cache', 'x.cjs.ps.v8cache']);
    run('image ls');
    run('../../etc');
    // A verb that is not a plain name shares the default caches.
    expect(caches()).toEqual(['x-core.cjs.image-ls.v8cache', 'x-core.cjs.ps.v8cache', 'x-core.cjs.v8cache', 'x.cjs.image-ls.v8cache', 'x.cjs.ps.v8cache', 'x.cjs.v8cache']);
    // The shell's verb is guessed past global options and their values.
    run('--root', '/r', '--flag=1', 'ps');
    expect(run('--root', '/r', 'ps')).toBe(ran);
    // A word the shell does not name as its verb (a typo) gets no file of its own.
    run('pss');
    expect(caches()).not.toContain('x.cjs.pss.v8cache');
  });

  it('writes a verb\'s cache again once for each outcome (an error path a successful run never compiled)', () => {
    const cache = join(dir, 'dist/bundle/x.cjs.ps.v8cache');
    const outcomes = () => readFileSync(cache)[7];
    run('ps');
    expect(readFileSync(cache).subarray(0, 7).toString()).toBe('tsrunV8');
    expect(outcomes()).toBe(1);
    const fail = () => expect(() => execFileSync(process.execPath, [join(dir, 'bin/x'), 'ps'], { env: { ...process.env, FAIL: '1' }, stdio: 'pipe' })).toThrow();
    fail();
    expect(outcomes()).toBe(3);
    const { ino, mtimeMs } = statSync(cache);
    fail();
    expect(run('ps')).toBe(ran);
    expect(statSync(cache)).toMatchObject({ ino, mtimeMs });
  });

  it('replaces a cache V8 rejects, and runs without one where it cannot write', () => {
    run('ps');
    const cache = join(dir, 'dist/bundle/x.cjs.ps.v8cache');
    writeFileSync(cache, 'not a code cache');
    expect(run('ps')).toBe(ran);
    expect(existsSync(cache) && execFileSync('head', ['-c', '16', cache], { encoding: 'latin1' })).not.toBe('not a code cache');
    rmSync(join(dir, 'dist/bundle/x-core.cjs.ps.v8cache'));
    execFileSync('chattr', ['+i', join(dir, 'dist/bundle')]);
    try {
      expect(run('ps')).toBe(ran);
    } finally {
      execFileSync('chattr', ['-i', join(dir, 'dist/bundle')]);
    }
    expect(caches()).not.toContain('x-core.cjs.ps.v8cache');
  });
});
