/**
 * Dual-Stack Lite, the B4 side (RFC 6333): IPv4 is tunnelled unchanged to the
 * AFTR, which translates it (the B4 does no NAT44, §5), so the CE needs
 * no public IPv4 address: gif carries 192.0.0.2 towards 192.0.0.1, the
 * addresses reserved for B4 and AFTR (§5.7), and the default route points at
 * 192.0.0.1.
 *
 * The tunnel source is an IPv6 address of the B4's own (RFC 6333 §5: the
 * B4 encapsulates from its IPv6 address). With a delegated prefix it is an
 * address maped adds to the WAN like the MAP-E CE address: the prefix's
 * first /64 with the RFC 7597 §6 interface identifier of 192.0.0.2
 * (`::c000:2:0`), an identifier no SLAAC host or hand-numbered LAN
 * interface picks by accident. Without one (`prefix autoconf`: the WAN has
 * only its SLAAC address) it is that address itself: it is the one the
 * access network knows this CE by, and an address maped made up beside it
 * in the WAN's /64 would be an extra neighbour the router must resolve.
 */
import { ceIPv6Address, err, interfaceId, ok, subnet64, type Ipv6Prefix, type Result } from '../map/index.js';
import type { AddressTest, Softwire, SoftwireOrigin } from './types.js';

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

/**
 * The B4 addresses maped adds under any delegated prefix: 192.0.0.2's
 * interface identifier in the /64 the address lies in, as
 * dsliteTunnelSource makes it for the prefix then delegated.
 */
export const dsliteSourcesElsewhere: AddressTest = (address) => dsliteTunnelSource(subnet64(address)) === address;

/**
 * `wanAddress`: the WAN's own global address when no prefix is delegated
 * (the tunnel source then), null with a delegated prefix.
 */
export function dsliteSoftwire(
  params: DsliteParams,
  endUserPrefix: Ipv6Prefix,
  origin: SoftwireOrigin,
  wanAddress: bigint | null = null,
): Result<Softwire> {
  const tunnel =
    wanAddress === null
      ? { source: dsliteTunnelSource(endUserPrefix), remote: params.aftr }
      : { source: wanAddress, remote: params.aftr, onWan: true };
  if (tunnel.source === params.aftr) return err('dslite: the AFTR is the tunnel source itself');
  return ok({
    kind: 'dslite',
    origin,
    tunnel,
    ipv4: { address: B4_ADDRESS, prefixLen: 32, peer: AFTR_ADDRESS },
    nat: { into: 'none' },
    rule: null,
    remoteName: params.aftrName,
    warnings: [],
  });
}
