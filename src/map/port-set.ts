/**
 * The port set of a PSID: RFC 7597 §5.1 (Figure 2) and Appendix B.
 *
 *   port = | A (a bits) | PSID (k bits) | j (m bits) |,   m = 16 - a - k
 *
 * For a > 0, A runs from 1 to 2^a - 1 (A = 0 would be the system ports);
 * for a = 0 there is a single block, which may start at port 0 (B.2 Example 2).
 */
import type { PortRange } from './rule.js';

export interface PortSet {
  readonly ranges: readonly PortRange[];
  readonly count: number;
}

/** The whole port space: no sharing (k = 0), RFC 7597 §5.2 full address or prefix. */
const UNRESTRICTED: PortSet = { ranges: [[0, 65535]], count: 65536 };

/**
 * Callers guarantee 0 ≤ a, 0 ≤ k, a + k ≤ 16 and 0 ≤ psid < 2^k.
 */
export function portSet(psidOffset: number, psidLen: number, psid: number): PortSet {
  if (psidLen === 0) return UNRESTRICTED;
  const a = psidOffset;
  const m = 16 - a - psidLen;
  const blockSize = 2 ** m;
  const base = psid * blockSize;
  if (a === 0) return { ranges: [[base, base + blockSize - 1]], count: blockSize };
  const stride = 2 ** (16 - a);
  const blocks = 2 ** a - 1;
  const ranges: PortRange[] = new Array<PortRange>(blocks);
  for (let A = 1; A <= blocks; A++) {
    const first = A * stride + base;
    ranges[A - 1] = [first, first + blockSize - 1];
  }
  return { ranges, count: blocks * blockSize };
}

/** RFC 7597 Appendix B.1: PSID = (P >> m) & (2^k - 1); whether `port` is one of ours. */
export function portInSet(port: number, psidOffset: number, psidLen: number, psid: number): boolean {
  if (psidLen === 0) return port >= 0 && port <= 65535;
  const m = 16 - psidOffset - psidLen;
  if (psidOffset > 0 && port >>> (16 - psidOffset) === 0) return false;
  return ((port >>> m) & (2 ** psidLen - 1)) === psid;
}
