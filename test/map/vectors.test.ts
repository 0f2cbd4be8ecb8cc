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
