/**
 * A softwire is a value with a kind. Whatever the kind, maped configures the
 * same few things on OpenBSD — a gif(4) tunnel between two IPv6 ends, an IPv4
 * address on it, the local end as a /128 on the WAN, a default route and a pf
 * anchor — so each kind's module turns its parameters into these generic
 * resources, and the plan, the ownership record and the status read only
 * them (never the kind, except to name it).
 */
import type { PortRange } from '../map/index.js';

export const SOFTWIRE_KINDS = ['map-e', 'lw4o6', 'ipip', 'dslite'] as const;
export type SoftwireKind = (typeof SOFTWIRE_KINDS)[number];

/** Where the parameters came from; `provisioning` is HB46PP's. */
export const SOFTWIRE_ORIGINS = ['dhcpv6', 'provisioning', 'static'] as const;
export type SoftwireOrigin = (typeof SOFTWIRE_ORIGINS)[number];

/**
 * What pf translates sources into on the tunnel:
 * - portset: the shared address, only the ports of one PSID (RFC 7597 §5.1, RFC 7596 §5.1);
 * - address: the whole address, every port (RFC 7597 psid-len 0, IPIP);
 * - none: no NAT44 on the CE, the far end translates (RFC 6333 §5: the B4 only encapsulates).
 */
export type NatInto =
  | {
      readonly into: 'portset';
      readonly psidOffset: number;
      readonly psidLen: number;
      /** Right-aligned. */
      readonly psid: number;
      readonly portSets: readonly PortRange[];
      readonly portCount: number;
    }
  | { readonly into: 'address' }
  | { readonly into: 'none' };

/** The MAP rule in force, for status (MAP-E only). */
export interface RuleInForce {
  readonly ipv6Prefix: string;
  readonly ipv4Prefix: string;
  readonly eaLen: number;
  readonly psidOffset: number;
}

export interface Softwire {
  readonly kind: SoftwireKind;
  readonly origin: SoftwireOrigin;
  /** The tunnel's local end, added to the WAN as a /128; the remote end: BR, lwAFTR, AFTR or IPIP peer. */
  readonly tunnel: {
    readonly source: bigint;
    readonly remote: bigint;
    /**
     * The source is the WAN's own address (DS-Lite without a delegated
     * prefix): already there, so maped neither adds nor removes it, and
     * one gone from the WAN is a fault to wait out, not an alias to add.
     */
    readonly onWan?: boolean;
  };
  /**
   * The IPv4 address on gif, the length of what it stands for (32, or the
   * prefix the CE was given) and the point-to-point peer the default route
   * points at.
   */
  readonly ipv4: { readonly address: number; readonly prefixLen: number; readonly peer: number };
  readonly nat: NatInto;
  readonly rule: RuleInForce | null;
  /** The AFTR's name when it was given as one (DS-Lite, lw4o6), for status and logs. */
  readonly remoteName: string | null;
  /** Things an operator should know that do not stop the softwire. */
  readonly warnings: readonly string[];
}

/** The point-to-point peer of every kind but DS-Lite: a placeholder, the tunnel has no IPv4 next hop. */
export const PLACEHOLDER_PEER = 0x00000001;

/** One line for logs: `lw4o6 203.0.113.16 psid 3/8 (1008 ports) via 2001:db8:ffff::2`. */
export function portsText(nat: NatInto): string {
  if (nat.into === 'portset') return ` psid ${nat.psid}/${nat.psidLen} (${nat.portCount} ports)`;
  return nat.into === 'address' ? ' (all ports)' : ' (no NAT44 on the CE)';
}

/**
 * Whether an address is one of ours: after a lost ownership record, the /128s
 * on the WAN a test accepts are adopted (docs/architecture.md §3.6).
 */
export type AddressTest = (address: bigint) => boolean;

export const NO_ADDRESS: AddressTest = () => false;
