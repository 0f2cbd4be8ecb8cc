import { describe, expect, it } from 'vitest';
import { calc, calcLine, CalcInputSchema } from '../../src/map/index.js';
import { readJsonLines } from '../support/vectors.js';

interface MapCalcVector {
  id: string;
  input: unknown;
  expect: Record<string, unknown>;
}

const vectors = readJsonLines<MapCalcVector>('map-calc.jsonl');

describe('test/vectors/map-calc.jsonl through the library', () => {
  it('has the 198 vectors the README promises', () => {
    expect(vectors.length).toBe(198);
  });

  it.each(vectors.map((v) => [v.id, v] as const))('%s', (_id, vector) => {
    const input = CalcInputSchema.parse(vector.input);
    const result = calc(input);
    const actual = result.ok ? result.value.output : { error: result.error };
    expect(JSON.parse(JSON.stringify(actual))).toEqual(vector.expect);
  });
});

describe('test/vectors/map-calc.jsonl through calcLine (the --batch line contract)', () => {
  it('every line gives exactly the expected output line', () => {
    for (const vector of vectors) {
      expect(JSON.parse(calcLine(JSON.stringify(vector.input))), vector.id).toEqual(vector.expect);
    }
  });
});

describe('calc beyond the vectors', () => {
  const input = (eaLen: number, endUserPrefix: string, psidLen: number | null, psid: number | null) =>
    CalcInputSchema.parse({
      rule: { ipv6Prefix: '2001:db8::/40', ipv4Prefix: '192.0.2.0/24', eaLen, psidOffset: 0 },
      endUserPrefix,
      psidLen,
      psid,
    });

  it('refuses EA bits that leave more than 16 PSID bits, with or without an explicit PSID', () => {
    expect(calc(input(32, '2001:db8:12:3456:7800::/72', null, null))).toEqual({ ok: false, error: 'EA bits leave 24 PSID bits; at most 16' });
    expect(calc(input(32, '2001:db8:12:3456::/64', 8, 3))).toEqual({ ok: false, error: 'EA bits leave 24 PSID bits; at most 16' });
    expect(calc(input(24, '2001:db8:12:3456::/64', 8, 3)).ok).toBe(true);
  });

  it('refuses a PSID without its length, in a batch line too', () => {
    expect(calc(input(16, '2001:db8:12:3400::/56', null, 5))).toEqual({ ok: false, error: 'psid given without psidLen' });
    expect(JSON.parse(calcLine(JSON.stringify(input(16, '2001:db8:12:3400::/56', null, 5))))).toEqual({ error: 'psid given without psidLen' });
  });
});
