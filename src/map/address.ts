/**
 * IPv4 and IPv6 addresses and prefixes as plain numbers.
 *
 * An IPv6 address is a 128-bit `bigint`, an IPv4 address an unsigned 32-bit
 * `number`. Text goes in through RFC 4291 §2.2 notation and comes out in the
 * RFC 5952 canonical form. The `ip-address` library is the reference for both
 * directions (test/map/address.test.ts compares them on random addresses);
 * this small parser exists because `calc --batch` must do 100k derivations a
 * second and the library's regex-based parser alone costs half that budget.
 *
 * Error texts follow the wording of Python's `ipaddress` module, which the
 * reference vectors in test/vectors were produced with; the input they quote
 * is cut to MAX_SHOWN characters and its control characters escaped
 * (shown-text.ts), since it comes from leases and servers too.
 */
import { err, ok, type Result } from './result.js';
import { shown } from './shown-text.js';

export interface Ipv6Prefix {
  /** Host bits are always zero. */
  readonly address: bigint;
  readonly length: number;
}

export interface Ipv4Prefix {
  /** Host bits are always zero. */
  readonly address: number;
  readonly length: number;
}

const ALL_ONES_128 = (1n << 128n) - 1n;

const IPV6_MASKS: readonly bigint[] = Array.from({ length: 129 }, (_, length) =>
  length === 0 ? 0n : (ALL_ONES_128 >> BigInt(128 - length)) << BigInt(128 - length),
);

/** The first `length` bits of a 128-bit value set (0 ≤ length ≤ 128). */
export function ipv6Mask(length: number): bigint {
  return IPV6_MASKS[length] ?? 0n;
}

/** The first `length` bits of a 32-bit value set, as an unsigned number. */
export function ipv4Mask(length: number): number {
  return length === 0 ? 0 : (0xffffffff << (32 - length)) >>> 0;
}

const HEX = /^[0-9a-fA-F]{1,4}$/;
const DECIMAL = /^[0-9]+$/;

/**
 * A dotted quad's value, scanned without allocating (a state table may hold a
 * million addresses), or null for anything parseIpv4 refuses: not four
 * octets of 1-3 decimal digits, an octet over 255, a leading zero.
 */
export function scanIpv4(text: string): number | null {
  let value = 0;
  let octet = 0;
  let digits = 0;
  let octets = 0;
  for (let i = 0; i <= text.length; i++) {
    const c = i === text.length ? 0x2e : text.charCodeAt(i);
    if (c === 0x2e) {
      if (digits === 0 || octet > 255 || ++octets > 4) return null;
      value = value * 256 + octet;
      octet = digits = 0;
      continue;
    }
    if (c < 0x30 || c > 0x39 || digits === 3 || (digits === 1 && octet === 0)) return null;
    octet = octet * 10 + (c - 0x30);
    digits++;
  }
  return octets === 4 ? value : null;
}

export function parseIpv4(text: string): Result<number> {
  const scanned = scanIpv4(text);
  if (scanned !== null) return ok(scanned);
  // Refused: the checks below say why.
  const octets = text.split('.');
  if (octets.length !== 4) return err(`Expected 4 octets in '${shown(text)}'`);
  let value = 0;
  for (const octet of octets) {
    if (octet === '') return err(`Empty octet not permitted in '${shown(text)}'`);
    if (!DECIMAL.test(octet)) return err(`Only decimal digits permitted in '${shown(octet)}' in '${shown(text)}'`);
    if (octet.length > 3) return err(`At most 3 characters permitted in '${shown(octet)}' in '${shown(text)}'`);
    if (octet.length > 1 && octet.startsWith('0')) {
      return err(`Leading zeros are not permitted in '${shown(octet)}' in '${shown(text)}'`);
    }
    const n = Number(octet);
    if (n > 255) return err(`Octet ${n} (> 255) not permitted in '${shown(text)}'`);
    value = value * 256 + n;
  }
  return ok(value);
}

/**
 * The common case, hex groups and at most one '::', scanned without
 * allocating; anything else (an IPv4 tail, a mistake) returns null and goes
 * through the careful parser below, which also words the errors.
 */
function scanIpv6(text: string): bigint | null {
  const groups = [0, 0, 0, 0, 0, 0, 0, 0];
  let count = 0;
  let gap = -1;
  let digits = 0;
  let value = 0;
  const end = text.length;
  let i = 0;
  if (end >= 2 && text.charCodeAt(0) === 58) {
    if (text.charCodeAt(1) !== 58) return null;
    gap = 0;
    i = 2;
    if (end === 2) return 0n;
  }
  for (; i < end; i++) {
    const c = text.charCodeAt(i);
    let nibble: number;
    if (c >= 48 && c <= 57) nibble = c - 48;
    else if (c >= 97 && c <= 102) nibble = c - 87;
    else if (c >= 65 && c <= 70) nibble = c - 55;
    else if (c === 58) {
      if (digits === 0) {
        // '::' in the middle; a second one, or ':::' is for the careful parser.
        if (gap !== -1 || i === 0 || text.charCodeAt(i - 1) !== 58) return null;
        gap = count;
        if (i === end - 1) break;
        continue;
      }
      if (count === 8) return null;
      groups[count++] = value;
      digits = 0;
      value = 0;
      if (i === end - 1) return null;
      continue;
    } else return null;
    if (++digits > 4) return null;
    value = value * 16 + nibble;
  }
  if (digits > 0) {
    if (count === 8) return null;
    groups[count++] = value;
  }
  if (gap === -1) {
    if (count !== 8) return null;
  } else {
    if (count > 7) return null;
    const tail = count - gap;
    for (let k = 0; k < tail; k++) groups[7 - k] = groups[count - 1 - k]!;
    for (let k = gap; k < 8 - tail; k++) groups[k] = 0;
  }
  return (
    (BigInt(groups[0]! * 65536 + groups[1]!) << 96n) |
    (BigInt(groups[2]! * 65536 + groups[3]!) << 64n) |
    (BigInt(groups[4]! * 65536 + groups[5]!) << 32n) |
    BigInt(groups[6]! * 65536 + groups[7]!)
  );
}

export function parseIpv6(text: string): Result<bigint> {
  const fast = scanIpv6(text);
  if (fast !== null) return ok(fast);
  if (text.includes('%')) return err(`Zone identifiers are not permitted in '${shown(text)}'`);
  const parts = text.split(':');
  if (parts.length < 3) return err(`At least 3 parts expected from '${shown(text)}'`);

  // An embedded IPv4 address (::ffff:192.0.2.1) stands for the last two groups.
  const last = parts[parts.length - 1] ?? '';
  let tail: bigint | null = null;
  if (last.includes('.')) {
    const v4 = parseIpv4(last);
    if (!v4.ok) return err(`${v4.error} in '${shown(text)}'`);
    tail = BigInt(v4.value);
    parts.pop();
    parts.push('0', '0');
  }
  if (parts.length > 9) return err(`At most 8 colons permitted in '${shown(text)}'`);

  let skip = -1;
  for (let i = 1; i < parts.length - 1; i++) {
    if (parts[i] === '') {
      if (skip !== -1) return err(`At most one '::' permitted in '${shown(text)}'`);
      skip = i;
    }
  }
  let head = parts.length;
  let rear = 0;
  if (skip !== -1) {
    head = skip;
    rear = parts.length - skip - 1;
    if (parts[0] === '') {
      head -= 1;
      if (head !== 0) return err(`Leading ':' only permitted as part of '::' in '${shown(text)}'`);
    }
    if (parts[parts.length - 1] === '') {
      rear -= 1;
      if (rear !== 0) return err(`Trailing ':' only permitted as part of '::' in '${shown(text)}'`);
    }
    if (head + rear >= 8) return err(`Expected at most 7 other parts with '::' in '${shown(text)}'`);
  } else {
    if (parts.length !== 8) return err(`Exactly 8 parts expected without '::' in '${shown(text)}'`);
    if (parts[0] === '') return err(`Leading ':' only permitted as part of '::' in '${shown(text)}'`);
    if (parts[7] === '') return err(`Trailing ':' only permitted as part of '::' in '${shown(text)}'`);
  }

  // Groups are gathered as hex text and turned into one bigint at the end:
  // a single BigInt('0x…') costs less than sixteen bigint shifts and ors.
  let hex = '';
  const group = (part: string): string | null => {
    if (!HEX.test(part)) return part.length > 4 ? `At most 4 characters permitted in '${shown(part)}' in '${shown(text)}'` : `Only hex digits permitted in '${shown(part)}' in '${shown(text)}'`;
    hex += part.padStart(4, '0');
    return null;
  };
  for (let i = 0; i < head; i++) {
    const problem = group(parts[i] ?? '');
    if (problem !== null) return err(problem);
  }
  hex += '0000'.repeat(8 - head - rear);
  for (let i = parts.length - rear; i < parts.length; i++) {
    const problem = group(parts[i] ?? '');
    if (problem !== null) return err(problem);
  }
  let value = BigInt('0x' + hex);
  if (tail !== null) value = (value & ~0xffffffffn) | tail;
  return ok(value);
}

function splitPrefix(text: string, maxLength: number): Result<{ address: string; length: number }> {
  const slash = text.indexOf('/');
  if (slash === -1) return err(`'${shown(text)}' has no prefix length`);
  const address = text.slice(0, slash);
  const lengthText = text.slice(slash + 1);
  if (!DECIMAL.test(lengthText) || lengthText.length > 3 || Number(lengthText) > maxLength) {
    return err(`'${shown(lengthText)}' is not a valid netmask`);
  }
  return ok({ address, length: Number(lengthText) });
}

/** Parses `2001:db8::/40`; host bits may be set and are cleared. */
export function parseIpv6Prefix(text: string): Result<Ipv6Prefix> {
  const split = splitPrefix(text, 128);
  if (!split.ok) return split;
  const address = parseIpv6(split.value.address);
  if (!address.ok) return address;
  return ok({ address: address.value & ipv6Mask(split.value.length), length: split.value.length });
}

/** Parses `192.0.2.0/24`; host bits may be set and are cleared. */
export function parseIpv4Prefix(text: string): Result<Ipv4Prefix> {
  const split = splitPrefix(text, 32);
  if (!split.ok) return split;
  const address = parseIpv4(split.value.address);
  if (!address.ok) return address;
  return ok({ address: (address.value & ipv4Mask(split.value.length)) >>> 0, length: split.value.length });
}

export function formatIpv4(address: number): string {
  return `${address >>> 24}.${(address >>> 16) & 0xff}.${(address >>> 8) & 0xff}.${address & 0xff}`;
}

const LOW_32 = 0xffffffffn;

/** The eight 16-bit groups of an address, most significant first. */
export function ipv6Groups(address: bigint): number[] {
  const groups = [0, 0, 0, 0, 0, 0, 0, 0];
  for (let w = 0; w < 4; w++) {
    const word = Number((address >> BigInt(96 - 32 * w)) & LOW_32);
    groups[2 * w] = Math.floor(word / 65536);
    groups[2 * w + 1] = word % 65536;
  }
  return groups;
}

/**
 * RFC 5952 §4.2: where `::` goes, the longest run of two or more zero
 * groups, the first on a tie; start -1 when there is none.
 */
export function ipv6ZeroRun(groups: readonly number[]): { start: number; length: number } {
  let start = -1;
  let length = 1;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > length) {
      start = i;
      length = j - i;
    }
    i = j;
  }
  return { start, length: start === -1 ? 0 : length };
}

function joinGroups(groups: readonly number[], from: number, to: number): string {
  let out = '';
  for (let i = from; i < to; i++) out += (i === from ? '' : ':') + groups[i]!.toString(16);
  return out;
}

/** RFC 5952 §4: lower case, no leading zeros, the longest run (≥ 2) of zero groups as `::`, first run on a tie. */
export function formatIpv6(address: bigint): string {
  const groups = ipv6Groups(address);
  const run = ipv6ZeroRun(groups);
  if (run.start === -1) return joinGroups(groups, 0, 8);
  return `${joinGroups(groups, 0, run.start)}::${joinGroups(groups, run.start + run.length, 8)}`;
}

export function formatIpv6Prefix(prefix: Ipv6Prefix): string {
  return `${formatIpv6(prefix.address)}/${prefix.length}`;
}

export function formatIpv4Prefix(prefix: Ipv4Prefix): string {
  return `${formatIpv4(prefix.address)}/${prefix.length}`;
}

/** Whether `inner` lies inside `outer` (and is at least as long). */
export function ipv6PrefixCovers(outer: Ipv6Prefix, inner: Ipv6Prefix): boolean {
  return inner.length >= outer.length && (inner.address & ipv6Mask(outer.length)) === outer.address;
}
