/**
 * Lightweight 4over6 (RFC 7596): the lwB4 is given its IPv4 address, PSID,
 * PSID length and offset outright (nothing is derived from EA bits), NATs
 * into that port set like a MAP-E CE, and tunnels to the lwAFTR.
 *
 * The tunnel source (RFC 7596 §5.1; RFC 7598 §5.3): the binding IPv6 prefix
 * tells which of the CE's delegated prefixes to build it from; the address is
 * that prefix's first /64 (subnet ID zero) with the interface identifier of
 * RFC 7597 §6, | 16 bits 0 | IPv4 address | PSID |, PSID 0 without sharing.
 * A binding /128 is the address itself, and must lie in the delegated
 * prefix like any other: maped adds it to the WAN, and an address from
 * outside (a server's, a DNS resolver's, fe80::1) would answer there in its
 * owner's place. A bind prefix that does not cover the end-user prefix (nor
 * lie inside it) names a prefix this CE was not delegated, and is refused.
 */
import {
  ceIPv6Address,
  err,
  formatIpv6,
  formatIpv6Prefix,
  interfaceId,
  ipv6PrefixCovers,
  ok,
  portSet,
  subnet64,
  type Ipv6Prefix,
  type Result,
} from '../map/index.js';
import { notUnicast } from './endpoint.js';
import { NO_ADDRESS, PLACEHOLDER_PEER, type AddressTest, type Softwire, type SoftwireOrigin } from './types.js';

export interface Lw4o6Binding {
  readonly ipv4: number;
  readonly psidOffset: number;
  /** 0: the address is not shared. */
  readonly psidLen: number;
  readonly psid: number;
  /** null: the end-user prefix itself (a static block without bind-prefix). */
  readonly bindPrefix: Ipv6Prefix | null;
  readonly aftr: bigint;
  readonly aftrName?: string | null;
}

/** RFC 7598 §4.5: offset 0-15, length 0-16, offset + length ≤ 16, PSID < 2^length. */
export function checkPortParams(psidOffset: number, psidLen: number, psid: number): string | null {
  if (!Number.isInteger(psidOffset) || psidOffset < 0 || psidOffset > 15) return `psid-offset ${psidOffset} out of range (0-15)`;
  if (!Number.isInteger(psidLen) || psidLen < 0 || psidLen > 16) return `psid-len ${psidLen} out of range (0-16)`;
  if (psidLen > 0 && psidOffset + psidLen > 16) return `psid-offset ${psidOffset} + psid-len ${psidLen} exceed 16 bits`;
  if (!Number.isInteger(psid) || psid < 0 || psid >= 2 ** psidLen) {
    return `psid ${psid} does not fit psid-len ${psidLen} (0-${2 ** psidLen - 1})`;
  }
  return null;
}

/** The lwB4's tunnel source from its binding prefix and the delegated prefix. */
export function lw4o6TunnelSource(binding: Pick<Lw4o6Binding, 'ipv4' | 'psidLen' | 'psid' | 'bindPrefix'>, endUserPrefix: Ipv6Prefix): Result<bigint> {
  const bind = binding.bindPrefix ?? endUserPrefix;
  let base: Ipv6Prefix;
  if (ipv6PrefixCovers(endUserPrefix, bind)) base = bind;
  else if (ipv6PrefixCovers(bind, endUserPrefix)) base = endUserPrefix;
  else {
    return err(`bind prefix ${formatIpv6Prefix(bind)} is not part of the delegated prefix ${formatIpv6Prefix(endUserPrefix)}`);
  }
  const psid = binding.psidLen === 0 ? 0 : binding.psid;
  const source = base.length === 128 ? base.address : ceIPv6Address(base, interfaceId('rfc7597', binding.ipv4, psid));
  // A delegated prefix is global unicast; this keeps a fe80::/64 or ff02::/16 "delegation" off the WAN too.
  const notSource = notUnicast(source);
  return notSource === null ? ok(source) : err(`tunnel source ${formatIpv6(source)} is ${notSource}, not a unicast address`);
}

/**
 * The tunnel sources an lw4o6 softwire's IPv4 address and PSID give under
 * any delegated prefix (a binding prefix that changes with the lease):
 * lw4o6TunnelSource built in the /64 the address lies in gives the address
 * back. The interface identifier repeats the IPv4 address and PSID the
 * lwAFTR bound to this lwB4 alone (RFC 7596 §5.1), so another host's /128
 * on the WAN, in the same prefix or not, is not taken. A binding /128 is
 * not made from a prefix: it has no other forms (the softwire's own source
 * is recognised as such, src/softwire/added-address.ts).
 */
export function lw4o6SourcesElsewhere(softwire: Softwire): AddressTest {
  const nat = softwire.nat;
  const shared = nat.into === 'portset';
  const binding = { ipv4: softwire.ipv4.address, psidLen: shared ? nat.psidLen : 0, psid: shared ? nat.psid : 0, bindPrefix: null };
  const made = (address: bigint): boolean => {
    const source = lw4o6TunnelSource(binding, subnet64(address));
    return source.ok && source.value === address;
  };
  return made(softwire.tunnel.source) ? made : NO_ADDRESS;
}

export function lw4o6Softwire(binding: Lw4o6Binding, endUserPrefix: Ipv6Prefix, origin: SoftwireOrigin): Result<Softwire> {
  const bad = checkPortParams(binding.psidOffset, binding.psidLen, binding.psid);
  if (bad !== null) return err(`lw4o6: ${bad}`);
  const source = lw4o6TunnelSource(binding, endUserPrefix);
  if (!source.ok) return err(`lw4o6: ${source.error}`);
  const set = portSet(binding.psidOffset, binding.psidLen, binding.psid);
  return ok({
    kind: 'lw4o6',
    origin,
    tunnel: { source: source.value, remote: binding.aftr },
    ipv4: { address: binding.ipv4 >>> 0, prefixLen: 32, peer: PLACEHOLDER_PEER },
    nat:
      binding.psidLen === 0
        ? { into: 'address' }
        : {
            into: 'portset',
            psidOffset: binding.psidOffset,
            psidLen: binding.psidLen,
            psid: binding.psid,
            portSets: set.ranges,
            portCount: set.count,
          },
    rule: null,
    remoteName: binding.aftrName ?? null,
    warnings: [],
  });
}
