/**
 * What an admin wants to know from one run, computed the same way for both
 * modes from the workload and the ports the mode chose:
 * - connections carried before the first NAT failure, and how many were
 *   open then (as a share of the physical limit);
 * - for the destination that failed first: how many ports of its set were
 *   still free, and how full its fullest and emptiest range were ("how
 *   evenly the ranges fill");
 * - the most connections open at once;
 * - the failure rate against the ports in use: every new connection counts
 *   in the bin of the connections open when it arrived.
 * A port outside the port set (a nat-to without `port` deciding) is a
 * failure too: the BR drops it (RFC 7597 §8.2).
 */
import type { Workload } from './workload.js';

/** Bins of 5 % of the physical limit below it; bin BINS holds the attempts made with the limit reached. */
export const BINS = 20;

export interface RunFigures {
  /** Connections carried before the first failure (all of them if none failed). */
  readonly carriedBeforeFailure: number;
  readonly failed: boolean;
  /** Connections open when the first failure happened, / physical limit. */
  readonly inUseAtFailure: number | null;
  /** Ports of the failing destination's set still free then. */
  readonly freeAtFailure: number | null;
  /** Fill of that destination's ranges then: [emptiest, fullest], each 0..1. */
  readonly rangeFillAtFailure: readonly [number, number] | null;
  /** The most connections open at once, / physical limit. */
  readonly peakOpen: number;
  /** Per bin of (open connections / limit), BINS + 1 of them: [attempts, failures]. */
  readonly bins: readonly (readonly [number, number])[];
}

export interface SetShape {
  readonly a: number;
  readonly k: number;
  readonly psid: number;
  /** Ports in the set. */
  readonly size: number;
}

export function runFigures(workload: Workload, outcomes: Int32Array, set: SetShape): RunFigures {
  const m = 16 - set.a - set.k;
  const ranges = 2 ** set.a - 1;
  const rangeSize = 2 ** m;
  const inSet = (port: number): boolean => port > 0 && port >>> (16 - set.a) >= 1 && ((port >>> m) & (2 ** set.k - 1)) === set.psid;
  const perDestination = new Int32Array(workload.destinations);
  const perRange = new Int32Array(workload.destinations * ranges);
  const destinationOf = new Int32Array(workload.arrivals);
  const bins: [number, number][] = Array.from({ length: BINS + 1 }, () => [0, 0]);
  let open = 0;
  let connections = 0;
  let carried = 0;
  let peak = 0;
  let first: Pick<RunFigures, 'inUseAtFailure' | 'freeAtFailure' | 'rangeFillAtFailure'> | null = null;
  const events = workload.events;
  for (let i = 0; i < events.length; i++) {
    const event = events[i]!;
    if (event < 0) {
      const id = -1 - event;
      const port = outcomes[id]!;
      if (!inSet(port)) continue;
      const d = destinationOf[id]!;
      open--;
      perDestination[d]!--;
      perRange[d * ranges + (port >>> (16 - set.a)) - 1]!--;
      continue;
    }
    const port = outcomes[connections]!;
    destinationOf[connections++] = event;
    const bin = bins[open >= workload.limit ? BINS : Math.min(BINS - 1, Math.floor((open / workload.limit) * BINS))]!;
    bin[0]++;
    if (!inSet(port)) {
      bin[1]++;
      if (first === null) {
        let low = 1;
        let high = 0;
        for (let r = 0; r < ranges; r++) {
          const fill = perRange[event * ranges + r]! / rangeSize;
          low = Math.min(low, fill);
          high = Math.max(high, fill);
        }
        first = { inUseAtFailure: open / workload.limit, freeAtFailure: set.size - perDestination[event]!, rangeFillAtFailure: [low, high] };
      }
      continue;
    }
    if (first === null) carried++;
    if (++open > peak) peak = open;
    perDestination[event]!++;
    perRange[event * ranges + (port >>> (16 - set.a)) - 1]!++;
  }
  return {
    carriedBeforeFailure: carried,
    failed: first !== null,
    inUseAtFailure: first?.inUseAtFailure ?? null,
    freeAtFailure: first?.freeAtFailure ?? null,
    rangeFillAtFailure: first?.rangeFillAtFailure ?? null,
    peakOpen: peak / workload.limit,
    bins,
  };
}
