/**
 * Every (port set, workload, mode) cell of the bench: `runs` seeded runs
 * each, the same workloads for both modes.
 */
import { anchorNatChain } from './anchor-outcomes.js';
import { runFigures, BINS, type RunFigures } from './figures.js';
import type { KernelPicker } from './kernel-picker.js';
import { stockAnchorText, type BenchSet } from './port-sets.js';
import { runStock } from './simulate.js';
import { generateWorkload } from './workload.js';

export const MODES = ['kernel', 'stock'] as const;
export type Mode = (typeof MODES)[number];

export interface CellFigures {
  readonly set: BenchSet;
  readonly destinations: number;
  readonly limit: number;
  readonly mode: Mode;
  readonly runs: readonly RunFigures[];
  /** Failures / attempts per bin of open connections / limit, summed over the runs (null: no attempt there). */
  readonly failureRate: readonly (number | null)[];
}

export interface MeasureOptions {
  readonly sets: readonly BenchSet[];
  readonly destinations: readonly number[];
  readonly runs: number;
  readonly seed: number;
  readonly kernel: KernelPicker;
}

/** A LAN host inside the first `nat from` network. */
function lanHost(set: BenchSet): number {
  const lan = set.stock.natFrom[0];
  if (lan === undefined) throw new Error('the stock anchor has no nat from network');
  return (lan.address + 10) >>> 0;
}

export async function measure(options: MeasureOptions): Promise<CellFigures[]> {
  const cells: CellFigures[] = [];
  for (const set of options.sets) {
    const chain = anchorNatChain(stockAnchorText(set), { tunnel: set.stock.tunnel, tunnelAddress: set.stock.ipv4, source: lanHost(set) });
    for (const destinations of options.destinations) {
      const limit = set.size * destinations;
      const perMode: Record<Mode, RunFigures[]> = { kernel: [], stock: [] };
      for (let run = 0; run < options.runs; run++) {
        const seed = (options.seed + 7919 * run + 104729 * destinations + 1299709 * set.psid) >>> 0;
        const workload = generateWorkload({ destinations, limit, seed });
        // The kernel's run is a child process: it goes on while stock's runs here.
        const kernel = options.kernel.run(workload, set.a, set.k, set.psid, seed + 1);
        try {
          perMode.stock.push(runFigures(workload, runStock(workload, chain, seed + 2), set));
        } finally {
          perMode.kernel.push(runFigures(workload, await kernel, set));
        }
      }
      for (const mode of MODES) cells.push({ set, destinations, limit, mode, runs: perMode[mode], failureRate: failureRate(perMode[mode]) });
    }
  }
  return cells;
}

function failureRate(runs: readonly RunFigures[]): (number | null)[] {
  return Array.from({ length: BINS + 1 }, (_, bin) => {
    let attempts = 0;
    let failures = 0;
    for (const run of runs) {
      attempts += run.bins[bin]![0];
      failures += run.bins[bin]![1];
    }
    return attempts === 0 ? null : failures / attempts;
  });
}

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((x, y) => x - y);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}
