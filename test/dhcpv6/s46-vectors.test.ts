import { describe, expect, it } from 'vitest';
import {
  decodeOptions,
  deriveMapE,
  deriveMapT,
  parseHex,
  toDecodeJson,
  type S46Options,
} from '../../src/dhcpv6/index.js';
import { calcOutput, parseIpv6Prefix, type Result } from '../../src/map/index.js';
import { readJsonLines } from '../support/vectors.js';

interface S46Vector {
  name: string;
  optionsHex: string;
  endUserPrefix?: string;
  expect:
    | { decode: unknown; derive: { mapE?: Record<string, unknown>; mapT?: Record<string, unknown> } }
    | { error: string }
    | { valid: boolean };
  rfc?: string;
  what?: string;
}

const vectors = readJsonLines<S46Vector>('s46.jsonl');

function decodeHex(hex: string): Result<S46Options> {
  const bytes = parseHex(hex);
  if (!bytes.ok) throw new Error(`vector hex: ${bytes.error}`);
  return decodeOptions(bytes.value);
}

/** The derive expectation omits the port sets; compare the fields it gives. */
function pick(actual: Record<string, unknown>, expected: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.keys(expected).map((key) => [key, actual[key]]));
}

const decodeVectors = vectors.filter((v) => 'decode' in v.expect);
const errorVectors = vectors.filter((v) => 'error' in v.expect);
const validityVectors = vectors.filter((v) => 'valid' in v.expect);

describe('test/vectors/s46.jsonl', () => {
  it('holds the three kinds of expectation the README describes', () => {
    expect(decodeVectors.length + errorVectors.length + validityVectors.length).toBe(vectors.length);
    expect(decodeVectors.length).toBeGreaterThan(0);
    expect(validityVectors.length).toBeGreaterThan(0);
  });

  describe.each(decodeVectors.map((v) => [v.name, v] as const))('%s', (_name, vector) => {
    const expected = vector.expect as Extract<S46Vector['expect'], { decode: unknown }>;

    it('decodes to exactly the --json shape', () => {
      const decoded = decodeHex(vector.optionsHex);
      expect(decoded.ok ? toDecodeJson(decoded.value) : decoded).toEqual(expected.decode);
    });

    it('derives what the BMR for the delegated prefix gives', () => {
      const decoded = decodeHex(vector.optionsHex);
      if (!decoded.ok) throw new Error(decoded.error);
      const prefix = parseIpv6Prefix(vector.endUserPrefix ?? '');
      if (!prefix.ok) throw new Error(prefix.error);
      const kinds = Object.keys(expected.derive);
      if (kinds.length === 0) {
        // lw4o6 only: nothing to derive, and no MAP domain is offered.
        expect(decoded.value.mapE.length + decoded.value.mapT.length).toBe(0);
      }
      for (const kind of kinds) {
        const want = expected.derive[kind as 'mapE' | 'mapT']!;
        const derived =
          kind === 'mapE'
            ? deriveMapE(decoded.value.mapE[0]!, prefix.value, 'rfc7597')
            : deriveMapT(decoded.value.mapT[0]!, prefix.value, 'rfc7597');
        if ('error' in want) {
          expect(derived.ok).toBe(false);
          if (!derived.ok) expect(derived.error).toContain(want.error as string);
        } else {
          if (!derived.ok) throw new Error(derived.error);
          const out = JSON.parse(JSON.stringify(calcOutput(derived.value.params))) as Record<string, unknown>;
          expect(pick(out, want)).toEqual(want);
        }
      }
    });
  });

  it.each(errorVectors.map((v) => [v.name, v] as const))('%s: refused with the expected reason', (_name, vector) => {
    const decoded = decodeHex(vector.optionsHex);
    expect(decoded.ok).toBe(false);
    if (!decoded.ok) expect(decoded.error).toContain((vector.expect as { error: string }).error);
  });

  it.each(validityVectors.map((v) => [v.name, v] as const))('%s', (_name, vector) => {
    const decoded = decodeHex(vector.optionsHex);
    const valid = (vector.expect as { valid: boolean }).valid;
    if (valid) {
      if (!decoded.ok) throw new Error(`refused: ${decoded.error}`);
      expect(decoded.value.mapE.length + decoded.value.mapT.length + decoded.value.lw4o6.length).toBeGreaterThan(0);
    } else {
      expect(decoded.ok).toBe(false);
      if (!decoded.ok) {
        expect(decoded.error).toMatch(/^S46_CONT_(MAPE|MAPT|LW)|^options: /);
        expect(decoded.error).not.toContain('\n');
      }
    }
  });
});
