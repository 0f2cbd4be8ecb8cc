/**
 * A seeded 32-bit generator (xoshiro128**, Blackman and Vigna 2018) for
 * the workload and for the stock-pf model's own draws, so that every run of
 * the bench with the same seed produces the same figures.
 */
export class Prng {
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  constructor(seed: number) {
    // splitmix32 spreads any seed, 0 included, over the four words: xoshiro
    // must never start from the all-zero state.
    let s = seed >>> 0;
    const next = (): number => {
      s = (s + 0x9e3779b9) >>> 0;
      let z = s;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
      return (z ^ (z >>> 16)) >>> 0;
    };
    this.a = next();
    this.b = next();
    this.c = next();
    this.d = next();
  }

  /** Uniform in [0, 2^32). */
  next32(): number {
    const result = Math.imul(rotl(Math.imul(this.b, 5), 7), 9) >>> 0;
    const t = this.b << 9;
    this.c ^= this.a;
    this.d ^= this.b;
    this.b ^= this.c;
    this.a ^= this.d;
    this.c ^= t;
    this.d = rotl(this.d, 11);
    return result;
  }

  /**
   * Uniform in [0, bound) for 1 ≤ bound ≤ 2^32, without modulo bias: the
   * contract of arc4random_uniform(3), which pf uses for both draws modelled
   * here (the start port of a range search and the `probability` test).
   */
  uniform(bound: number): number {
    if (bound < 2) return 0;
    // 2^32 mod bound: draws below it would make the low residues likelier.
    const min = 2 ** 32 % bound;
    let r: number;
    do r = this.next32();
    while (r < min);
    return r % bound;
  }

  /** Uniform in [0, 1) with 53 bits, a double's whole precision. */
  unit53(): number {
    return (this.next32() * 2 ** 21 + (this.next32() >>> 11)) / 2 ** 53;
  }

  /** Uniform in [0, 1) with 32 bits. */
  float(): number {
    return this.next32() / 2 ** 32;
  }

  /** Exponentially distributed with the given mean (inverse transform; never 0 or ∞). */
  exponential(mean: number): number {
    return -mean * Math.log(1 - (this.next32() + 0.5) / 2 ** 32);
  }
}

function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0;
}
