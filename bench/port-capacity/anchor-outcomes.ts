/**
 * Which port ranges pf searches for one new outbound TCP connection, read
 * from the anchor maped loads by the model of pf's rule evaluation in
 * test/support/pf-model (the one the anchor's tests use): the anchor is put
 * in the main ruleset the manual pages tell an admin to write (adminPfConf:
 * OpenBSD 7.8's default pf.conf, an admin's block rule, `anchor "maped"`),
 * and `outcomes()` follows every `probability` draw both ways, giving each
 * distinct verdict with its exact chance (sys/net/pf.c 1.1218 pf_test_rule
 * and pf_match_rule, as test/support/pf-model/evaluate.ts quotes them).
 *
 * pf draws `arc4random_uniform(UINT_MAX - 1) + 1` afresh for every rule of
 * every packet, so one connection's verdict is a draw from that exact
 * distribution, independent of every other: the bench draws it with its
 * seeded generator instead of drawing each rule's probability in turn — the
 * same distribution, at the cost of a binary search per connection instead
 * of an evaluation of the whole ruleset.
 */
import { formatIpv4 } from '../../src/map/index.js';
import type { PortRange } from '../../src/map/index.js';
import { adminPfConf, outcomes, parseRuleset, type Environment, type Outcome, type Packet } from '../../test/support/pf-model/index.js';
import type { Prng } from './prng.js';
import type { NatChain } from './stock-model.js';

export interface AnchorPacket {
  /** The tunnel interface the packet leaves on (gif0). */
  readonly tunnel: string;
  /** The address `(tunnel)` stands for: the MAP IPv4 address. */
  readonly tunnelAddress: number;
  /** The LAN host's address. */
  readonly source: number;
}

/** Documentation addresses (RFC 5737) standing for the workload's destinations. */
const DESTINATIONS = ['198.51.100.10', '203.0.113.200'] as const;

/** A probability as a 53-bit fraction, exactly rounded down: the chances' denominators run to thousands of bits. */
function fraction53(n: bigint, d: bigint): number {
  return Number((n << 53n) / d) / 2 ** 53;
}

interface Branch {
  /** Upper end of this verdict's share of [0, 1). */
  readonly below: number;
  /** The pools searched, in order; empty: the connection fails (dropped, or left untranslated). */
  readonly ranges: readonly PortRange[];
}

/** The pools of one verdict, or [] when it carries no connection; throws on what the bench does not model. */
function rangesOf(outcome: Outcome, packet: AnchorPacket): PortRange[] {
  const v = outcome.verdict;
  // A block (the admin's or a failed translation) or a packet leaving with its private source: the BR drops it.
  if (v.action !== 'pass' || v.pools.length === 0) return [];
  return v.pools.map((pool) => {
    if (pool.mapePortset !== null) throw new Error('the stock model was given a map-e-portset rule');
    if (pool.address !== formatIpv4(packet.tunnelAddress)) throw new Error(`anchor rule not modelled: nat-to ${pool.address}, not (${packet.tunnel})`);
    return [pool.low, pool.high] as PortRange;
  });
}

function verdicts(anchorText: string, packet: AnchorPacket, destination: string): Branch[] {
  const ruleset = parseRuleset(adminPfConf(), { maped: anchorText });
  const env: Environment = {
    interfaces: {
      lo0: { addresses: ['127.0.0.1/8'], groups: ['lo'] },
      [packet.tunnel]: { addresses: [`${formatIpv4(packet.tunnelAddress)}/32`], groups: ['gif'] },
    },
  };
  const syn: Packet = { dir: 'out', ifname: packet.tunnel, af: 'inet', proto: 'tcp', src: formatIpv4(packet.source), srcPort: 40000, dst: destination, dstPort: 443, tcpFlags: 'S' };
  let sum = 0;
  const branches: Branch[] = [];
  for (const outcome of outcomes(ruleset, syn, env)) {
    sum += fraction53(outcome.chance.n, outcome.chance.d);
    branches.push({ below: sum, ranges: rangesOf(outcome, packet) });
  }
  // The chances add up to 1 exactly; their 53-bit roundings to 1 − a few ulps: the last branch takes the rest.
  if (branches.length === 0 || Math.abs(sum - 1) > 1e-9) throw new Error(`the verdicts' chances add up to ${sum}, not 1`);
  branches[branches.length - 1] = { ...branches[branches.length - 1]!, below: 1 };
  return branches;
}

const key = (branches: readonly Branch[]): string => JSON.stringify(branches.map((b) => [b.below.toPrecision(12), b.ranges]));

/**
 * The chain of an anchor's text for packets like `packet`. The bench's
 * destinations are interchangeable only if no rule tells them apart: the
 * verdicts for two destinations must be the same, else this throws.
 */
export function anchorNatChain(anchorText: string, packet: AnchorPacket): NatChain {
  const [first, ...others] = DESTINATIONS.map((destination) => verdicts(anchorText, packet, destination));
  for (const other of others) if (key(other) !== key(first!)) throw new Error('the anchor treats destinations differently: not modelled by the bench');
  const branches = first!;
  const below = Float64Array.from(branches, (b) => b.below);
  const ranges = branches.map((b) => b.ranges);
  return {
    natRanges(rng: Prng): readonly PortRange[] {
      const u = rng.unit53();
      // The first branch whose share ends above u.
      let lo = 0;
      let hi = below.length - 1;
      while (lo < hi) {
        const mid = (lo + hi) >> 1;
        if (u < below[mid]!) hi = mid;
        else lo = mid + 1;
      }
      return ranges[lo]!;
    },
  };
}
