/**
 * What may stand at the far end of a tunnel, however it was given (maped.conf,
 * a DHCPv6 lease, an HB46PP reply): a global unicast IPv6 address, or for an
 * (lw)AFTR also a host name that maped resolves itself (AAAA); and what may
 * be the CE's own IPv4 address, however it was given.
 */
import { err, ok, parseIpv6, shown, type Result } from '../map/index.js';

/** Why an address cannot be a tunnel endpoint, or null if it is a global-scope unicast address. */
export function notUnicast(address: bigint): string | null {
  if (address === 0n) return 'the unspecified address';
  if (address === 1n) return 'the loopback address';
  if (address >> 120n === 0xffn) return 'a multicast address';
  if (address >> 118n === 0x3fan) return 'a link-local address';
  if (address >> 32n === 0xffffn) return 'an IPv4-mapped address';
  return null;
}

/**
 * Why an IPv4 address cannot be the CE's, or null. The CE puts it on its
 * tunnel interface and NATs into it, so it must be one a host may use as a
 * source (RFC 1122 §3.2.1.3: not 0/8, not loopback; not class D or E).
 */
export function notIpv4Unicast(address: number): string | null {
  const first = address >>> 24;
  if (first === 0) return 'in 0.0.0.0/8';
  if (first === 127) return 'a loopback address';
  if (first >= 224) return 'a multicast or reserved address';
  return null;
}

/** RFC 1035 §2.3.1 labels (digits first allowed, RFC 1123 §2.1), 253 characters in all. */
export const HOST_NAME = /^(?=.{1,253}$)([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*\.?$/;

/** A global unicast IPv6 address; the error names `what`. */
export function parseUnicastIpv6(what: string, text: string): Result<bigint> {
  const address = parseIpv6(text);
  if (!address.ok) return err(`${what}: invalid IPv6 address "${shown(text)}": ${address.error}`);
  const reason = notUnicast(address.value);
  return reason === null ? address : err(`${what}: ${text} is ${reason}, not a unicast address`);
}

/** An (lw)AFTR: an IPv6 address, or a host name (lower case, no final dot) to resolve. */
export function parseAftr(what: string, text: string): Result<bigint | string> {
  if (text.includes(':')) return parseUnicastIpv6(what, text);
  if (HOST_NAME.test(text)) return ok(text.toLowerCase().replace(/\.$/, ''));
  return err(`${what}: "${shown(text)}" is neither an IPv6 address nor a host name`);
}
