/**
 * Runs a workload through stock pf's model; the kernel mode runs the same
 * events through kernel-sim.c. Both answer one int32 per connection: its
 * translated port, or -1.
 */
import { NatStates } from './nat-states.js';
import { Prng } from './prng.js';
import { NO_PORT, stockPick, type NatChain } from './stock-model.js';
import type { Workload } from './workload.js';

export function runStock(workload: Workload, chain: NatChain, seed: number): Int32Array {
  const rng = new Prng(seed);
  const states = new NatStates(workload.destinations);
  const outcomes = new Int32Array(workload.arrivals);
  const destinationOf = new Int32Array(workload.arrivals);
  let connections = 0;
  const events = workload.events;
  for (let i = 0; i < events.length; i++) {
    const event = events[i]!;
    if (event >= 0) {
      const port = stockPick(chain, states, event, rng);
      if (port !== NO_PORT) states.add(event, port);
      outcomes[connections] = port;
      destinationOf[connections++] = event;
    } else {
      const id = -1 - event;
      const port = outcomes[id]!;
      if (port !== NO_PORT) states.delete(destinationOf[id]!, port);
    }
  }
  return outcomes;
}
