/**
 * The port set of a PSID: RFC 7597 §5.1 (Figure 2) and Appendix B.
 *
 *   port = | A (a bits) | PSID (k bits) | j (m bits) |,   m = 16 - a - k
 *
 * For a > 0, A runs from 1 to 2^a - 1 (A = 0 would be the system ports);
 * for a = 0 there is a single block, which may start at port 0 (B.2 Example 2).
 */
import type { AsciiSink } from './ascii-sink.js';
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

/** The number of ports in the set: (2^a - 1) · 2^m blocks for a > 0 (RFC 7597 §5.1). */
export function portCount(psidOffset: number, psidLen: number): number {
  if (psidLen === 0) return 65536;
  // Shifts, not `**`: every exponent here is at most 16.
  const blockSize = 1 << (16 - psidOffset - psidLen);
  return psidOffset === 0 ? blockSize : ((1 << psidOffset) - 1) * blockSize;
}

/** Decimal text of every port number, 5 bytes a port, left-aligned, with its length apart. */
let portDigits: { text: Uint8Array; length: Uint8Array } | null = null;

function portDigitTable(): { text: Uint8Array; length: Uint8Array } {
  if (portDigits !== null) return portDigits;
  const text = new Uint8Array(65536 * 5);
  const length = new Uint8Array(65536);
  for (let port = 0; port < 65536; port++) {
    const digits = String(port);
    length[port] = digits.length;
    for (let i = 0; i < digits.length; i++) text[port * 5 + i] = digits.charCodeAt(i);
  }
  portDigits = { text, length };
  return portDigits;
}

/**
 * Writes the ranges as JSON, `[[first,last],...]`, straight from the
 * parameters into bytes: `calc --batch` prints thousands of ranges per line,
 * and building tuples and strings only to serialise them cost far more than
 * the derivation itself.
 */
export function writePortSetJson(sink: AsciiSink, psidOffset: number, psidLen: number, psid: number): void {
  if (psidLen === 0) return sink.text('[[0,65535]]');
  const { text, length } = portDigitTable();
  const a = psidOffset;
  const blockSize = 2 ** (16 - a - psidLen);
  const base = psid * blockSize;
  const stride = a === 0 ? 0 : 2 ** (16 - a);
  const firstBlock = a === 0 ? 0 : 1;
  const lastBlock = a === 0 ? 0 : 2 ** a - 1;
  // '[' + per range at most '[' 5 ',' 5 ']' ',' + ']'
  const bytes = sink.claim(2 + (lastBlock - firstBlock + 1) * 14);
  let at = sink.length;
  bytes[at++] = 0x5b;
  for (let A = firstBlock; A <= lastBlock; A++) {
    const first = A * stride + base;
    const last = first + blockSize - 1;
    if (A !== firstBlock) bytes[at++] = 0x2c;
    bytes[at++] = 0x5b;
    for (let i = 0, n = length[first]!, from = first * 5; i < n; i++) bytes[at++] = text[from + i]!;
    bytes[at++] = 0x2c;
    for (let i = 0, n = length[last]!, from = last * 5; i < n; i++) bytes[at++] = text[from + i]!;
    bytes[at++] = 0x5d;
  }
  bytes[at++] = 0x5d;
  sink.commit(at);
}
