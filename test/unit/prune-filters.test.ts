// Docker's prune filters: until= in its three spellings, label=/label!=
// matching, and bad input refused with one clear message.
import { describe, expect, it } from 'vitest';
import { matchesPruneFilters, parsePruneFilters, parseUntil } from '../../src/util/prune-filters.js';
import { thrown } from '../helpers/expect-error.js';

const NOW = Date.parse('2024-06-01T12:00:00Z');

describe('prune filters', () => {
  it('until= takes a Go duration, Unix seconds or an RFC 3339 time', () => {
    expect(parseUntil('24h', NOW)).toBe(NOW - 86_400_000);
    expect(parseUntil('1h30m', NOW)).toBe(NOW - 5_400_000);
    expect(parseUntil('1.5h', NOW)).toBe(NOW - 5_400_000);
    expect(parseUntil('90s', NOW)).toBe(NOW - 90_000);
    expect(parseUntil('1700000000', NOW)).toBe(1_700_000_000_000);
    expect(parseUntil('1700000000.5', NOW)).toBe(1_700_000_000_500);
    expect(parseUntil('2024-05-01T00:00:00Z', NOW)).toBe(Date.parse('2024-05-01T00:00:00Z'));
    expect(parseUntil('2024-05-01', NOW)).toBe(new Date(2024, 4, 1).getTime()); // local midnight, as Docker
    for (const bad of ['yesterday', '5d', '2024-13-01', '']) {
      expect(thrown(() => parseUntil(bad, NOW)).message).toMatch(/^invalid until filter /);
    }
  });

  it('label= must all match, label!= keeps what has them all; until keeps what is newer or has no time', () => {
    const f = parsePruneFilters(['label=tier', 'label!=keep=yes', 'until=1h'], NOW);
    const old = new Date(NOW - 7_200_000).toISOString();
    expect(matchesPruneFilters(f, { created: old, labels: { tier: 'x' } })).toBe(true);
    expect(matchesPruneFilters(f, { created: old, labels: { tier: 'x', keep: 'yes' } })).toBe(false);
    expect(matchesPruneFilters(f, { created: old, labels: { tier: 'x', keep: 'no' } })).toBe(true);
    expect(matchesPruneFilters(f, { created: old, labels: {} })).toBe(false);
    expect(matchesPruneFilters(f, { created: new Date(NOW).toISOString(), labels: { tier: 'x' } })).toBe(false);
    expect(matchesPruneFilters(f, { labels: { tier: 'x' } })).toBe(false);
    expect(matchesPruneFilters(parsePruneFilters(['label=tier=a'], NOW), { labels: { tier: 'b' } })).toBe(false);
    const both = parsePruneFilters(['label!=a', 'label!=b'], NOW);
    expect(matchesPruneFilters(both, { labels: { a: '' } })).toBe(true);
    expect(matchesPruneFilters(both, { labels: { a: '', b: '' } })).toBe(false);
    expect(matchesPruneFilters(undefined, {})).toBe(true);
    expect(f.given).toEqual(['label=tier', 'label!=keep=yes', 'until=1h']);
  });

  it('refuses unknown, malformed and repeated filters', () => {
    expect(thrown(() => parsePruneFilters(['nope=1'])).message).toBe("invalid filter 'nope'");
    expect(thrown(() => parsePruneFilters(['label'])).message).toMatch(/^bad format of filter/);
    expect(thrown(() => parsePruneFilters(['until=1h', 'until=2h'])).message).toBe('more than one until filter specified');
  });
});
