/**
 * The MAP CE IPv6 address (RFC 7597 §5.2, §6).
 *
 *   | End-user IPv6 prefix | subnet ID (zeros) | interface identifier |
 *
 * RFC 7597 §6 (Figure 8):   | 16 bits 0 | IPv4 address (32) | PSID (16) |
 * draft-ietf-softwire-map-03, used by Japanese VNEs (v6plus, OCN, BIGLOBE):
 *                            | 8 bits 0 | IPv4 address (32) | PSID (16) | 8 bits 0 |
 *
 * The PSID is right-aligned in its 16 bits and is the PSID in use (from EA
 * bits or explicit), 0 without sharing (Appendix A Examples 1, 4, 5; erratum
 * 8062). An IPv4 prefix is written right-padded with zeros. The subnet ID is
 * the first subnet, all zeros (§5.2). An end-user prefix longer than /64
 * overwrites the start of the interface identifier (RFC 7599 §6).
 */
import { ipv6Mask, type Ipv6Prefix } from './address.js';
import type { InterfaceIdFormat } from './rule.js';

export function interfaceId(format: InterfaceIdFormat, ipv4: number, psid: number): bigint {
  const v4 = BigInt(ipv4 >>> 0);
  const p = BigInt(psid & 0xffff);
  return format === 'rfc7597' ? (v4 << 16n) | p : (v4 << 24n) | (p << 8n);
}

/**
 * The /64 an address lies in, taken as the end-user prefix it was made from:
 * a CE address is its prefix's first subnet with the interface identifier
 * in the low 64 bits (§5.2, §6), so whatever prefix gave it, building the
 * address again in this /64 gives it back. Used to recognise CE addresses
 * of an earlier prefix (a lost ownership record).
 */
export function subnet64(address: bigint): Ipv6Prefix {
  return { address: address & ipv6Mask(64), length: 64 };
}

export function ceIPv6Address(endUserPrefix: Ipv6Prefix, iid: bigint): bigint {
  const prefixLength = Math.max(64, endUserPrefix.length);
  return endUserPrefix.address | (iid & ~ipv6Mask(prefixLength) & ((1n << 64n) - 1n));
}
