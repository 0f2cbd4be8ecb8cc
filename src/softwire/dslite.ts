/**
 * Dual-Stack Lite, the B4 side (RFC 6333): IPv4 is tunnelled unchanged to the
 * AFTR, which translates it (the B4 does no NAT44, §5), so the CE needs
 * no public IPv4 address: gif carries 192.0.0.2 towards 192.0.0.1, the
 * addresses reserved for B4 and AFTR (§5.7), and the default route points at
 * 192.0.0.1.
 *
 * The tunnel source is an address of the CE's own in its delegated prefix,
 * added to the WAN like the MAP-E CE address: the prefix's first /64 with
 * the RFC 7597 §6 interface identifier of 192.0.0.2 (`::c000:2:0`), an
 * identifier no SLAAC host or hand-numbered LAN interface picks by accident.
 */
import { ceIPv6Address, interfaceId, ok, type Ipv6Prefix, type Result } from '../map/index.js';
import type { Softwire, SoftwireOrigin } from './types.js';

/** RFC 6333 §5.7: 192.0.0.2 for the B4, 192.0.0.1 for the AFTR. */
export const B4_ADDRESS = 0xc0000002;
export const AFTR_ADDRESS = 0xc0000001;

export interface DsliteParams {
  readonly aftr: bigint;
  readonly aftrName: string | null;
}

export function dsliteTunnelSource(endUserPrefix: Ipv6Prefix): bigint {
  return ceIPv6Address(endUserPrefix, interfaceId('rfc7597', B4_ADDRESS, 0));
}

export function dsliteSoftwire(params: DsliteParams, endUserPrefix: Ipv6Prefix, origin: SoftwireOrigin): Result<Softwire> {
  return ok({
    kind: 'dslite',
    origin,
    tunnel: { source: dsliteTunnelSource(endUserPrefix), remote: params.aftr },
    ipv4: { address: B4_ADDRESS, prefixLen: 32, peer: AFTR_ADDRESS },
    nat: { into: 'none' },
    rule: null,
    remoteName: params.aftrName,
    warnings: [],
  });
}
