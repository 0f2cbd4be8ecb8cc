/**
 * A MAP mapping rule (RFC 7597 §5) and what the CE derives from it.
 */
import type { Ipv4Prefix, Ipv6Prefix } from './address.js';

/** RFC 7597 §5.1: "6 by default, as this excludes the system ports (0-1023)". */
export const DEFAULT_PSID_OFFSET = 6;

/** RFC 7597 §5.2 and RFC 7598 §4.1: the EA-bit field is 0 to 48 bits long. */
export const MAX_EA_LEN = 48;

export type InterfaceIdFormat = 'rfc7597' | 'draft03';

export interface MapRule {
  readonly ipv6Prefix: Ipv6Prefix;
  readonly ipv4Prefix: Ipv4Prefix;
  /** o: EA-bit length, 0–48. */
  readonly eaLen: number;
  /** a: PSID offset, 0–15 (16 only where no PSID is used). */
  readonly psidOffset: number;
}

/**
 * Port parameters given apart from the EA bits (RFC 7598 §4.5 S46_PORTPARAMS,
 * or a static `psid-len`/`psid` in maped.conf). `psid` is right-aligned.
 * A null `psid` only states the PSID length and must agree with the EA bits.
 */
export interface ExplicitPortParams {
  readonly psidLen: number;
  readonly psid: number | null;
}

/** An inclusive range of ports, `[first, last]`. */
export type PortRange = readonly [first: number, last: number];

export interface MapParams {
  /** The IPv4 address, or the first address of the IPv4 prefix. */
  readonly ipv4: number;
  /** 32 for a full or shared address; less for an IPv4 prefix. */
  readonly ipv4PrefixLen: number;
  readonly psidOffset: number;
  /** k: 0 means the address is not shared. */
  readonly psidLen: number;
  /** Right-aligned; 0 when psidLen is 0. */
  readonly psid: number;
  readonly ceIPv6: bigint;
  readonly portSets: readonly PortRange[];
  readonly portCount: number;
  /** Things an operator should know that do not stop the derivation. */
  readonly warnings: readonly string[];
}
