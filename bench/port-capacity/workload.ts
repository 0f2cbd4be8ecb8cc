/**
 * New connections from LAN hosts to destinations, as a stream of events
 * both NAT models consume unchanged, so that kernel and stock mode see the
 * very same arrivals, destinations and closes.
 *
 * Distributions (the figures hold for these, and only these):
 * - arrivals: a Poisson process of rate 1 (exponential gaps, mean 1);
 * - lifetimes: exponential, mean `load × limit` time units, so the offered
 *   load (connections that would be open if none failed, M/M/∞) rises as
 *   load × limit × (1 − e^(−t/mean)) from an empty state table;
 * - destinations: uniform over the `destinations` (address, port) pairs;
 * - horizon: `horizon` mean lifetimes. With the defaults (load 2, horizon
 *   0.8) the offered load passes the physical limit at t ≈ 0.69 mean
 *   lifetimes and ends at 1.1 × the limit, so every occupancy from empty to
 *   full is visited, about 1.6 × limit arrivals in all; by the end about a
 *   third of the connections opened have closed again.
 *
 * The physical limit is the whole port set for every destination: pf keys a
 * state on (proto, translated address and port, destination address and
 * port), so one translated port can serve each destination once.
 *
 * Encoding: one int32 an event; d ≥ 0 is a new connection to destination d
 * (connections are numbered by arrival, from 0), −1 − id closes connection
 * id. Closes of connections that failed are left in: a model ignores them.
 */
import { Prng } from './prng.js';

export interface WorkloadSpec {
  readonly destinations: number;
  /** Ports in the set × destinations. */
  readonly limit: number;
  readonly seed: number;
  readonly load?: number;
  readonly horizon?: number;
}

export interface Workload {
  readonly events: Int32Array;
  readonly arrivals: number;
  readonly destinations: number;
  readonly limit: number;
}

/** Event budget: refuse a workload that would not fit in memory comfortably. */
export const MAX_EVENTS = 64 * 1024 * 1024;

export function generateWorkload(spec: WorkloadSpec): Workload {
  const load = spec.load ?? 2;
  const horizon = spec.horizon ?? 0.8;
  if (!Number.isInteger(spec.destinations) || spec.destinations < 1) throw new RangeError(`destinations must be a positive integer, not ${spec.destinations}`);
  if (!Number.isInteger(spec.limit) || spec.limit < 1) throw new RangeError(`limit must be a positive integer, not ${spec.limit}`);
  const meanLife = load * spec.limit;
  const end = horizon * meanLife;
  // Arrivals are Poisson: about `end` of them, give or take a few sd.
  const capacity = Math.ceil(end + 10 * Math.sqrt(end) + 16);
  if (2 * capacity > MAX_EVENTS) throw new RangeError(`workload of ~${Math.round(end)} connections exceeds the bench's ${MAX_EVENTS} events`);

  const rng = new Prng(spec.seed);
  const events = new Int32Array(2 * capacity);
  const closes = new CloseQueue(capacity);
  let n = 0;
  let arrivals = 0;
  let t = rng.exponential(1);
  while (t < end && arrivals < capacity) {
    while (closes.size > 0 && closes.firstTime() <= t) events[n++] = -1 - closes.pop();
    events[n++] = rng.uniform(spec.destinations);
    closes.push(t + rng.exponential(meanLife), arrivals);
    arrivals++;
    t += rng.exponential(1);
  }
  return { events: events.subarray(0, n), arrivals, destinations: spec.destinations, limit: spec.limit };
}

/** A binary min-heap of (close time, connection id). */
class CloseQueue {
  private readonly times: Float64Array;
  private readonly ids: Int32Array;
  size = 0;

  constructor(capacity: number) {
    this.times = new Float64Array(capacity);
    this.ids = new Int32Array(capacity);
  }

  firstTime(): number {
    return this.times[0]!;
  }

  push(time: number, id: number): void {
    let i = this.size++;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (this.times[parent]! <= time) break;
      this.times[i] = this.times[parent]!;
      this.ids[i] = this.ids[parent]!;
      i = parent;
    }
    this.times[i] = time;
    this.ids[i] = id;
  }

  pop(): number {
    const top = this.ids[0]!;
    const time = this.times[--this.size]!;
    const id = this.ids[this.size]!;
    let i = 0;
    for (;;) {
      let child = 2 * i + 1;
      if (child >= this.size) break;
      if (child + 1 < this.size && this.times[child + 1]! < this.times[child]!) child++;
      if (this.times[child]! >= time) break;
      this.times[i] = this.times[child]!;
      this.ids[i] = this.ids[child]!;
      i = child;
    }
    this.times[i] = time;
    this.ids[i] = id;
    return top;
  }
}
