import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { mapLimit } from '../../src/util/map-limit.js';

describe('mapLimit', () => {
  it('keeps the order of the items, however the calls finish', async () => {
    const out = await mapLimit([30, 10, 20, 0], 2, async (ms, i) => {
      await sleep(ms);
      return `${i}:${ms}`;
    });
    expect(out).toEqual(['0:30', '1:10', '2:20', '3:0']);
  });

  it('has at most `limit` calls in flight, and makes every call once', async () => {
    let active = 0;
    let most = 0;
    const seen: number[] = [];
    await mapLimit([...Array(20).keys()], 3, async (n) => {
      active++;
      most = Math.max(most, active);
      await sleep(1);
      seen.push(n);
      active--;
    });
    expect(most).toBe(3);
    expect(seen.sort((a, b) => a - b)).toEqual([...Array(20).keys()]);
  });

  it('returns [] for no items', async () => {
    expect(await mapLimit([], 4, async () => 1)).toEqual([]);
  });
});
