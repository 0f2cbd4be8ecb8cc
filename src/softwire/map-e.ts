/**
 * MAP-E (RFC 7597): the derivation lives in src/map; this turns its result
 * into the generic softwire resources. The CE address is the tunnel source
 * (§5.2) and the BR the remote end (§5.4); the address is shared by port set
 * unless the rule leaves no PSID bits (psid-len 0, §5.2), when it is ours whole.
 */
import type { MapParams } from '../map/index.js';
import { PLACEHOLDER_PEER, type RuleInForce, type Softwire, type SoftwireOrigin } from './types.js';

export interface MapESoftwireInput {
  readonly origin: SoftwireOrigin;
  readonly rule: RuleInForce;
  readonly params: MapParams;
  readonly br: bigint;
  readonly warnings: readonly string[];
}

export function mapESoftwire(input: MapESoftwireInput): Softwire {
  const p = input.params;
  return {
    kind: 'map-e',
    origin: input.origin,
    tunnel: { source: p.ceIPv6, remote: input.br },
    ipv4: { address: p.ipv4 >>> 0, prefixLen: p.ipv4PrefixLen, peer: PLACEHOLDER_PEER },
    nat:
      p.psidLen === 0
        ? { into: 'address' }
        : { into: 'portset', psidOffset: p.psidOffset, psidLen: p.psidLen, psid: p.psid, portSets: p.portSets, portCount: p.portCount },
    rule: input.rule,
    remoteName: null,
    warnings: [...input.warnings],
  };
}
