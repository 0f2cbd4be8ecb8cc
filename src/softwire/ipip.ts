/**
 * IPv4 in IPv6 with a fixed IPv4 address (RFC 2473 generic packet tunnelling;
 * the "fixed IP" services of Japanese access networks): both tunnel ends are
 * given, and the IPv4 address is the CE's alone, so NAT uses every port.
 *
 * Given a prefix rather than a /32, the CE takes its first host address (the
 * network address + 1, RFC 1122 §3.2.1.3 reserves the all-zeros host; a /31
 * has no such reservation, RFC 3021) and the admin routes the rest.
 */
import { err, formatIpv4Prefix, ok, type Ipv4Prefix, type Result } from '../map/index.js';
import { PLACEHOLDER_PEER, type Softwire, type SoftwireOrigin } from './types.js';

export interface IpipParams {
  readonly local: bigint;
  readonly remote: bigint;
  readonly ipv4: Ipv4Prefix;
  /** The CE's address inside `ipv4` when the provider named one (HB46PP); absent or null: the first host. */
  readonly host?: number | null;
}

export function ipipHostAddress(prefix: Ipv4Prefix): Result<number> {
  if (prefix.length >= 31) return ok(prefix.address >>> 0);
  if (prefix.length < 8) return err(`ipv4 ${formatIpv4Prefix(prefix)}: a prefix shorter than /8 is not a fixed address`);
  return ok((prefix.address + 1) >>> 0);
}

export function ipipSoftwire(params: IpipParams, origin: SoftwireOrigin): Result<Softwire> {
  if (params.local === params.remote) return err('ipip: local and remote are the same address');
  const first = ipipHostAddress(params.ipv4);
  if (!first.ok) return err(`ipip: ${first.error}`);
  const address = params.host === undefined || params.host === null ? first.value : params.host >>> 0;
  return ok({
    kind: 'ipip',
    origin,
    tunnel: { source: params.local, remote: params.remote },
    ipv4: { address, prefixLen: params.ipv4.length, peer: PLACEHOLDER_PEER },
    nat: { into: 'address' },
    rule: null,
    remoteName: null,
    warnings: [],
  });
}
