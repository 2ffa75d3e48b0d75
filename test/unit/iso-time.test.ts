import { describe, expect, it } from 'vitest';
import { isoTime } from '../../src/util/iso-time.js';

describe('isoTime', () => {
  it('prints what Date.prototype.toISOString prints', () => {
    const samples = [0, 1, 999, 86_399_999, 86_400_000, 951_782_400_000 /* 2000-02-29 */, 4_107_542_399_999 /* 2100-02-28 end */, 253_402_300_799_999, -1, -86_400_001, -62_135_596_800_000 /* 0001-01-01 */];
    for (let i = 0; i < 2000; i++) samples.push(Math.floor(Math.random() * 253_402_300_799_999));
    for (const ms of samples) expect([ms, isoTime(ms)]).toEqual([ms, new Date(ms).toISOString()]);
  });

  it('defaults to now', () => {
    const before = Date.now();
    const now = Date.parse(isoTime());
    expect(now).toBeGreaterThanOrEqual(before);
    expect(now).toBeLessThanOrEqual(Date.now());
  });
});
