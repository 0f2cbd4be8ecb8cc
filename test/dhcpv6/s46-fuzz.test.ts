/**
 * Property test: hostile bytes end in a value, never an exception. 100k+
 * inputs: random bytes, and the s46.jsonl replies truncated, with lengths
 * flipped, nested deep and options repeated. No timing assertion (budgets
 * are for bench/), but every result is checked against the caps.
 */
import { describe, expect, it } from 'vitest';
import {
  decodeContainer,
  decodeOptions,
  MAX_BRS_PER_CONTAINER,
  MAX_CONTAINERS,
  MAX_RULES_PER_CONTAINER,
  parseHex,
  toDecodeJson,
  type S46Options,
} from '../../src/dhcpv6/index.js';
import type { Result } from '../../src/map/index.js';
import { readJsonLines } from '../support/vectors.js';

/** mulberry32: a small seeded generator, so a failure replays. */
function generator(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const seeds = readJsonLines<{ optionsHex: string }>('s46.jsonl').map((v) => {
  const bytes = parseHex(v.optionsHex);
  if (!bytes.ok) throw new Error(bytes.error);
  return bytes.value;
});

function wrap(code: number, payload: Uint8Array): Uint8Array {
  const out = new Uint8Array(4 + Math.min(payload.length, 0xffff));
  out[0] = code >> 8;
  out[1] = code & 0xff;
  out[2] = (out.length - 4) >> 8;
  out[3] = (out.length - 4) & 0xff;
  out.set(payload.subarray(0, out.length - 4), 4);
  return out;
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

function mutate(random: () => number): Uint8Array {
  const pick = (n: number): number => Math.floor(random() * n);
  const base = seeds[pick(seeds.length)]!;
  switch (pick(7)) {
    case 0: // random bytes
      return Uint8Array.from({ length: pick(96) }, () => pick(256));
    case 1: // truncate
      return base.slice(0, pick(base.length + 1));
    case 2: {
      // flip a length byte (or any byte) to a random value
      const out = base.slice();
      const at = pick(out.length);
      out[at] = pick(4) === 0 ? 0xff : pick(256);
      return out;
    }
    case 3: {
      // flip a few random bits
      const out = base.slice();
      for (let i = pick(4) + 1; i > 0; i--) out[pick(out.length)]! ^= 1 << pick(8);
      return out;
    }
    case 4: {
      // nest deep: containers and rules inside each other
      let inner: Uint8Array = base.slice(4);
      for (let depth = pick(40) + 1; depth > 0; depth--) inner = wrap([89, 92, 93, 94, 95, 96][pick(6)]!, inner);
      return inner;
    }
    case 5: {
      // repeat a whole option many times, inside or outside its container
      const times = pick(300) + 1;
      const repeated = concat(Array.from({ length: times }, () => base.slice(4)));
      return pick(2) === 0 ? wrap(base[1]!, repeated) : concat(Array.from({ length: Math.min(times, 40) }, () => base));
    }
    default: // splice two inputs
      return concat([base.slice(0, pick(base.length)), seeds[pick(seeds.length)]!.slice(pick(8))]);
  }
}

function checkResult(result: Result<S46Options>): void {
  if (!result.ok) {
    if (typeof result.error !== 'string' || result.error.length === 0 || result.error.includes('\n')) {
      throw new Error(`bad error value: ${JSON.stringify(result.error)}`);
    }
    return;
  }
  const v = result.value;
  if (v.mapE.length + v.mapT.length + v.lw4o6.length > MAX_CONTAINERS) throw new Error('container cap exceeded');
  for (const d of [...v.mapE, ...v.mapT]) {
    if (d.rules.length === 0 || d.rules.length > MAX_RULES_PER_CONTAINER) throw new Error('rule count out of bounds');
  }
  for (const d of [...v.mapE, ...v.lw4o6]) {
    if (d.br.length === 0 || d.br.length > MAX_BRS_PER_CONTAINER) throw new Error('BR count out of bounds');
  }
  toDecodeJson(v); // the JSON view must not throw on anything the decoder accepts
}

describe('decoding hostile input', () => {
  it('returns a value for 100k random and mutated inputs (seeded)', () => {
    const random = generator(7598);
    let accepted = 0;
    let refused = 0;
    for (let i = 0; i < 100_000; i++) {
      const input = mutate(random);
      let result: Result<S46Options>;
      try {
        result = decodeOptions(input);
      } catch (e) {
        throw new Error(`input ${Buffer.from(input).toString('hex')} threw ${String(e)}`);
      }
      checkResult(result);
      if (result.ok) accepted++;
      else refused++;
    }
    // Both outcomes occur, so the mutations reach past the first length check.
    expect(accepted).toBeGreaterThan(1000);
    expect(refused).toBeGreaterThan(1000);
  });

  it('returns a value for 20k random container payloads through decodeContainer', () => {
    const random = generator(94);
    const outcomes = { accepted: 0, refused: 0 };
    for (let i = 0; i < 20_000; i++) {
      const input = mutate(random);
      const code = [94, 95, 96, Math.floor(random() * 0x10000)][Math.floor(random() * 4)]!;
      const result = decodeContainer(code, input.subarray(4));
      if (!result.ok && (result.error.length === 0 || result.error.includes('\n'))) throw new Error('bad error value');
      outcomes[result.ok ? 'accepted' : 'refused']++;
    }
    expect(outcomes.accepted).toBeGreaterThan(100);
    expect(outcomes.refused).toBeGreaterThan(100);
  });
});
