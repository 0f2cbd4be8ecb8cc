/**
 * From (desired, live, owned) to the shortest ordered list of commands that
 * makes live equal desired, touching only what maped owns. Pure.
 *
 * Apply order: CE /128 alias on the WAN, gif (create, tunnel, -tunneldf, mtu, address,
 * up), default route, pf anchor, then the stale states and the old alias, side
 * by side. The new alias is added no later than the tunnel moves to it (beside
 * the first gif step) and the old one goes once the tunnel and the anchor have
 * moved to the new, so a prefix change never leaves the tunnel source without
 * a local address. The anchor is loaded beside the last gif or route step.
 * Teardown is the reverse: anchor, route, gif, alias.
 */
import { err, formatIpv4, ok, type Result } from '../map/index.js';
import {
  anchorMatches,
  anchorRules,
  argv,
  natIdentity,
  renderAnchor,
  type AnchorListing,
  type Command,
  type DefaultRoute,
  type DesiredState,
  type InterfaceStatus,
  type StateIdentity,
} from '../openbsd/index.js';
import type { Ownership } from './ownership.js';

export interface LiveState {
  /** null: the tunnel interface does not exist. */
  readonly gif: InterfaceStatus | null;
  /** null: the WAN interface was not found (or could not be read, in a dry run). */
  readonly wan: InterfaceStatus | null;
  /** Every IPv4 default route, maped's and others' (dhcpleased, PPPoE, static). */
  readonly defaultRoutes: readonly DefaultRoute[];
  readonly anchor: AnchorListing;
}

export const EMPTY_LIVE_STATE: LiveState = { gif: null, wan: null, defaultRoutes: [], anchor: { rules: [], foreign: [] } };

export type Effect =
  | { readonly kind: 'gif-created' }
  | { readonly kind: 'gif-destroyed' }
  | { readonly kind: 'gif-configured' }
  | { readonly kind: 'gif-unconfigured' }
  | { readonly kind: 'alias-added'; readonly address: bigint }
  | { readonly kind: 'alias-removed'; readonly address: bigint }
  | { readonly kind: 'route-added' }
  | { readonly kind: 'route-removed' }
  | { readonly kind: 'anchor-loaded' }
  | { readonly kind: 'anchor-flushed' };

export interface PlanStep {
  readonly command: Command;
  /** What running it successfully changes in the ownership record. */
  readonly effect: Effect | null;
  /**
   * The command lists pf's states (`pfctl -ss -vv`); the states made for
   * `previous` that `next` no longer carries are then killed by id
   * (staleStates in src/openbsd/pf-states.ts). Which ones is only known then.
   */
  readonly killStale?: { readonly previous: StateIdentity; readonly next: StateIdentity | null };
  /**
   * Runs at the same time as the step after it: neither bears on what the
   * other does (besideEachOther). Three places have such steps: the new CE
   * alias beside the first gif step (the kernel takes a tunnel source that
   * is not yet local, sys/net/if_gif.c 1.141 gif_set_tunnel checks only that
   * it is neither unspecified nor multicast, lines 646-648 and 671-682; and
   * a new alias is tentative, RFC 4862 §5.4, whichever runs first); the pf
   * anchor beside the last gif or route step (pf binds rules to interface
   * names and literal addresses, not to the interface's state); and, at the
   * end, the stale states (pf's state table) beside the old aliases (the
   * WAN's addresses), each once the tunnel and the anchor no longer use them.
   * A failure in a group is rolled back as any other: from a fresh read of
   * the live state, whatever else the group ran.
   */
  readonly withNext?: true;
}

export interface Plan {
  readonly steps: readonly PlanStep[];
  /**
   * Ownership facts learnt without running anything: our route or
   * our exact anchor found in place (adopted after a lost record), or an owned
   * thing that has already disappeared.
   */
  readonly corrections: readonly Effect[];
}

/**
 * Effects that make maped own something are recorded before the command
 * runs (write-ahead): killed between the command and the record, maped
 * still knows what it may have created. A claim on something the command
 * never made is dropped by the next plan (a correction: it is not there).
 * Removals are recorded after their command, for the same reason.
 */
const CLAIMS: ReadonlySet<Effect['kind']> = new Set(['gif-created', 'gif-configured', 'alias-added', 'route-added', 'anchor-loaded']);
export const recordedBefore = (effect: Effect): boolean => CLAIMS.has(effect.kind);

export function applyEffect(o: Ownership, effect: Effect, desired: DesiredState | null): Ownership {
  const names =
    desired === null ? {} : { wan: desired.wan, tunnel: desired.tunnel, anchor: desired.anchor, label: desired.label };
  switch (effect.kind) {
    case 'gif-created':
      return { ...o, ...names, gifCreated: true, gifConfigured: true };
    case 'gif-destroyed':
      return { ...o, gifCreated: false, gifConfigured: false };
    case 'gif-configured':
      return { ...o, ...names, gifConfigured: true };
    case 'gif-unconfigured':
      return { ...o, gifConfigured: false };
    case 'alias-added':
      return o.aliases.includes(effect.address) ? { ...o, ...names } : { ...o, ...names, aliases: [...o.aliases, effect.address] };
    case 'alias-removed':
      return { ...o, aliases: o.aliases.filter((a) => a !== effect.address) };
    case 'route-added':
      return { ...o, ...names, route: true };
    case 'route-removed':
      return { ...o, route: false };
    case 'anchor-loaded':
      return { ...o, ...names, anchorLoaded: true };
    case 'anchor-flushed':
      return { ...o, anchorLoaded: false };
  }
}

function gifAddressIsOurs(gif: InterfaceStatus, ipv4: number, peer: number): boolean {
  return gif.inet.length === 1 && gif.inet[0]!.address === ipv4 && gif.inet[0]!.peer === peer && gif.inet[0]!.netmask === 0xffffffff;
}

/** What decides whether a pf state made for `d` still fits. */
export function stateIdentity(d: DesiredState): StateIdentity {
  return { ipv4: d.ipv4, portSets: d.portset === 'kernel' || d.portset === 'stock' ? d.portSets : null, ceIPv6: d.ceIPv6, br: d.br };
}

/**
 * maped's defaults: its label on its tunnel (docs/architecture.md §3.6).
 * The label alone is not enough: anyone may add a default labelled the
 * same, and one on another interface is not maped's to change or remove.
 * Through the tunnel the route was made with an IPv4 gateway; one without
 * (`link#N`) could not be named on delete, and maped never makes one.
 */
function ownRoutes(routes: readonly DefaultRoute[], tunnel: string, label: string): DefaultRoute[] {
  return routes.filter((r) => r.label === label && r.interface === tunnel && r.gateway !== null);
}

function describeRoute(route: DefaultRoute): string {
  const via = route.gateway === null ? '' : ` via ${formatIpv4(route.gateway)}`;
  return `default route${via} on ${route.interface}`;
}

/**
 * What the live state shows to be maped's when its record was lost or is
 * missing: the /128s on the WAN that `ours` recognises (the addresses maped
 * would add, src/daemon/own-addresses.ts) or the one it wants, and a tunnel
 * interface from such an address or to the remote end it wants, taken as
 * created by maped (it is destroyed on teardown).
 */
export function adoptFromLive(desired: DesiredState, live: LiveState, owned: Ownership, ours: (address: bigint) => boolean): Effect[] {
  const effects: Effect[] = [];
  const isOurs = (address: bigint): boolean => address === desired.ceIPv6 || ours(address);
  for (const a of live.wan?.inet6 ?? []) {
    if (a.prefixlen === 128 && isOurs(a.address) && !owned.aliases.includes(a.address)) effects.push({ kind: 'alias-added', address: a.address });
  }
  const tunnel = live.gif?.tunnel;
  if (tunnel != null && !owned.gifCreated && (tunnel.destination === desired.br || isOurs(tunnel.source))) effects.push({ kind: 'gif-created' });
  return effects;
}

export function planApply(desired: DesiredState, live: LiveState, owned: Ownership, adopted: readonly Effect[] = []): Result<Plan> {
  const steps: PlanStep[] = [];
  const corrections: Effect[] = [...adopted];
  owned = adopted.reduce((o: Ownership, e) => applyEffect(o, e, desired), owned);
  const { tunnel: gifName, wan, label } = desired;
  const gif = live.gif;

  const { ipv4Peer: peer, routePriority } = desired;
  // maped's routes: labelled as it labels them, on its tunnel, and on the
  // tunnel and with the label of the last applied configuration, which the
  // record says maped made. The one at the wanted priority through the
  // wanted peer is kept; the others (an earlier priority, peer, tunnel or
  // label, a second copy) are removed.
  const before = owned.applied;
  const earlier = owned.route && before !== null ? ownRoutes(live.defaultRoutes, before.tunnel, before.label) : [];
  const ours = [...new Set([...ownRoutes(live.defaultRoutes, gifName, label), ...earlier])];
  const route = ours.find((r) => r.interface === gifName && r.label === label && r.gateway === peer && r.priority === routePriority) ?? null;
  const stale = ours.filter((r) => r !== route);
  // Other defaults stay (docs/architecture.md §3.6), but one at maped's priority
  // would make `route add` fail with EEXIST (sys/net/rtable.c 1.95
  // rtable_insert: one route per priority unless the new one is RTF_MPATH,
  // and multipath would spread IPv4 over both): say so, change nothing. A
  // default with maped's label on another interface is someone else's too.
  const taken = live.defaultRoutes.find((r) => !ours.includes(r) && r.priority === routePriority);
  if (taken !== undefined) {
    return err(`a ${describeRoute(taken)} already has priority ${routePriority}; give maped another route-priority in maped.conf (tunnel ${gifName} route-priority N)`);
  }

  // 1. The CE address on the WAN, no later than the tunnel uses it as its source.
  const wanHas = (address: bigint): boolean => live.wan?.inet6.some((a) => a.address === address) ?? false;
  if (!wanHas(desired.ceIPv6)) {
    steps.push({ command: argv.wanAliasAdd(wan, desired.ceIPv6), effect: { kind: 'alias-added', address: desired.ceIPv6 } });
  }
  const gifStepsFrom = steps.length;

  // 2. The tunnel interface.
  if (gif === null) steps.push({ command: argv.gifCreate(gifName), effect: { kind: 'gif-created' } });
  const tunnelOk = gif?.tunnel?.source === desired.ceIPv6 && gif.tunnel.destination === desired.br;
  if (!tunnelOk) {
    steps.push({ command: argv.gifTunnel(gifName, desired.ceIPv6, desired.br), effect: { kind: 'gif-configured' } });
  }
  // Set on creation too: what `ifconfig create` starts with is the kernel's choice, not ours.
  if (gif === null || gif.tunnelDf === true) steps.push({ command: argv.gifNoDf(gifName), effect: { kind: 'gif-configured' } });
  if (gif === null || gif.mtu !== desired.mtu) steps.push({ command: argv.gifMtu(gifName, desired.mtu), effect: { kind: 'gif-configured' } });
  const addressOk = gif !== null && gifAddressIsOurs(gif, desired.ipv4, peer);
  // Replacing the address purges the routes that use it (rt_ifa_purge), our
  // default route among them: remove it explicitly first, add it back after.
  const routeGoesWithAddress = !addressOk && route !== null && gif !== null && gif.inet.length > 0;
  // The wanted route, when it is there, stays ours: removing the others changes nothing in the record.
  for (const r of stale) steps.push({ command: argv.routeDeleteDefault(r.interface, r.gateway!, r.priority), effect: route === null ? { kind: 'route-removed' } : null });
  if (routeGoesWithAddress) steps.push({ command: argv.routeDeleteDefault(gifName, peer, routePriority), effect: { kind: 'route-removed' } });
  if (!addressOk) steps.push({ command: argv.gifInet(gifName, desired.ipv4, peer), effect: { kind: 'gif-configured' } });
  if (gif === null || !gif.flags.includes('UP')) steps.push({ command: argv.gifUp(gifName), effect: { kind: 'gif-configured' } });

  // 3. The IPv4 default route through the tunnel.
  if (route === null || routeGoesWithAddress) {
    steps.push({ command: argv.routeAddDefault(gifName, peer, routePriority, label), effect: { kind: 'route-added' } });
  } else if (!owned.route) {
    corrections.push({ kind: 'route-added' });
  }

  const gifStepsTo = steps.length;

  // 4. The pf anchor, loaded whole.
  const rules = anchorRules(desired);
  const anchorOk = live.anchor.foreign.length === 0 && anchorMatches(rules, live.anchor.rules);
  if (!anchorOk) {
    steps.push({ command: argv.loadAnchor(desired.anchor, renderAnchor(desired)), effect: { kind: 'anchor-loaded' } });
  } else if (!owned.anchorLoaded) {
    corrections.push({ kind: 'anchor-loaded' });
  }
  besideEachOther(steps, gifStepsFrom, gifStepsTo);

  // 6. The aliases of earlier prefixes, now that nothing uses them.
  const oldAliases: PlanStep[] = [];
  for (const address of owned.aliases) {
    if (address === desired.ceIPv6) continue;
    if (wanHas(address)) oldAliases.push({ command: argv.wanAliasDelete(wan, address), effect: { kind: 'alias-removed', address } });
    else corrections.push({ kind: 'alias-removed', address });
  }

  // 5. States translated to an address or port that is no longer ours, beside step 6:
  // the kills touch only pf's state table, the removals only the WAN's addresses.
  const previous = owned.applied;
  // A new BR or AFTR keeps the translated flows but not the old tunnel's state.
  if (previous !== null && (natIdentity(previous) !== natIdentity(desired) || previous.br !== desired.br)) {
    const killStale = { previous: stateIdentity(previous), next: stateIdentity(desired) };
    steps.push({ command: argv.showStatesWithIds(), effect: null, killStale, ...(oldAliases.length > 0 ? { withNext: true as const } : {}) });
  }
  oldAliases.forEach((step, i) => steps.push(i < oldAliases.length - 1 ? { ...step, withNext: true } : step));
  return ok({ steps, corrections });
}

/**
 * Marks the steps of steps 1-4 that run at the same time (PlanStep.withNext):
 * the alias (the step before `gifFrom`, if any) beside the first gif or route
 * step, and the last of those beside the anchor (the step at `gifTo`, if
 * any); with no gif or route step, the alias beside the anchor. The gif and
 * route steps among themselves stay in order: each needs the one before it.
 */
function besideEachOther(steps: PlanStep[], gifFrom: number, gifTo: number): void {
  const join = (at: number): void => {
    if (at >= 0 && at + 1 < steps.length) steps[at] = { ...steps[at]!, withNext: true };
  };
  const hasAlias = gifFrom > 0;
  const hasAnchor = gifTo < steps.length;
  if (hasAlias && (gifTo > gifFrom || hasAnchor)) join(gifFrom - 1);
  if (hasAnchor && gifTo > gifFrom) join(gifTo - 1);
}

/** Removes what the record says maped owns and what is still there, in reverse apply order. */
export function planTeardown(live: LiveState, owned: Ownership): Plan {
  const steps: PlanStep[] = [];
  const corrections: Effect[] = [];
  if (owned.anchorLoaded && owned.anchor !== null) {
    if (live.anchor.rules.length + live.anchor.foreign.length > 0) {
      steps.push({ command: argv.flushAnchor(owned.anchor), effect: { kind: 'anchor-flushed' } });
    } else corrections.push({ kind: 'anchor-flushed' });
    if (owned.applied !== null) {
      steps.push({ command: argv.showStatesWithIds(), effect: null, killStale: { previous: stateIdentity(owned.applied), next: null } });
    }
  }
  if (owned.route) {
    // Every default with maped's label on maped's tunnel, whatever its gateway
    // and priority: even without a record of what was applied (a first apply
    // that failed after the route) the label tells maped's from the others.
    const { tunnel, label } = owned;
    const ours = tunnel === null || label === null ? [] : ownRoutes(live.defaultRoutes, tunnel, label);
    if (ours.length === 0) corrections.push({ kind: 'route-removed' });
    ours.forEach((r, i) =>
      steps.push({ command: argv.routeDeleteDefault(r.interface, r.gateway!, r.priority), effect: i === ours.length - 1 ? { kind: 'route-removed' } : null }),
    );
  }
  if (owned.tunnel !== null && (owned.gifCreated || owned.gifConfigured)) {
    const gif = live.gif;
    if (gif === null) corrections.push({ kind: owned.gifCreated ? 'gif-destroyed' : 'gif-unconfigured' });
    else if (owned.gifCreated) steps.push({ command: argv.gifDestroy(owned.tunnel), effect: { kind: 'gif-destroyed' } });
    else {
      // An interface the admin created (hostname.gif0): leave it, clear what we set.
      const clear: Command[] = [];
      if (gif.tunnel !== null) clear.push(argv.gifDeleteTunnel(owned.tunnel));
      const ours = owned.applied?.ipv4;
      for (const address of gif.inet) if (address.address === ours) clear.push(argv.gifInetDelete(owned.tunnel, address.address));
      if (clear.length === 0) corrections.push({ kind: 'gif-unconfigured' });
      clear.forEach((command, i) => steps.push({ command, effect: i === clear.length - 1 ? { kind: 'gif-unconfigured' } : null }));
    }
  }
  if (owned.wan !== null) {
    for (const address of owned.aliases) {
      if (live.wan?.inet6.some((a) => a.address === address)) {
        steps.push({ command: argv.wanAliasDelete(owned.wan, address), effect: { kind: 'alias-removed', address } });
      } else corrections.push({ kind: 'alias-removed', address });
    }
  }
  return { steps, corrections };
}
