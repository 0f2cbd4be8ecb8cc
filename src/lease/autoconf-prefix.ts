/**
 * The end-user prefix of a WAN without prefix delegation: the /64 of its
 * SLAAC address. `ifconfig <wan>` marks such an address `autoconf`
 * (sbin/ifconfig/ifconfig.c in6_alias: IN6_IFF_AUTOCONF); a privacy address
 * is also `temporary`, one on its way out `deprecated`, one not yet usable
 * `tentative` or `duplicated` (RFC 4862 §5.4, §5.5.4) — none of those.
 */
import { ipv6Mask, type Ipv6Prefix } from '../map/index.js';
import type { InterfaceStatus } from '../openbsd/index.js';

const UNUSABLE = new Set(['temporary', 'deprecated', 'tentative', 'duplicated', 'detached']);

/** fe80::/10, never a prefix a provider assigned. */
const isLinkLocal = (address: bigint): boolean => address >> 118n === 0x3fan;

/** The WAN's own global address and its /64, the end-user prefix when none is delegated. */
export interface AutoconfAddress {
  readonly address: bigint;
  readonly prefix: Ipv6Prefix;
}

/** The first usable autoconf address and its /64, or null when there is none. */
export function autoconfAddress(status: InterfaceStatus): AutoconfAddress | null {
  for (const a of status.inet6) {
    if (!a.flags.includes('autoconf') || a.flags.some((flag) => UNUSABLE.has(flag))) continue;
    // SLAAC forms addresses from /64 prefixes only (RFC 4862 §5.5.3 with RFC 4291 §2.5.1's 64-bit interface ids).
    if (a.prefixlen !== 64 || isLinkLocal(a.address)) continue;
    return { address: a.address, prefix: { address: a.address & ipv6Mask(64), length: 64 } };
  }
  return null;
}

/** The /64 of the first usable autoconf address, or null when there is none. */
export function autoconfPrefix(status: InterfaceStatus): Ipv6Prefix | null {
  return autoconfAddress(status)?.prefix ?? null;
}
