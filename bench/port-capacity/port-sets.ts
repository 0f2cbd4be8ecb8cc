/**
 * The port sets the bench measures, each with the anchor maped writes for it
 * in stock mode. Only the shape (a, k) and the PSID bear on capacity; the
 * addresses are those of the project's golden parameter sets, or
 * documentation addresses (RFC 3849, RFC 5737) where no real one is needed.
 */
import { portSet } from '../../src/map/index.js';
import { renderAnchor, type DesiredState } from '../../src/openbsd/index.js';
import { desiredFor, PARAMETER_SETS, type ParameterSet } from '../../test/openbsd/parameter-sets.js';

export interface BenchSet {
  readonly name: string;
  readonly a: number;
  readonly k: number;
  readonly psid: number;
  readonly size: number;
  readonly ranges: number;
  /** What maped loads with `pf portset stock`. */
  readonly stock: DesiredState;
}

function golden(name: string): ParameterSet {
  const set = PARAMETER_SETS.find((s) => s.name === name);
  if (set === undefined) throw new Error(`no parameter set ${name}`);
  return set;
}

const SOURCES: readonly [label: string, set: ParameterSet][] = [
  ['v6plus', golden('v6plus')],
  [
    // NTT OCN's MAP-E service uses a = 6, k = 6 (1008 ports in 63 ranges).
    'OCN',
    {
      name: 'ocn-shape',
      ipv6Prefix: '2001:db8:4000::/42',
      ipv4Prefix: '198.51.100.0/24',
      eaLen: 14,
      psidOffset: 6,
      endUserPrefix: '2001:db8:4012:3400::/56',
      interfaceId: 'rfc7597',
      br: '2001:db8:ffff::1',
    },
  ],
  ['Cosmote', golden('cosmote')],
  [
    // RFC 7597 Appendix B example 1 (the README's status): a = 6, k = 8, PSID 52.
    'RFC 7597',
    {
      name: 'rfc7597',
      ipv6Prefix: '2001:db8::/40',
      ipv4Prefix: '192.0.2.0/24',
      eaLen: 16,
      psidOffset: 6,
      endUserPrefix: '2001:db8:12:3400::/56',
      interfaceId: 'rfc7597',
      br: '2001:db8:ffff::1',
    },
  ],
];

export function benchSets(): BenchSet[] {
  return SOURCES.map(([name, source]) => {
    const stock = desiredFor(source, 'stock');
    const set = portSet(stock.psidOffset, stock.psidLen, stock.psid);
    return { name, a: stock.psidOffset, k: stock.psidLen, psid: stock.psid, size: set.count, ranges: set.ranges.length, stock };
  });
}

export function stockAnchorText(set: BenchSet): string {
  return renderAnchor(set.stock);
}
