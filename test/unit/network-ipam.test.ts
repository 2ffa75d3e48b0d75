// IPAM: allocation order, the gateway, release by container, exhaustion,
// --ip, and 20 allocations racing from 20 separate processes.
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Locker } from '../../src/util/lock.js';
import { openIpam } from '../../src/network/ipam.js';
import { rejection } from '../helpers/expect-error.js';

// In one process a promise chain is lock enough; the cross-process case below uses the real flock.
function memoryLocker(): Locker {
  let tail: Promise<unknown> = Promise.resolve();
  return (_path, fn) => {
    const run = tail.then(fn, fn);
    tail = run.catch(() => {});
    return run;
  };
}

let root: string;
beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'tsrun-ipam-'));
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

const ipamFor = (subnet: string, gateway: string) => openIpam({ root, network: 'n1', subnet, gateway, lock: memoryLocker() });
const id = (n: number) => n.toString(16).padStart(64, '0');

describe('IPAM', () => {
  it('hands out addresses in order, skipping the gateway, and persists them', async () => {
    const ipam = ipamFor('10.89.0.0/24', '10.89.0.1');
    expect(await ipam.allocate(id(1))).toBe('10.89.0.2');
    expect(await ipam.allocate(id(2), { hostVeth: 'veth01234567' })).toBe('10.89.0.3');
    const file = JSON.parse(readFileSync(join(root, 'networks', 'n1', 'leases.json'), 'utf8'));
    expect(file.Leases['10.89.0.3']).toMatchObject({ ContainerId: id(2), HostVeth: 'veth01234567' });
    // A fresh handle reads the same state.
    expect(Object.keys(await ipamFor('10.89.0.0/24', '10.89.0.1').list())).toEqual(['10.89.0.2', '10.89.0.3']);
  });

  it('skips a gateway that is not the first address', async () => {
    const ipam = ipamFor('10.89.0.0/29', '10.89.0.3');
    const got = [];
    for (let i = 1; i <= 5; i++) got.push(await ipam.allocate(id(i)));
    expect(got).toEqual(['10.89.0.1', '10.89.0.2', '10.89.0.4', '10.89.0.5', '10.89.0.6']);
  });

  it('returns the same address when the container asks again', async () => {
    const ipam = ipamFor('10.89.0.0/24', '10.89.0.1');
    const a = await ipam.allocate(id(1));
    expect(await ipam.allocate(id(1))).toBe(a);
    expect(Object.keys(await ipam.list())).toHaveLength(1);
  });

  it('releases by container id, idempotently, and does not reuse the address at once', async () => {
    const ipam = ipamFor('10.89.0.0/24', '10.89.0.1');
    await ipam.allocate(id(1));
    await ipam.allocate(id(2));
    expect(await ipam.release(id(1))).toEqual(['10.89.0.2']);
    expect(await ipam.release(id(1))).toEqual([]);
    expect(await ipam.allocate(id(3))).toBe('10.89.0.4');
    expect(Object.keys(await ipam.list()).sort()).toEqual(['10.89.0.3', '10.89.0.4']);
  });

  it('wraps around and fails clearly when the subnet is exhausted', async () => {
    const ipam = ipamFor('10.89.0.0/29', '10.89.0.1'); // .2 - .6 usable
    for (let i = 1; i <= 5; i++) await ipam.allocate(id(i));
    const err = await rejection(ipam.allocate(id(6)));
    expect(err.message).toMatch(/network n1 \(10\.89\.0\.0\/29\) has no free address left/);
    await ipam.release(id(2)); // frees .3
    expect(await ipam.allocate(id(6))).toBe('10.89.0.3');
  });

  it('--ip: gives the requested address, or a clear error', async () => {
    const ipam = ipamFor('10.89.0.0/24', '10.89.0.1');
    expect(await ipam.allocate(id(1), { ip: '10.89.0.50' })).toBe('10.89.0.50');
    // A specific request does not move the sequential cursor.
    expect(await ipam.allocate(id(2))).toBe('10.89.0.2');
    expect((await rejection(ipam.allocate(id(3), { ip: '10.89.0.50' }))).message).toMatch(/10\.89\.0\.50 is already in use on network n1/);
    expect((await rejection(ipam.allocate(id(3), { ip: '10.90.0.5' }))).code).toBe('INVALID_ARGUMENT');
    expect((await rejection(ipam.allocate(id(3), { ip: '10.90.0.5' }))).message).toMatch(/not a usable address of network n1 \(10\.89\.0\.0\/24\)/);
    expect((await rejection(ipam.allocate(id(3), { ip: '10.89.0.1' }))).message).toMatch(/is the gateway/);
    expect((await rejection(ipam.allocate(id(3), { ip: '10.89.0.255' }))).message).toMatch(/not a usable address/);
    expect((await rejection(ipam.allocate(id(3), { ip: '10.89.0' }))).message).toMatch(/invalid IPv4 address/);
    expect(Object.keys(await ipam.list()).sort()).toEqual(['10.89.0.2', '10.89.0.50']);
  });

  it('releases the leases of containers that are gone', async () => {
    const ipam = ipamFor('10.89.0.0/24', '10.89.0.1');
    await ipam.allocate(id(1));
    await ipam.allocate(id(2));
    expect(await ipam.releaseStale((c) => c === id(2))).toEqual(['10.89.0.2']);
    expect(Object.values(await ipam.list()).map((l) => l.ContainerId)).toEqual([id(2)]);
  });

  it('rejects a gateway outside the subnet', () => {
    expect(() => ipamFor('10.89.0.0/24', '10.90.0.1')).toThrow(/gateway 10\.90\.0\.1 is not inside/);
  });
});

// 20 processes allocate at once under the real flock; needs the compiled
// dist/ (the test command runs tsc first) and the native addon.
const dist = resolve('dist/network/ipam.js');
const addon = resolve('build/Release/tsrun.node');
const parallelSkip = !existsSync(dist) ? 'dist/ is not built (run npx tsc -p tsconfig.json)' : !existsSync(addon) ? 'the native addon is not built' : '';
if (parallelSkip) process.stderr.write(`[skip] network-ipam parallel processes: ${parallelSkip}\n`);

describe.skipIf(parallelSkip)('IPAM across processes', () => {
  it('20 parallel allocations in 20 processes get 20 distinct addresses', async () => {
    const script = join(root, 'alloc.mjs');
    writeFileSync(
      script,
      `import { openIpam } from ${JSON.stringify(pathToFileURL(dist).href)};
import { fileLocker } from ${JSON.stringify(pathToFileURL(resolve('dist/util/lock.js')).href)};
import { native } from ${JSON.stringify(pathToFileURL(resolve('dist/native/binding.js')).href)};
const [root, cid] = process.argv.slice(2);
const ipam = openIpam({ root, network: 'par', subnet: '10.89.0.0/24', gateway: '10.89.0.1', lock: fileLocker(native) });
process.stdout.write(await ipam.allocate(cid));
`,
    );
    const run = (i: number) =>
      new Promise<string>((res, rej) => execFile(process.execPath, [script, root, id(i + 1)], (err, stdout, stderr) => (err ? rej(new Error(stderr || err.message)) : res(stdout))));
    const ips = await Promise.all(Array.from({ length: 20 }, (_, i) => run(i)));
    expect(new Set(ips).size).toBe(20);
    expect(ips).not.toContain('10.89.0.1');
    const leases = JSON.parse(readFileSync(join(root, 'networks', 'par', 'leases.json'), 'utf8')).Leases;
    expect(Object.keys(leases).sort()).toEqual([...ips].sort());
  });
});
