/**
 * Stock pf (`pf portset stock`): which translated port a new outbound TCP
 * connection gets, or none.
 *
 * pf.c 1.1218 `pf_match_rule` (lines 4084–4354): every `match` rule that
 * matches calls `pf_get_transaddr` at once (lines 4264–4265), and a -1 from
 * it ends the evaluation with PFRES_TRANSLATE (lines 4266–4268) — the packet
 * is dropped, even if a later rule would have
 * translated it into a range with room. The state takes the port of the last
 * nat-to rule that matched. So a connection is carried only if the port
 * search of *every* nat-to rule it matches succeeds: {@link NatChain} says
 * which ranges those are, {@link searchRange} searches one.
 */
import type { PortRange } from '../../src/map/index.js';
import { searchPortRange } from '../../test/support/pf-model/index.js';
import { inBadDynamicTcp } from './bad-dynamic.js';
import type { NatStates } from './nat-states.js';
import type { Prng } from './prng.js';

/** How the anchor's rules treat one new outbound TCP SYN. */
export interface NatChain {
  /**
   * The `port lo:hi` of each nat-to rule the packet matches, in the order pf
   * evaluates them (a nat-to without `port` searches 50001:65535, pfctl's
   * default). `rng` stands in for the kernel's arc4random. The array is
   * the chain's own, valid until the next call.
   */
  natRanges(rng: Prng): readonly PortRange[];
}

/** What pf_get_sport returns when no port is free: 1, and pf_get_transaddr turns it into -1. */
export const NO_PORT = -1;

/**
 * pf_lb.c 1.76 `pf_get_sport` (lines 123–251) for TCP with one translation
 * address, the `(gif0)` of maped's rules: the search of one range by
 * test/support/pf-model's {@link searchPortRange} (which cites the lines),
 * over the bench's state table, with in_baddynamic()'s TCP list and the
 * bench's seeded draws; with every port busy, lines 231–249 ask pf_map_addr
 * for the pool's next address, and `(gif0)` holds one: return 1, no port
 * (line 250).
 * Lines 179–186 (low = high = 0: static-port) never apply: maped never
 * writes static-port, and a nat-to without `port` gets 50001:65535. Lines
 * 168–178 (protocols without ports) do not either: the model is TCP only.
 */
export function searchRange(states: NatStates, destination: number, range: PortRange, rng: Prng): number {
  const port = searchPortRange(range[0], range[1], (p) => states.has(destination, p), inBadDynamicTcp, (below) => rng.uniform(below));
  return port ?? NO_PORT;
}

/**
 * One new connection under stock pf: every matching nat-to rule searches its
 * range in turn (each search only looks, none takes a port), the last one
 * decides. NO_PORT if any search fails, or if no nat-to rule matched (the
 * packet would leave with its private source, and the BR drops it).
 */
export function stockPick(chain: NatChain, states: NatStates, destination: number, rng: Prng): number {
  const ranges = chain.natRanges(rng);
  let port = NO_PORT;
  for (let i = 0; i < ranges.length; i++) {
    port = searchRange(states, destination, ranges[i]!, rng);
    if (port === NO_PORT) return NO_PORT;
  }
  return port;
}
