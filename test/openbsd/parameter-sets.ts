/**
 * The three operator parameter sets of the goldens, derived with src/map
 * (never hard-coded): Cosmote (RFC 7597 interface id), v6plus (draft-03) and
 * OpenSync. `shared: false` gives the same rule with ea-len 32 − r, a full
 * IPv4 address without a PSID, for the unrestricted mode.
 */
import { deriveMap, parseIpv4Prefix, parseIpv6, parseIpv6Prefix, type InterfaceIdFormat, type MapParams, type Result } from '../../src/map/index.js';
import { desiredState, type DesiredState, type DesiredStateInput } from '../../src/openbsd/index.js';

export interface ParameterSet {
  readonly name: string;
  readonly ipv6Prefix: string;
  readonly ipv4Prefix: string;
  readonly eaLen: number;
  readonly psidOffset: number;
  readonly endUserPrefix: string;
  readonly interfaceId: InterfaceIdFormat;
  readonly br: string;
}

export const PARAMETER_SETS: readonly ParameterSet[] = [
  {
    name: 'cosmote',
    ipv6Prefix: '2a02:586:6200::/42',
    ipv4Prefix: '87.202.58.0/24',
    eaLen: 14,
    psidOffset: 6,
    endUserPrefix: '2a02:586:6234:bf00::/56',
    interfaceId: 'rfc7597',
    br: '2a02:586::406',
  },
  {
    name: 'v6plus',
    ipv6Prefix: '240b:10::/31',
    ipv4Prefix: '106.72.0.0/15',
    eaLen: 25,
    psidOffset: 4,
    endUserPrefix: '240b:10:3251:6400::/56',
    interfaceId: 'draft03',
    br: '2404:9200:225:100::64',
  },
  {
    name: 'opensync',
    ipv6Prefix: '2001:ee2:1704::/48',
    ipv4Prefix: '192.0.2.0/24',
    eaLen: 16,
    psidOffset: 4,
    endUserPrefix: '2001:ee2:1704:99ff::/64',
    interfaceId: 'rfc7597',
    br: '2001:db8:ffff::1',
  },
];

function value<T>(r: Result<T>): T {
  if (!r.ok) throw new Error(r.error);
  return r.value;
}

export function deriveSet(set: ParameterSet, shared = true): MapParams {
  const ipv4Prefix = value(parseIpv4Prefix(set.ipv4Prefix));
  return value(
    deriveMap({
      rule: {
        ipv6Prefix: value(parseIpv6Prefix(set.ipv6Prefix)),
        ipv4Prefix,
        eaLen: shared ? set.eaLen : 32 - ipv4Prefix.length,
        psidOffset: set.psidOffset,
      },
      endUserPrefix: value(parseIpv6Prefix(set.endUserPrefix)),
      portParams: null,
      interfaceId: set.interfaceId,
    }),
  );
}

export function desiredFor(
  set: ParameterSet,
  mode: 'kernel' | 'stock' | 'unrestricted',
  overrides: Partial<DesiredStateInput> = {},
): DesiredState {
  return value(
    desiredState({
      wan: 'em0',
      tunnel: 'gif0',
      mtu: 'auto',
      wanMtu: 1500,
      map: deriveSet(set, mode !== 'unrestricted'),
      br: value(parseIpv6(set.br)),
      natFrom: [value(parseIpv4Prefix('192.168.1.0/24'))],
      anchor: 'maped',
      portset: mode === 'kernel' ? 'kernel' : 'stock',
      ...overrides,
    }),
  );
}
