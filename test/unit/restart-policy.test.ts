// The restart policy's one parser (Docker's messages) and the restart
// manager's rules: which exit restarts, the backoff, what system boot starts.
import { describe, expect, it } from 'vitest';
import {
  checkRestartWithAutoRemove, nextRestartDelay, parseRestartPolicy, shouldRestart, startsAtBoot, validateRestartPolicy,
  RESTART_DELAY_MAX_MS, type RestartPolicy,
} from '../../src/runtime/restart-policy.js';
import { thrown } from '../helpers/expect-error.js';

const policy = (Name: RestartPolicy['Name'], MaximumRetryCount = 0): RestartPolicy => ({ Name, MaximumRetryCount });

describe('parseRestartPolicy', () => {
  it('takes Docker\'s four policies and on-failure\'s count', () => {
    expect(parseRestartPolicy('no')).toEqual(policy('no'));
    expect(parseRestartPolicy('')).toEqual(policy('no'));
    expect(parseRestartPolicy('always')).toEqual(policy('always'));
    expect(parseRestartPolicy('unless-stopped')).toEqual(policy('unless-stopped'));
    expect(parseRestartPolicy('on-failure')).toEqual(policy('on-failure'));
    expect(parseRestartPolicy('on-failure:3')).toEqual(policy('on-failure', 3));
    expect(parseRestartPolicy('on-failure:')).toEqual(policy('on-failure'));
    expect(parseRestartPolicy('on-failure:+2')).toEqual(policy('on-failure', 2));
    expect(parseRestartPolicy('always:0')).toEqual(policy('always'));
  });

  it('refuses what Docker refuses, with its messages', () => {
    const cases: Array<[string, string]> = [
      ['on-failure:-1', 'invalid restart policy: maximum retry count cannot be negative'],
      ['sometimes', "invalid restart policy: unknown policy 'sometimes'; use one of 'no', 'always', 'on-failure', or 'unless-stopped'"],
      ['no:3', "invalid restart policy: maximum retry count can only be used with 'on-failure'"],
      ['always:-2', "invalid restart policy: maximum retry count can only be used with 'on-failure' and cannot be negative"],
      ['unless-stopped:1', "invalid restart policy: maximum retry count can only be used with 'on-failure'"],
      ['on-failure:x', 'invalid restart policy format: maximum retry count must be an integer'],
      ['on-failure:1.5', 'invalid restart policy format: maximum retry count must be an integer'],
      [':3', 'invalid restart policy format: no policy provided before colon'],
      ['Always', "invalid restart policy: unknown policy 'Always'; use one of 'no', 'always', 'on-failure', or 'unless-stopped'"],
    ];
    for (const [value, message] of cases) {
      const err = thrown(() => parseRestartPolicy(value));
      expect(err.code).toBe('INVALID_ARGUMENT');
      expect(err.message).toBe(message);
    }
  });

  it('checks a policy that comes from elsewhere (the API, update) the same way', () => {
    expect(() => validateRestartPolicy(policy('on-failure', 5))).not.toThrow();
    expect(thrown(() => validateRestartPolicy({ Name: 'later' as RestartPolicy['Name'], MaximumRetryCount: 0 })).message).toMatch(/unknown policy 'later'/);
    expect(thrown(() => validateRestartPolicy(policy('on-failure', -3))).message).toMatch(/cannot be negative/);
  });

  it('--restart with --rm is a conflict, unless the policy is no', () => {
    expect(thrown(() => checkRestartWithAutoRemove(policy('always'), true)).message).toBe('Conflicting options: --restart and --rm');
    expect(thrown(() => checkRestartWithAutoRemove(policy('on-failure', 2), true)).message).toBe('Conflicting options: --restart and --rm');
    expect(() => checkRestartWithAutoRemove(policy('no'), true)).not.toThrow();
    expect(() => checkRestartWithAutoRemove(undefined, true)).not.toThrow();
    expect(() => checkRestartWithAutoRemove(policy('always'), false)).not.toThrow();
  });
});

describe('the restart manager', () => {
  it('on-failure restarts on a non-zero exit only, at most N times (0: no limit)', () => {
    const exit = (exitCode: number, count: number) => ({ exitCode, count, manuallyStopped: false });
    expect(shouldRestart(policy('on-failure', 2), exit(3, 0))).toBe(true);
    expect(shouldRestart(policy('on-failure', 2), exit(3, 1))).toBe(true);
    expect(shouldRestart(policy('on-failure', 2), exit(3, 2))).toBe(false);
    expect(shouldRestart(policy('on-failure', 2), exit(0, 0))).toBe(false);
    expect(shouldRestart(policy('on-failure'), exit(1, 1000))).toBe(true);
  });

  it('always and unless-stopped restart whatever the code; no never; a user\'s stop ends them all', () => {
    for (const name of ['always', 'unless-stopped'] as const) {
      for (const exitCode of [0, 1, 137]) expect(shouldRestart(policy(name), { exitCode, count: 99, manuallyStopped: false })).toBe(true);
      expect(shouldRestart(policy(name), { exitCode: 0, count: 0, manuallyStopped: true })).toBe(false);
    }
    expect(shouldRestart(policy('on-failure'), { exitCode: 1, count: 0, manuallyStopped: true })).toBe(false);
    expect(shouldRestart(policy('no'), { exitCode: 1, count: 0, manuallyStopped: false })).toBe(false);
    expect(shouldRestart(undefined, { exitCode: 1, count: 0, manuallyStopped: false })).toBe(false);
  });

  it('waits 100 ms, then twice as long each time up to a minute; a run of 10 s starts it over', () => {
    const delays: number[] = [];
    let d = 0;
    for (let i = 0; i < 12; i++) delays.push((d = nextRestartDelay(d, 50)));
    expect(delays).toEqual([100, 200, 400, 800, 1600, 3200, 6400, 12_800, 25_600, 51_200, 60_000, 60_000]);
    expect(RESTART_DELAY_MAX_MS).toBe(60_000);
    expect(nextRestartDelay(51_200, 9_999)).toBe(60_000);
    expect(nextRestartDelay(51_200, 10_000)).toBe(100);
    expect(nextRestartDelay(800, 3_600_000)).toBe(100);
  });

  it('system boot starts always (even stopped by a user) and unless-stopped not stopped by one; never on-failure, no, or a never-started one', () => {
    const c = (manuallyStopped: boolean, startedBefore = true) => ({ manuallyStopped, startedBefore });
    expect(startsAtBoot(policy('always'), c(false))).toBe(true);
    expect(startsAtBoot(policy('always'), c(true))).toBe(true);
    expect(startsAtBoot(policy('unless-stopped'), c(false))).toBe(true);
    expect(startsAtBoot(policy('unless-stopped'), c(true))).toBe(false);
    expect(startsAtBoot(policy('on-failure', 3), c(false))).toBe(false);
    expect(startsAtBoot(policy('no'), c(false))).toBe(false);
    expect(startsAtBoot(undefined, c(false))).toBe(false);
    expect(startsAtBoot(policy('always'), c(false, false))).toBe(false);
  });
});
