/**
 * Field-exact decoders for the options a Softwire46 container carries
 * (RFC 7598 §4.1–4.5). Each takes the input buffer and the bounds of one
 * option's payload (from splitOptions, so already inside its parent) and
 * checks every length and field range before reading.
 */
import { err, formatIpv4, formatIpv6, ipv4Mask, ipv6Mask, ok, type Result } from '../map/index.js';
import { notIpv4Unicast, notUnicast } from '../softwire/endpoint.js';
import { OPTION_S46_PORTPARAMS, optionName } from './option-codes.js';
import { splitOptions, type RawOption } from './option-list.js';
import type { Lw4o6Binding, S46PortParams, S46Rule } from './s46-types.js';

/** RFC 7598 §4.1: ea-len 0–48. */
const MAX_EA_LEN = 48;

function byte(bytes: Uint8Array, at: number): number {
  return bytes[at] ?? 0;
}

function u32(bytes: Uint8Array, at: number): number {
  return ((byte(bytes, at) << 24) | (byte(bytes, at + 1) << 16) | (byte(bytes, at + 2) << 8) | byte(bytes, at + 3)) >>> 0;
}

/** `count` bytes (≤ 16) from `at` as the leading bytes of a 128-bit value. */
function leadingBytes(bytes: Uint8Array, at: number, count: number): bigint {
  let hi = 0n;
  let value = 0n;
  for (let i = 0; i < 16; i++) {
    value = (value << 8n) | BigInt(i < count ? byte(bytes, at + i) : 0);
    if (i === 7) {
      hi = value;
      value = 0n;
    }
  }
  return (hi << 64n) | value;
}

export function prefixBytes(prefixLength: number): number {
  return Math.ceil(prefixLength / 8);
}

function describe(option: RawOption): string {
  return `${optionName(option.code)} at byte ${option.at}`;
}

/**
 * S46_BR (RFC 7598 §4.2): exactly one IPv6 address. It becomes the tunnel's
 * remote end, which RFC 7597 §5.4 makes a unicast (or anycast) address of
 * the BR, so the unspecified, loopback, multicast, link-local and
 * IPv4-mapped addresses are refused as a maped.conf `br` is.
 */
export function decodeBr(bytes: Uint8Array, option: RawOption): Result<bigint> {
  const length = option.end - option.start;
  if (length !== 16) return err(`${describe(option)}: option-length ${length}, must be 16`);
  const address = leadingBytes(bytes, option.start, 16);
  const reason = notUnicast(address);
  if (reason !== null) return err(`${describe(option)}: ${formatIpv6(address)} is ${reason}, not a unicast address (RFC 7597 §5.4)`);
  return ok(address);
}

/**
 * S46_PORTPARAMS (RFC 7598 §4.5): offset(8) PSID-len(8) PSID(16). The PSID
 * field is left-aligned on the wire ("the first k bits on the left"); the
 * value returned is right-aligned. Padding bits the sender should have
 * zeroed are ignored, as for prefixes.
 */
export function decodePortParams(bytes: Uint8Array, option: RawOption): Result<S46PortParams> {
  const length = option.end - option.start;
  if (length !== 4) return err(`${describe(option)}: option-length ${length}, must be 4`);
  const psidOffset = byte(bytes, option.start);
  const psidLen = byte(bytes, option.start + 1);
  const field = ((byte(bytes, option.start + 2) << 8) | byte(bytes, option.start + 3)) >>> 0;
  if (psidOffset > 15) return err(`${describe(option)}: offset ${psidOffset} out of range 0..15`);
  if (psidLen > 16) return err(`${describe(option)}: PSID-len ${psidLen} out of range 0..16`);
  // The a offset bits and the k PSID bits share one 16-bit port number (RFC 7597 §5.1).
  if (psidOffset + psidLen > 16) {
    return err(`${describe(option)}: offset ${psidOffset} + PSID-len ${psidLen} exceed the 16 bits of a port`);
  }
  const psid = psidLen === 0 ? 0 : field >>> (16 - psidLen);
  return ok({ psidOffset, psidLen, psid });
}

/**
 * The sub-options of a rule or binding: at most one S46_PORTPARAMS; any
 * other option is skipped (RFC 7598 §4.1/§4.4 define no other; RFC 8415
 * §16 says unknown options are ignored), bounded by splitOptions.
 */
function decodeSubOptions(bytes: Uint8Array, start: number, end: number, within: string): Result<S46PortParams | null> {
  const sub = splitOptions(bytes, start, end, within);
  if (!sub.ok) return sub;
  let portParams: S46PortParams | null = null;
  for (const option of sub.value) {
    if (option.code !== OPTION_S46_PORTPARAMS) continue;
    if (portParams !== null) return err(`${within}: more than one ${optionName(OPTION_S46_PORTPARAMS)}`);
    const decoded = decodePortParams(bytes, option);
    if (!decoded.ok) return err(`${within}: ${decoded.error}`);
    portParams = decoded.value;
  }
  return ok(portParams);
}

/**
 * S46_RULE (RFC 7598 §4.1):
 *   flags(8) ea-len(8) prefix4-len(8) ipv4-prefix(32) prefix6-len(8)
 *   ipv6-prefix(ceil(prefix6-len/8) octets) S46_RULE-options
 * F is the least significant flags bit (Figure 2); the other bits are
 * reserved and ignored.
 */
export function decodeRule(bytes: Uint8Array, option: RawOption): Result<S46Rule> {
  const where = describe(option);
  const s = option.start;
  const length = option.end - s;
  if (length < 8) return err(`${where}: option-length ${length}, the fixed part needs 8`);
  const flags = byte(bytes, s);
  const eaLen = byte(bytes, s + 1);
  const prefix4Len = byte(bytes, s + 2);
  const ipv4 = u32(bytes, s + 3);
  const prefix6Len = byte(bytes, s + 7);
  if (eaLen > MAX_EA_LEN) return err(`${where}: ea-len ${eaLen} out of range 0..${MAX_EA_LEN}`);
  if (prefix4Len > 32) return err(`${where}: prefix4-len ${prefix4Len} out of range 0..32`);
  if (prefix6Len > 128) return err(`${where}: prefix6-len ${prefix6Len} out of range 0..128`);
  // RFC 7597 §5.2: the EA bits follow the rule prefix inside 128 bits.
  if (prefix6Len + eaLen > 128) return err(`${where}: prefix6-len ${prefix6Len} + ea-len ${eaLen} exceed 128 bits`);
  const v6Bytes = prefixBytes(prefix6Len);
  if (length < 8 + v6Bytes) {
    return err(`${where}: option-length ${length} too short for prefix6-len ${prefix6Len} (needs ${8 + v6Bytes})`);
  }
  const portParams = decodeSubOptions(bytes, s + 8 + v6Bytes, option.end, where);
  if (!portParams.ok) return portParams;
  return ok({
    fmr: (flags & 0x01) === 0x01,
    eaLen,
    ipv4Prefix: { address: (ipv4 & ipv4Mask(prefix4Len)) >>> 0, length: prefix4Len },
    ipv6Prefix: { address: leadingBytes(bytes, s + 8, v6Bytes) & ipv6Mask(prefix6Len), length: prefix6Len },
    portParams: portParams.value,
  });
}

/**
 * S46_DMR (RFC 7598 §4.3): dmr-prefix6-len(8) dmr-ipv6-prefix; the option
 * holds exactly 1 + ceil(len/8) octets.
 */
export function decodeDmr(bytes: Uint8Array, option: RawOption): Result<{ address: bigint; length: number }> {
  const where = describe(option);
  const length = option.end - option.start;
  if (length < 1) return err(`${where}: option-length 0, needs at least 1`);
  const prefixLength = byte(bytes, option.start);
  if (prefixLength > 128) return err(`${where}: dmr-prefix6-len ${prefixLength} out of range 0..128`);
  const expected = 1 + prefixBytes(prefixLength);
  if (length !== expected) {
    return err(`${where}: option-length ${length}, dmr-prefix6-len ${prefixLength} needs exactly ${expected}`);
  }
  return ok({
    address: leadingBytes(bytes, option.start + 1, expected - 1) & ipv6Mask(prefixLength),
    length: prefixLength,
  });
}

/**
 * S46_V4V6BIND (RFC 7598 §4.4):
 *   ipv4-address(32) bindprefix6-len(8) bind-ipv6-prefix S46_V4V6BIND-options
 */
export function decodeBinding(bytes: Uint8Array, option: RawOption): Result<Lw4o6Binding> {
  const where = describe(option);
  const s = option.start;
  const length = option.end - s;
  if (length < 5) return err(`${where}: option-length ${length}, the fixed part needs 5`);
  const ipv4 = u32(bytes, s);
  // The lwB4's own address (RFC 7596 §5.1), NATed into: one a host may use, as for maped.conf's `ipv4`.
  const notOurs = notIpv4Unicast(ipv4);
  if (notOurs !== null) return err(`${where}: ipv4-address ${formatIpv4(ipv4)} is ${notOurs}`);
  const prefixLength = byte(bytes, s + 4);
  if (prefixLength > 128) return err(`${where}: bindprefix6-len ${prefixLength} out of range 0..128`);
  const v6Bytes = prefixBytes(prefixLength);
  if (length < 5 + v6Bytes) {
    return err(`${where}: option-length ${length} too short for bindprefix6-len ${prefixLength} (needs ${5 + v6Bytes})`);
  }
  const portParams = decodeSubOptions(bytes, s + 5 + v6Bytes, option.end, where);
  if (!portParams.ok) return portParams;
  return ok({
    ipv4,
    bindPrefix: { address: leadingBytes(bytes, s + 5, v6Bytes) & ipv6Mask(prefixLength), length: prefixLength },
    portParams: portParams.value,
  });
}
