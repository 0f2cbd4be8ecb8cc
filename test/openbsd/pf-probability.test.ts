/**
 * Stock mode spreads connections over the port ranges with `match` rules,
 * last match wins: rule i of n matches with probability 1/i. Evaluated here
 * exactly, with bigint rationals, as pf evaluates them: a rule with stored
 * value s matches with (s − 1)/(2^32 − 2) (pf.c: skip when
 * s <= arc4random_uniform(UINT_MAX − 1) + 1), the stored value being what
 * pfctl makes of our text (floor(strtod(text)·0.01·UINT_MAX + 0.5)).
 *
 * Rounding: (s − 1)/(2^32 − 2) = 1/i has an integer s only for i = 1, 2, so
 * the stored values miss 1/i by at most half a step, 1/(2·(2^32 − 2)). Each
 * range's chance then differs from 1/n by less than n/(2^32 − 2) — about
 * 1.5e-8 for 63 ranges — and the chances still add up to exactly 1. "Equal"
 * means equal up to that bound; with the ideal fractions it is exact.
 */
import { describe, expect, it } from 'vitest';
import {
  anchorRules,
  idealStoredProbability,
  PF_PROBABILITY_DRAWS,
  pfctlPrintedProbability,
  pfctlStoredProbability,
  probabilityText,
  renderRule,
} from '../../src/openbsd/index.js';
import { Fraction } from '../support/pf-model/fraction.js';
import { desiredFor, PARAMETER_SETS } from './parameter-sets.js';

const ONE = Fraction.of(1);

/** P(rule i is the last match) for rules that match with q[i] each; q[0] is the always-matching first rule. */
function lastMatchChances(q: readonly Fraction[]): Fraction[] {
  const chances: Fraction[] = [];
  let noLaterMatch = ONE;
  for (let i = q.length - 1; i >= 0; i--) {
    chances[i] = q[i]!.mul(noLaterMatch);
    noLaterMatch = noLaterMatch.mul(ONE.sub(q[i]!));
  }
  return chances;
}

/** What pf makes of a rule's probability: no probability = always; else (s − 1)/(2^32 − 2). */
function pfMatchChance(stored: number | null): Fraction {
  return stored === null ? ONE : new Fraction(BigInt(stored) - 1n, PF_PROBABILITY_DRAWS);
}

describe('stock-mode probabilities', () => {
  it('with the ideal fractions 1/i every one of n ranges is chosen with exactly 1/n', () => {
    for (const n of [1, 2, 3, 15, 63]) {
      const q = Array.from({ length: n }, (_, i) => Fraction.of(1, i + 1));
      const chances = lastMatchChances(q);
      for (const c of chances) expect(c.equals(Fraction.of(1, n))).toBe(true);
    }
  });

  it.each([2, 3, 7, 15, 63])('with what pfctl stores, %i ranges are each chosen with 1/n within n/(2^32 - 2)', (n) => {
    const stored = Array.from({ length: n }, (_, i) => (i === 0 ? null : pfctlStoredProbability(probabilityText(i + 1))));
    const chances = lastMatchChances(stored.map(pfMatchChance));
    const bound = Fraction.of(BigInt(n), PF_PROBABILITY_DRAWS);
    let total = Fraction.of(0);
    for (const c of chances) {
      expect(c.sub(Fraction.of(1, n)).abs().lessOrEqual(bound)).toBe(true);
      total = total.add(c);
    }
    expect(total.equals(ONE)).toBe(true);
  });

  it('the rules of a rendered anchor, read back as pfctl stores them, are fair per source', () => {
    const desired = desiredFor(PARAMETER_SETS[0]!, 'stock');
    // The selection chain of the router's own source: the rules that tag a range.
    const rules = anchorRules(desired).filter((r) => r.tag !== null && r.from === '(gif0)');
    expect(rules).toHaveLength(63);
    // From the text we load, as pfctl parses it.
    const stored = rules.map((r) => {
      const m = / probability (\S+)/.exec(renderRule(r));
      return m === null ? null : pfctlStoredProbability(m[1]!);
    });
    expect(stored[0]).toBeNull();
    const chances = lastMatchChances(stored.map(pfMatchChance));
    const bound = Fraction.of(63n, PF_PROBABILITY_DRAWS);
    for (const c of chances) expect(c.sub(Fraction.of(1, 63)).abs().lessOrEqual(bound)).toBe(true);
  });

  it('rule 2 is exactly one half', () => {
    expect(probabilityText(2)).toBe('50%');
    expect(pfMatchChance(pfctlStoredProbability('50%')).equals(Fraction.of(1, 2))).toBe(true);
  });

  it('each text makes pfctl store the value nearest to 1/i', () => {
    for (let i = 2; i <= 300; i++) {
      expect(BigInt(pfctlStoredProbability(probabilityText(i))!)).toBe(idealStoredProbability(i));
    }
  });

  it('pfctl prints stored values the way print_rule does', () => {
    expect(pfctlPrintedProbability(pfctlStoredProbability('50%')!)).toBe('50%');
    expect(pfctlPrintedProbability(pfctlStoredProbability(probabilityText(3))!)).toBe('33.333333%');
    expect(pfctlPrintedProbability(pfctlStoredProbability('6.25%')!)).toBe('6.25%');
  });

  it('refuses text pfctl refuses', () => {
    expect(pfctlStoredProbability('101%')).toBeNull();
    expect(pfctlStoredProbability('abc')).toBeNull();
    expect(pfctlStoredProbability('0%')).toBe(1);
  });
});
