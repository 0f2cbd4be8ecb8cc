/**
 * Inbound forwards inside the port set (maped.conf(5) `forward`): which are
 * in force, why the others are not, and the port ranges left for stock-mode
 * outbound NAT. Pure: values in, values out.
 *
 * A BR sends a shared-address CE only the ports of its set (RFC 7597 §8.2,
 * RFC 7596 §5.1), so a forward of a port outside the set can never see a
 * packet: it is shown inactive with the reason, and is in force again by
 * itself when a later mapping's set holds all its ports. A softwire without
 * an IPv4 address of its own (DS-Lite: the AFTR translates, RFC 6333 §5) has
 * nothing to forward from.
 */
import { formatIpv4, type PortRange } from '../map/index.js';
import type { SoftwireKind } from '../softwire/index.js';

export type ForwardProto = 'tcp' | 'udp' | 'tcp-udp';

export interface ForwardSpec {
  readonly proto: ForwardProto;
  /** First and last port, inclusive (1-65535). */
  readonly ports: readonly [number, number];
  /** The LAN host (IPv4, host byte order). */
  readonly to: number;
  /** The host's first port; null: the same ports. */
  readonly toPort: number | null;
}

/**
 * The ports forwards may use: the ranges of the set with its name for a
 * reason (`psid 52/8 offset 6`), or why there are none.
 */
export type ForwardScope =
  | { readonly ranges: readonly PortRange[]; readonly name: string }
  | { readonly ranges: null; readonly why: string };

export interface ForwardState {
  readonly forward: ForwardSpec;
  readonly active: boolean;
  /** Why it is not in force, one phrase; null when it is. */
  readonly reason: string | null;
}

/** What a softwire translates into, as far as forwards care (the shape of its `nat`). */
export type ForwardableNat =
  | { readonly into: 'portset'; readonly psidOffset: number; readonly psidLen: number; readonly psid: number; readonly portSets: readonly PortRange[] }
  | { readonly into: 'address' }
  | { readonly into: 'none' };

const EVERY_PORT: readonly PortRange[] = [[1, 65535]];

export function forwardScope(nat: ForwardableNat | null, kind: SoftwireKind | null): ForwardScope {
  if (nat === null) return { ranges: null, why: 'no softwire is active' };
  if (nat.into === 'none') return { ranges: null, why: `${kind ?? 'the softwire'} has no IPv4 address of its own to forward from (the AFTR translates)` };
  if (nat.into === 'address') return { ranges: EVERY_PORT, name: 'all ports' };
  return { ranges: nat.portSets, name: `psid ${nat.psid}/${nat.psidLen} offset ${nat.psidOffset}` };
}

/** The first of `ports` outside `ranges` (sorted, disjoint), or null if all are inside. */
function firstOutside([first, last]: readonly [number, number], ranges: readonly PortRange[]): number | null {
  let port = first;
  for (const [lo, hi] of ranges) {
    if (hi < port) continue;
    if (lo > port) return port;
    port = hi + 1;
    if (port > last) return null;
  }
  return port;
}

/** Each forward with its verdict against `scope`. */
export function forwardStates(forwards: readonly ForwardSpec[], scope: ForwardScope): ForwardState[] {
  return forwards.map((forward) => {
    if (scope.ranges === null) return { forward, active: false, reason: scope.why };
    const outside = firstOutside(forward.ports, scope.ranges);
    if (outside === null) return { forward, active: true, reason: null };
    return { forward, active: false, reason: `port ${outside} is not in the port set (${scope.name})` };
  });
}

/** The forwards of `forwards` that are in force under `scope`. */
export function activeForwards(forwards: readonly ForwardSpec[], scope: ForwardScope): ForwardSpec[] {
  return forwardStates(forwards, scope)
    .filter((state) => state.active)
    .map((state) => state.forward);
}

/**
 * `ranges` without the ports of `taken` (in any order, overlapping or not):
 * what stock-mode NAT may still hand out, so that no outbound connection gets
 * a forwarded port as its source.
 */
export function rangesWithout(ranges: readonly PortRange[], taken: readonly (readonly [number, number])[]): PortRange[] {
  const holes = [...taken].sort((a, b) => a[0] - b[0]);
  const out: PortRange[] = [];
  for (const [first, last] of ranges) {
    let start = first;
    for (const [lo, hi] of holes) {
      if (hi < start || lo > last) continue;
      if (lo > start) out.push([start, lo - 1]);
      start = Math.max(start, hi + 1);
      if (start > last) break;
    }
    if (start <= last) out.push([start, last]);
  }
  return out;
}

/** The protocols a forward covers, in the order its pf rules are written. */
export function forwardProtocols(proto: ForwardProto): ('tcp' | 'udp')[] {
  return proto === 'tcp-udp' ? ['tcp', 'udp'] : [proto];
}

/** `5000` or `5000:5009`, as maped.conf writes a port or a range. */
export function portsText([first, last]: readonly [number, number]): string {
  return first === last ? String(first) : `${first}:${last}`;
}

/**
 * `tcp port 5000 to 192.168.1.10 port 22`: a forward in the words of
 * maped.conf (after the keyword), for `maped -nv`, logs, status and
 * `show ports`. `to` is the host as text.
 */
export function forwardText(forward: { readonly proto: ForwardProto; readonly ports: readonly [number, number]; readonly toPort: number | null }, to: string): string {
  return `${forward.proto} port ${portsText(forward.ports)} to ${to}${forward.toPort === null ? '' : ` port ${forward.toPort}`}`;
}

/** {@link forwardText} of a forward whose host is a number. */
export function describeForward(forward: ForwardSpec): string {
  return forwardText(forward, formatIpv4(forward.to));
}
