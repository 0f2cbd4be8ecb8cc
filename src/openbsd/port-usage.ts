/**
 * How much of the port set pf's states hold: the answer to "why do my
 * connections fail under load?". When every port of a range is taken,
 * pf_get_sport (sys/net/pf_lb.c 1.76, lines 123–251) finds no free source
 * port (`return (1);`, line 250) and the translation fails (sys/net/pf.c
 * 1.1218 lines 4266–4268 and 4437: PFRES_TRANSLATE, which pfctl -si counts
 * under `translate`).
 *
 * A port is in use when some state has the MAP-E address and that port as
 * its own side on the wire: outbound NAT states (the translated source) and
 * inbound forwarded ones (the port the peer reached) alike. A port is counted
 * once whatever the number of states, protocols or peers using it. TCP and
 * UDP only: ICMP prints its echo id where ports go, and ids are not ports of
 * the set (stock pf does not even confine them to it).
 */
import type { PortRange } from '../map/index.js';
import type { PfState } from './pfctl-states.js';

export interface RangeUsage {
  readonly first: number;
  readonly last: number;
  readonly inUse: number;
}

export interface HostUsage {
  /** The inside host (the stack side of the state), or the MAP-E address itself for the router's own connections. */
  readonly host: string;
  readonly ports: number;
}

export interface PortUsage {
  readonly ipv4: string;
  /** Ports in the set. */
  readonly total: number;
  readonly inUse: number;
  readonly ranges: readonly RangeUsage[];
  /** Hosts by ports held, most first, at most {@link TOP_HOSTS}. */
  readonly top: readonly HostUsage[];
}

export const TOP_HOSTS = 10;

const PORT_PROTOCOLS = new Set(['tcp', 'udp']);

/** Index of the range holding `port` in sorted, disjoint `ranges`, or -1. */
function rangeOf(ranges: readonly PortRange[], port: number): number {
  let lo = 0;
  let hi = ranges.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    const [first, last] = ranges[mid]!;
    if (port < first) hi = mid - 1;
    else if (port > last) lo = mid + 1;
    else return mid;
  }
  return -1;
}

/**
 * `ipv4` as printed by pfctl (dotted quad); `ranges` the port set, sorted and
 * disjoint. Ports of the address outside the set (a state left from an older
 * mapping, another NAT rule of the admin's) are not counted.
 */
export function portUsage(states: readonly PfState[], ipv4: string, ranges: readonly PortRange[]): PortUsage {
  const used = new Set<number>();
  const byHost = new Map<string, Set<number>>();
  for (const s of states) {
    if (!PORT_PROTOCOLS.has(s.proto) || s.localWire.address !== ipv4 || s.localWire.rdomain !== 0) continue;
    const port = s.localWire.port;
    if (rangeOf(ranges, port) === -1) continue;
    used.add(port);
    const host = s.localStack.address;
    let held = byHost.get(host);
    if (held === undefined) byHost.set(host, (held = new Set()));
    held.add(port);
  }
  const perRange = ranges.map(() => 0);
  for (const port of used) perRange[rangeOf(ranges, port)]!++;
  const top = [...byHost]
    .map(([host, ports]) => ({ host, ports: ports.size }))
    .sort((a, b) => b.ports - a.ports || (a.host < b.host ? -1 : a.host > b.host ? 1 : 0))
    .slice(0, TOP_HOSTS);
  return {
    ipv4,
    total: ranges.reduce((n, [first, last]) => n + last - first + 1, 0),
    inUse: used.size,
    ranges: ranges.map(([first, last], i) => ({ first, last, inUse: perRange[i]! })),
    top,
  };
}

/** The share of the set above which the log warns, once per crossing. */
export const USAGE_WARN_FRACTION = 0.8;

/**
 * Whether a new sample crosses the warning line upwards (warn now), or back
 * below it (re-arm): a pure step of a two-state machine the caller keeps.
 */
export function usageCrossing(wasAbove: boolean, usage: Pick<PortUsage, 'inUse' | 'total'>): { above: boolean; warn: boolean } {
  const above = usage.total > 0 && usage.inUse > usage.total * USAGE_WARN_FRACTION;
  return { above, warn: above && !wasAbove };
}
