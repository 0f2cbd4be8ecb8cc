/**
 * What maped wants OpenBSD to look like for one MAP-E mapping (docs/architecture.md §3.6):
 * a gif(4) tunnel from the CE IPv6 address to the BR, the shared IPv4 address
 * on it, the CE /128 on the WAN, an IPv4 default route through the tunnel and
 * the pf anchor that maps sources into the port set. Pure: values in, value out.
 */
import { err, formatIpv4, ok, parseIpv4, type Ipv4Prefix, type MapParams, type PortRange, type Result } from '../map/index.js';
import type { Softwire, SoftwireKind } from '../softwire/index.js';
import {
  anchorNameProblem,
  gifNameProblem,
  GIF_MTU_MAX,
  GIF_MTU_MIN,
  interfaceNameProblem,
  labelProblem,
  psidProblem,
  routePriorityProblem,
  RTP_STATIC,
} from './names.js';
import { activeForwards, forwardScope, rangesWithout, type ForwardSpec } from './forwards.js';

/** IPv6 header (RFC 8200 §3): what IPv4-in-IPv6 encapsulation costs (RFC 7597 §8.3.1). */
export const ENCAPSULATION_OVERHEAD = 40;

/** IPv4 + TCP headers without options: the MSS is the tunnel MTU minus these. */
export const TCP_IPV4_HEADERS = 40;

/**
 * The point-to-point peer on gif: a placeholder, the tunnel has no IPv4 next
 * hop (sys/net/if_gif.c 1.141 gif_output looks only at the destination's
 * family, lines 397-409, and gif_send writes the tunnel's own addresses,
 * lines 302-383: a route through gif0 is by interface, not next hop).
 */
export const GIF_PEER = '0.0.0.1';
const GIF_PEER_VALUE = (() => {
  const peer = parseIpv4(GIF_PEER);
  if (!peer.ok) throw new Error(peer.error);
  return peer.value;
})();

/**
 * The default route's priority unless maped.conf says otherwise (`tunnel …
 * route-priority`): one ahead of the static and dhcpleased(8) defaults at
 * RTP_STATIC 8 (lower wins), without sharing their priority: at one priority
 * a second default is refused unless it is RTF_MPATH (sys/net/rtable.c 1.95
 * rtable_insert), and multipath would spread IPv4 over both.
 */
export const DEFAULT_ROUTE_PRIORITY = RTP_STATIC - 1;

/** Route label and pf rule label (docs/architecture.md §3.6). */
export const DEFAULT_LABEL = 'maped';

/**
 * How pf confines NAT source ports:
 * - kernel: the map-e-portset patch, one rule per source;
 * - stock: one `port lo:hi` rule per contiguous range, spread with `probability`;
 * - unrestricted: the address is not shared (psid-len 0, IPIP), plain `nat-to (gif0)`;
 * - none: no NAT44 on the CE at all (DS-Lite: the AFTR translates).
 */
export type PortsetMode = 'kernel' | 'stock' | 'unrestricted' | 'none';

export interface DesiredState {
  /** Which softwire the resources below implement: named in the anchor and the record, planned alike. */
  readonly softwire: SoftwireKind;
  readonly wan: string;
  readonly tunnel: string;
  readonly mtu: number;
  /** TCP MSS clamp for SYNs through the tunnel, either way: mtu − 40. */
  readonly maxMss: number;
  /** The tunnel's local end, also a /128 on the WAN (the MAP CE address, the lwB4 or B4 address, IPIP `local`). */
  readonly ceIPv6: bigint;
  /** The tunnel's remote end: BR, lwAFTR, AFTR or IPIP `remote`. */
  readonly br: bigint;
  readonly ipv4: number;
  readonly ipv4PrefixLen: number;
  /** The point-to-point peer of the gif address, the default route's gateway. */
  readonly ipv4Peer: number;
  /** The default route's `-priority` (2-63, lower wins). */
  readonly routePriority: number;
  readonly psidOffset: number;
  readonly psidLen: number;
  readonly psid: number;
  /** The port set, port 0 already removed: what the CE owns, whoever uses it. */
  readonly portSets: readonly PortRange[];
  /** The maped.conf forwards whose ports are all ours: the ones pf redirects (stock NAT keeps out of them, {@link natRanges}). */
  readonly forwards: readonly ForwardSpec[];
  readonly natFrom: readonly Ipv4Prefix[];
  readonly anchor: string;
  readonly label: string;
  readonly portset: PortsetMode;
  /** Operator-facing facts to show in status and logs (one sentence each). */
  readonly warnings: readonly string[];
}

export interface DesiredStateInput {
  readonly wan: string;
  readonly tunnel: string;
  /** A fixed tunnel MTU, or 'auto' = WAN MTU − 40. */
  readonly mtu: number | 'auto';
  /** The WAN MTU as read from `ifconfig -a`; required for 'auto'. */
  readonly wanMtu: number | null;
  readonly map: Pick<MapParams, 'ipv4' | 'ipv4PrefixLen' | 'psidOffset' | 'psidLen' | 'psid' | 'ceIPv6' | 'portSets'>;
  readonly br: bigint;
  /** What the sources are translated into; default: the port set, or the address with psid-len 0 (MAP-E). */
  readonly nat?: 'portset' | 'address' | 'none';
  /** Default: the placeholder {@link GIF_PEER}. */
  readonly ipv4Peer?: number;
  /** Default: {@link DEFAULT_ROUTE_PRIORITY}. */
  readonly routePriority?: number;
  /** Default: map-e. */
  readonly softwire?: SoftwireKind;
  readonly natFrom: readonly Ipv4Prefix[];
  readonly anchor: string;
  /** The mode in force: 'auto' must be resolved first (detectPortsetSupport in src/apply). */
  readonly portset: 'kernel' | 'stock';
  readonly label?: string;
  /** maped.conf `forward`s; those with a port outside what NAT owns are left out (forwards.ts). */
  readonly forwards?: readonly ForwardSpec[];
}

export const ICMP_NOT_CONFINED =
  'stock pf: ICMP echo ids are not confined to the port set (pf_get_sport widens them to 1-65535); only the map-e-portset kernel patch confines them';

export function resolveTunnelMtu(mtu: number | 'auto', wan: string, wanMtu: number | null): Result<number> {
  let value: number;
  let origin: string;
  if (mtu === 'auto') {
    if (wanMtu === null) return err(`tunnel mtu auto: the MTU of ${wan} is unknown`);
    value = wanMtu - ENCAPSULATION_OVERHEAD;
    origin = ` (${wan} mtu ${wanMtu} - ${ENCAPSULATION_OVERHEAD})`;
  } else {
    value = mtu;
    origin = '';
  }
  if (!Number.isInteger(value) || value < GIF_MTU_MIN || value > GIF_MTU_MAX) {
    return err(`tunnel mtu ${value}${origin} is outside the gif(4) range ${GIF_MTU_MIN}-${GIF_MTU_MAX}`);
  }
  return ok(value);
}

/**
 * Port 0 can never be a NAT source port. With a = 0 there is one block and
 * the PSID 0 set starts at port 0 (RFC 7597 §5.1 excludes A = 0 only when
 * a > 0; RFC 7597 Appendix B), so start it at 1.
 */
export function usablePortRanges(ranges: readonly PortRange[]): PortRange[] {
  const out: PortRange[] = [];
  for (const [first, last] of ranges) {
    const from = Math.max(first, 1);
    if (from <= last) out.push([from, last]);
  }
  return out;
}

const prefixed = (place: string, problem: string | null): string | null => (problem === null ? null : `${place}: ${problem}`);

export function desiredState(input: DesiredStateInput): Result<DesiredState> {
  // The same checks as maped.conf's (src/openbsd/names.ts): what the config accepts can be applied.
  const label = input.label ?? DEFAULT_LABEL;
  const { map } = input;
  const problem =
    prefixed('wan', interfaceNameProblem(input.wan)) ??
    prefixed('tunnel', gifNameProblem(input.tunnel)) ??
    prefixed('pf anchor', anchorNameProblem(input.anchor)) ??
    prefixed('label', labelProblem(label)) ??
    routePriorityProblem(input.routePriority ?? DEFAULT_ROUTE_PRIORITY) ??
    psidProblem(map.psidOffset, map.psidLen, map.psid);
  if (problem !== null) return err(problem);
  const mtu = resolveTunnelMtu(input.mtu, input.wan, input.wanMtu);
  if (!mtu.ok) return mtu;
  const ipv4Peer = (input.ipv4Peer ?? GIF_PEER_VALUE) >>> 0;
  // The peer names the route's gateway; as the local address it would make the route point at ourselves.
  if (ipv4Peer === map.ipv4 >>> 0) return err(`tunnel peer ${formatIpv4(ipv4Peer)} is the tunnel's own IPv4 address`);

  const warnings: string[] = [];
  let portset: PortsetMode = input.portset;
  const nat = input.nat ?? 'portset';
  if (nat === 'none') {
    portset = 'none';
  } else if (nat === 'address' || map.psidLen === 0) {
    // RFC 7597 §5.2: no PSID, the whole address (or prefix) is ours.
    portset = 'unrestricted';
  }
  // psid-offset 0 needs no exception: the pf patch takes offsets 0-15 and never
  // hands out port 0 (patches/openbsd-7.8/README, item 4).
  if (portset === 'stock') warnings.push(ICMP_NOT_CONFINED);
  const sharing = portset === 'kernel' || portset === 'stock';
  const portSets = sharing ? usablePortRanges(map.portSets) : [];
  if (sharing && portSets.length === 0) return err('the port set is empty');
  const forwards = activeForwards(input.forwards ?? [], forwardScope(forwardableNat(portset, map, portSets), input.softwire ?? 'map-e'));
  const ranges = natRanges({ portset, portSets, forwards });
  if (sharing && ranges.length === 0) return err('the forwards take every port of the set: none is left for outbound NAT');
  // Stock pf spreads connections over the ranges with one rule per range and source (pf-anchor.ts
  // natRules). RFC 7598 §4.5 allows psid-offset 15, 2^15 - 1 ranges: refused before anything runs.
  if (portset === 'stock') {
    const rules = stockRuleCount(ranges.length, input.natFrom.length);
    if (rules > MAX_STOCK_RULES) {
      return err(
        `pf portset stock: the port set has ${ranges.length} ranges (psid-offset ${map.psidOffset}); with ${input.natFrom.length} nat from prefixes ` +
          `the anchor would hold ${rules} rules, more than the ${MAX_STOCK_RULES} maped loads; pf portset kernel (the map-e-portset patch) needs one rule a source`,
      );
    }
  }
  // Stock mode tags packets `<label>-<range>`; pf tag names hold 63 characters (PF_TAG_NAME_SIZE 64, pfvar.h).
  if (portset === 'stock' && label.length + 1 + String(ranges.length).length > 63) {
    return err(`label "${label}" is too long for the stock-mode tags "${label}-1".."${label}-${ranges.length}" (63 characters at most)`);
  }

  return ok({
    softwire: input.softwire ?? 'map-e',
    wan: input.wan,
    tunnel: input.tunnel,
    mtu: mtu.value,
    maxMss: mtu.value - TCP_IPV4_HEADERS,
    ceIPv6: map.ceIPv6,
    br: input.br,
    ipv4: map.ipv4 >>> 0,
    ipv4PrefixLen: map.ipv4PrefixLen,
    ipv4Peer,
    routePriority: input.routePriority ?? DEFAULT_ROUTE_PRIORITY,
    psidOffset: sharing ? map.psidOffset : 0,
    psidLen: sharing ? map.psidLen : 0,
    psid: sharing ? map.psid : 0,
    portSets,
    forwards,
    natFrom: [...input.natFrom],
    anchor: input.anchor,
    label,
    portset,
    warnings,
  });
}

/**
 * The most rules a stock-mode anchor may hold: 2^14, about 2 MB of text,
 * within what the privileged parent accepts to load (MAX_ANCHOR_TEXT,
 * command-allowlist.ts) and far above the 63 ranges of psid-offset 6.
 */
export const MAX_STOCK_RULES = 16_384;

/** Stock mode: for each range a tagged `nat-to`, and a `match … tag` for each source (the router itself and each nat from). */
export function stockRuleCount(ranges: number, natFrom: number): number {
  return ranges * (natFrom + 2);
}

/** What a port-set mode translates into, in the shape forwardScope takes. */
function forwardableNat(portset: PortsetMode, map: DesiredStateInput['map'], portSets: readonly PortRange[]) {
  if (portset === 'none') return { into: 'none' } as const;
  if (portset === 'unrestricted') return { into: 'address' } as const;
  return { into: 'portset', psidOffset: map.psidOffset, psidLen: map.psidLen, psid: map.psid, portSets } as const;
}

/**
 * The ranges NAT hands out. Stock pf: the port set without the forwarded
 * ports, so that no `nat-to … port lo:hi` gives a forwarded port to an
 * outbound connection. The map-e-portset patch draws from the whole set
 * (maped(8) describes how it and `rdr-to` share the forwarded ports).
 */
export function natRanges(d: Pick<DesiredState, 'portset' | 'portSets' | 'forwards'>): PortRange[] {
  if (d.portset !== 'stock') return [...d.portSets];
  return rangesWithout(d.portSets, d.forwards.map((f) => f.ports));
}

/** The part of a {@link DesiredStateInput} a softwire decides: its tunnel ends, address, peer and NAT. */
export function softwireInput(softwire: Softwire): Pick<DesiredStateInput, 'map' | 'br' | 'nat' | 'ipv4Peer' | 'softwire'> {
  const n = softwire.nat;
  const ports = n.into === 'portset' ? n : { psidOffset: 0, psidLen: 0, psid: 0, portSets: [] };
  return {
    softwire: softwire.kind,
    map: {
      ipv4: softwire.ipv4.address,
      ipv4PrefixLen: softwire.ipv4.prefixLen,
      psidOffset: ports.psidOffset,
      psidLen: ports.psidLen,
      psid: ports.psid,
      ceIPv6: softwire.tunnel.source,
      portSets: ports.portSets,
    },
    br: softwire.tunnel.remote,
    nat: n.into,
    ipv4Peer: softwire.ipv4.peer,
  };
}

/**
 * What decides whether pf's states outlive a change (RFC 7597 §8.2 and
 * RFC 7596 §5.2 confine translated sources to the address and port set):
 * a state translated to an address or port no longer ours, or sent from
 * another tunnel source, can never be answered, so it is killed.
 */
export function natIdentity(d: DesiredState): string {
  // Not the remote end: a new BR or AFTR carries the same translated flows.
  return JSON.stringify([d.softwire, d.ipv4, d.ipv4Peer, String(d.ceIPv6), d.portset, d.psidOffset, d.psidLen, d.psid, d.portSets]);
}
