// The throwaway Podman of the image interop tests (helpers/podman-runc.ts):
// a box whose test process was killed before its cleanup (its afterAll never
// ran) keeps podman's overlay mounts and storage; the next box made with the
// same prefix takes them down, and leaves a live process's box alone.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { podmanBox, type PodmanBox } from '../helpers/podman-runc.js';
import { pidStartTime } from '../../src/runtime/proc.js';
import { integrationSkipReason, missingTools } from '../helpers/tsrun.js';

const skip = integrationSkipReason('podman-box') || missingTools('podman-box', ['podman'], 'podman');
const mountedUnder = (dir: string) => readFileSync('/proc/self/mountinfo', 'utf8').split('\n').some((l) => (l.split(' ')[4] ?? '').startsWith(`${dir}/`));

describe.skipIf(skip)('podmanBox', () => {
  const boxes: PodmanBox[] = [];
  afterAll(async () => {
    for (const b of boxes) if (existsSync(b.base)) await b.cleanup();
  });

  it("takes down a killed test's box (its mounts first), not a live one's", async () => {
    const prefix = 'tsrun-podman-box-test-';
    const dead = podmanBox(prefix);
    const live = podmanBox(prefix);
    boxes.push(dead, live);
    // What podman's overlay driver leaves mounted in a box.
    const leftover = join(dead.base, 'storage/overlay/x/merged');
    mkdirSync(leftover, { recursive: true });
    execFileSync('mount', ['-t', 'tmpfs', 'leftover', leftover]);
    // Its owner: a process that has exited.
    const gone = spawnSync('true').pid!;
    writeFileSync(join(dead.base, 'owner'), `${gone} ${pidStartTime(process.pid)}`);
    boxes.push(podmanBox(prefix));
    expect(mountedUnder(dead.base)).toBe(false);
    expect(existsSync(dead.base)).toBe(false);
    expect(existsSync(live.base)).toBe(true);
  });
});
