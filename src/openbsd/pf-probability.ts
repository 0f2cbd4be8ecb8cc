/**
 * pf `probability`, exactly as pfctl and the kernel treat it.
 *
 * pfctl parse.y (`probability: STRING`): strtod the text, a trailing `%` scales
 * by 0.01, then `p = floor(value * UINT_MAX + 0.5)`, stored as a u_int32 (0
 * becomes 1). pf.c `pf_match_rule` skips the rule when
 * `r->prob <= arc4random_uniform(UINT_MAX - 1) + 1`, a draw uniform over
 * 1 .. UINT_MAX−1, so a stored value s matches with probability
 * (s − 1) / (2^32 − 2). pfctl_parser.c 1.352 `print_rule` prints it back as
 * `printf("%f", s * 100.0 / (UINT_MAX + 1.0))` with trailing zeros cut, and a `%`
 * (lines 956-970).
 *
 * JavaScript numbers are IEEE 754 doubles and Number() rounds like strtod, so
 * the arithmetic below reproduces pfctl's bit for bit.
 */

export const UINT_MAX = 4294967295;

/** The number of equally likely draws pf compares a stored probability against. */
export const PF_PROBABILITY_DRAWS = 2n ** 32n - 2n;

/** What pfctl stores for `probability <text>`, or null where pfctl refuses the text. */
export function pfctlStoredProbability(text: string): number | null {
  const percent = text.endsWith('%');
  const digits = percent ? text.slice(0, -1) : text;
  if (!/^[0-9]*\.?[0-9]+$/.test(digits) && !/^[0-9]+\.$/.test(digits)) return null;
  let value = Number(digits);
  if (percent) value *= 0.01;
  const stored = Math.floor(value * UINT_MAX + 0.5);
  if (stored < 0 || stored > UINT_MAX) return null;
  return stored === 0 ? 1 : stored;
}

/** `print_rule`: `%f` of the percentage, trailing zeros (and a bare point) removed. */
export function pfctlPrintedProbability(stored: number): string {
  let text = ((stored * 100.0) / (UINT_MAX + 1.0)).toFixed(6);
  text = text.replace(/0+$/, '').replace(/\.$/, '');
  return `${text}%`;
}

/**
 * The stored value closest to "matches with probability 1/i": i equally likely
 * ranges, last match wins, rule i (1-based) must match with 1/i so that
 * (1/i)·∏_{j>i}(1 − 1/j) = 1/n for every i. (s − 1)/(2^32 − 2) = 1/i has an
 * integer solution only for i = 1, 2 (2^32 − 2 = 2 · (2^31 − 1), a prime), so
 * every other rule is off by at most half a step, 1/(2·(2^32 − 2)); the test
 * in test/openbsd/pf-probability.test.ts bounds the resulting unevenness.
 */
export function idealStoredProbability(i: number): bigint {
  const draws = PF_PROBABILITY_DRAWS;
  const n = BigInt(i);
  // round(draws / n) + 1, rounding halves up
  return (2n * draws + n) / (2n * n) + 1n;
}

/**
 * The shortest `N.NNN%` text that makes pfctl store {@link idealStoredProbability}(i).
 * A percentage reads better in the anchor and in `pfctl -sr` than a fraction.
 */
export function probabilityText(i: number): string {
  if (!Number.isInteger(i) || i < 2) throw new RangeError(`probability is only needed for rule 2 and later, not ${i}`);
  return probabilityTextFor(Number(idealStoredProbability(i)));
}

/** The shortest percentage text pfctl turns into exactly `target` (1 .. UINT_MAX). */
export function probabilityTextFor(target: number): string {
  const percent = (target / UINT_MAX) * 100;
  for (let digits = 3; digits <= 17; digits++) {
    const text = trimDecimal(percent.toPrecision(digits)) + '%';
    if (pfctlStoredProbability(text) === target) return text;
  }
  // Unreachable for doubles: 17 significant digits always round-trip.
  throw new Error(`no probability text stores ${target}`);
}

function trimDecimal(text: string): string {
  if (!text.includes('.')) return text;
  return text.replace(/0+$/, '').replace(/\.$/, '');
}
