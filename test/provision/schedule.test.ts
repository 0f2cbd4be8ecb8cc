import { describe, expect, it } from 'vitest';
import { MIN_REFRESH_MS, nextAttemptDelayMs, type FetchOutcome } from '../../src/provision/index.js';

const MIN = 60_000;
const HOUR = 60 * MIN;

describe('HB46PP timers (v6mig-prov §3.6)', () => {
  const cases: [FetchOutcome, number, number][] = [
    [{ kind: 'no-record' }, 1 * HOUR, 3 * HOUR],
    [{ kind: 'dns-failure' }, 1 * MIN, 10 * MIN],
    [{ kind: 'no-answer' }, 10 * MIN, 30 * MIN],
    [{ kind: 'bad-data' }, 10 * MIN, 30 * MIN],
    [{ kind: 'valid', ttlSeconds: null }, 20 * HOUR, 24 * HOUR],
  ];
  it.each(cases)('%j waits between the bounds, spread by the random source', (outcome, low, high) => {
    expect(nextAttemptDelayMs(outcome, () => 0)).toBe(low);
    expect(nextAttemptDelayMs(outcome, () => 0.5)).toBe(Math.floor((low + high) / 2));
    const top = nextAttemptDelayMs(outcome, () => 0.999999);
    expect(top).toBeLessThan(high);
    expect(top).toBeGreaterThan(high - 1000);
  });

  it('refreshes after the ttl, whatever the random source says', () => {
    expect(nextAttemptDelayMs({ kind: 'valid', ttlSeconds: 86_400 }, () => 0.3)).toBe(86_400_000);
    expect(nextAttemptDelayMs({ kind: 'valid', ttlSeconds: 604_800 }, () => 0.9)).toBe(604_800_000);
  });

  it('never asks again sooner than a minute after a valid reply (ttl 0)', () => {
    expect(nextAttemptDelayMs({ kind: 'valid', ttlSeconds: 0 }, () => 0)).toBe(MIN_REFRESH_MS);
  });
});
