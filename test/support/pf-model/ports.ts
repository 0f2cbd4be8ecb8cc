/**
 * Source-port choice of a translation and the state keys it must not
 * collide with, after sys/net/pf_lb.c 1.76 `pf_get_sport` (lines 123–251;
 * the model follows these lines of that revision):
 * - TCP and UDP (and ICMP echo, whose query id pf keys as a port) get a port;
 *   other protocols keep theirs (lines 168–178);
 * - ICMP echo: `low = 1; high = 65535` whatever the rule says (lines 139–145,
 *   ICMPv6 147–153; stock pf; the map-e-portset patch draws from the port
 *   set instead);
 * - the search of one range, {@link searchPortRange}; a port is free when no
 *   state has the key (proto, nat address, port, destination, destination
 *   port) (key set at lines 157–162, `pf_find_state_all` at lines 211 and
 *   223) and, in a range of more than one port, it is not in the
 *   `baddynamic` list (`in_baddynamic`, lines 212 and 224, TCP/UDP only);
 * - no free port: pf_get_sport returns 1 (line 250), pf_get_transaddr -1
 *   (lines 703–710), and the translation fails (sys/net/pf.c 1.1218
 *   pf_match_rule lines 4264–4269 or pf_test_rule lines 4436–4439:
 *   PFRES_TRANSLATE, the packet is dropped).
 * The port-capacity bench (bench/port-capacity) searches its ranges with
 * the same function, over a state table of its own.
 */
import { randomInt } from 'node:crypto';
import { portSetFor } from './portset.js';

/**
 * pf_lb.c 1.76 `pf_get_sport`, the search of one range for a port whose
 * state key is free:
 * - lines 187–194: `low == high` is that port if no state has it
 *   (`pf_find_state_all`; no `in_baddynamic` test on this path);
 * - lines 198–202: the ends are swapped if given high first;
 * - line 204: `cut = arc4random_uniform(1 + high - low) + low`;
 * - lines 206–216: upwards from cut to high, then (217–228) downwards from
 *   cut − 1 to low, the first port no state has and `in_baddynamic` does
 *   not refuse;
 * - null when none is free (lines 231–249: a pool of one address, such as
 *   `(gif0)`, has no other address to try).
 * `taken(port)`: a state has the key with that port; `bad(port)`:
 * in_baddynamic; `random(n)`: arc4random_uniform(n).
 */
export function searchPortRange(
  low: number,
  high: number,
  taken: (port: number) => boolean,
  bad: (port: number) => boolean,
  random: (below: number) => number,
): number | null {
  if (low === high) return taken(low) ? null : low;
  if (low > high) [low, high] = [high, low];
  const cut = random(1 + high - low) + low;
  for (let port = cut; port <= high; port++) if (!taken(port) && !bad(port)) return port;
  for (let port = cut - 1; port >= low; port--) if (!taken(port) && !bad(port)) return port;
  return null;
}

export interface PortRequest {
  readonly proto: string;
  readonly icmpEcho: boolean;
  readonly natAddress: string;
  readonly dst: string;
  readonly dstPort: number | null;
  /** The port before translation (kept for protocols without ports). */
  readonly srcPort: number | null;
  readonly low: number;
  readonly high: number;
  readonly mapePortset: readonly [number, number, number] | null;
}

/** Chooses a translated source port, or null when none is free. */
export interface PortAllocator {
  allocate(request: PortRequest): number | null;
}

const key = (proto: string, address: string, port: number, dst: string, dstPort: number | null): string =>
  `${proto} ${address}:${port} ${dst}:${dstPort ?? 0}`;

/** States by their wire key, and pf_get_sport over them. */
export class StateTable implements PortAllocator {
  private readonly keys = new Set<string>();
  constructor(
    private readonly random: (below: number) => number = (below) => randomInt(below),
    private readonly baddynamic: ReadonlySet<number> = new Set(),
  ) {}

  get size(): number {
    return this.keys.size;
  }

  insert(proto: string, address: string, port: number, dst: string, dstPort: number | null): void {
    this.keys.add(key(proto, address, port, dst, dstPort));
  }

  has(proto: string, address: string, port: number, dst: string, dstPort: number | null): boolean {
    return this.keys.has(key(proto, address, port, dst, dstPort));
  }

  allocate(r: PortRequest): number | null {
    const ported = r.proto === 'tcp' || r.proto === 'udp' || r.icmpEcho;
    if (!ported) return r.srcPort;
    const taken = (port: number): boolean => this.keys.has(key(r.proto, r.natAddress, port, r.dst, r.dstPort));
    const bad = (port: number): boolean => r.proto !== 'icmp' && this.baddynamic.has(port);
    const free = (port: number): boolean => !taken(port) && !bad(port);
    if (r.mapePortset !== null) {
      // The patch's pf_get_sport_mape: a random port of the set, then onwards through the set.
      const ports = portSetFor(r.mapePortset);
      const start = this.random(ports.length);
      for (let i = 0; i < ports.length; i++) {
        const port = ports[(start + i) % ports.length]!;
        if (free(port)) return port;
      }
      return null;
    }
    const [low, high] = r.icmpEcho ? [1, 65535] : [r.low, r.high];
    return searchPortRange(low, high, taken, bad, this.random);
  }
}
