/**
 * The ifconfig(8), route(8) and pfctl(8) invocations maped uses (the
 * sysctl(8) read of the system checks is in system-checks.ts), as argv
 * arrays without the program path (the paths come from maped.conf `tool`).
 * Forms: docs/architecture.md §3.6; sources: ifconfig(8), route(8), pfctl(8)
 * and sbin/ifconfig/ifconfig.c, sys/net/if_gif.c 1.141, lines noted per form.
 */
import { formatIpv4, formatIpv6 } from '../map/index.js';
import { GIF_PEER } from './desired-state.js';
import { PORTSET_PROBE } from './pf-anchor.js';

export type Tool = 'ifconfig' | 'route' | 'pfctl' | 'sysctl';

export interface Command {
  readonly tool: Tool;
  readonly args: readonly string[];
  /** Text written to the program's standard input (`pfctl -f -`). */
  readonly stdin?: string;
}

const ifconfig = (...args: string[]): Command => ({ tool: 'ifconfig', args });
const route = (...args: string[]): Command => ({ tool: 'route', args });
const pfctl = (...args: string[]): Command => ({ tool: 'pfctl', args });
const peerText = (peer: number | string): string => (typeof peer === 'number' ? formatIpv4(peer) : peer);

export const argv = {
  /** Every interface at once: one run reads both the tunnel and the WAN. */
  showInterfaces: (): Command => ifconfig('-a'),
  gifCreate: (gif: string): Command => ifconfig(gif, 'create'),
  gifDestroy: (gif: string): Command => ifconfig(gif, 'destroy'),
  /** Both ends of one family; an IPv6 source must not be :: or multicast, nor the destination multicast (sys/net/if_gif.c 1.141 gif_set_tunnel, lines 646-648 and 671-682). */
  gifTunnel: (gif: string, ce: bigint, br: bigint): Command => ifconfig(gif, 'tunnel', formatIpv6(ce), formatIpv6(br)),
  /** `deletetunnel` no longer exists; `-tunnel` is the only spelling (ifconfig.c). */
  gifDeleteTunnel: (gif: string): Command => ifconfig(gif, '-tunnel'),
  gifMtu: (gif: string, mtu: number): Command => ifconfig(gif, 'mtu', String(mtu)),
  /**
   * No DF on the outer IPv6 packets, so that the CE may fragment them as RFC
   * 7597 §8.3.1 allows: gif(4) starts without (sys/net/if_gif.c 1.141
   * gif_clone_create: `sc_df = htons(0)`, line 150), but a hostname.gif0 `tunneldf`
   * would set it (gif_ioctl SIOCSLIFPHYDF, lines 537-539), and gif_send then marks every
   * encapsulated packet M_IPV6_DF_OUT (lines 366-367), which ip6_output never fragments.
   */
  gifNoDf: (gif: string): Command => ifconfig(gif, '-tunneldf'),
  /** Without `alias`, ifconfig replaces the interface's first IPv4 address. */
  gifInet: (gif: string, ipv4: number, peer: number | string = GIF_PEER): Command =>
    ifconfig(gif, 'inet', formatIpv4(ipv4), peerText(peer), 'netmask', '255.255.255.255'),
  gifInetDelete: (gif: string, ipv4: number): Command => ifconfig(gif, 'inet', formatIpv4(ipv4), 'delete'),
  gifUp: (gif: string): Command => ifconfig(gif, 'up'),
  /** The CE address as a local /128 overrides dhcp6leased's reject route for the whole PD (7.8). */
  wanAliasAdd: (wan: string, ce: bigint): Command => ifconfig(wan, 'inet6', formatIpv6(ce), 'prefixlen', '128', 'alias'),
  wanAliasDelete: (wan: string, ce: bigint): Command => ifconfig(wan, 'inet6', formatIpv6(ce), 'delete'),
  /**
   * Every IPv4 route with its interface, priority and, under -v, its label
   * (sbin/route/show.c 1.123 p_rtentry, lines 348-351): `route get` shows
   * only the route the kernel would use, and other defaults (dhcpleased(8),
   * a PPPoE or static one) coexist with maped's at other priorities. maped
   * knows its own by its label on its tunnel (docs/architecture.md §3.6).
   */
  showRoutes: (): Command => route('-nv', 'show', '-inet'),
  /**
   * maped's default route, named by gateway, interface and priority alike on
   * add and delete. `-ifp` picks the tunnel even when another interface has
   * the same peer (pppoe(4) uses 0.0.0.1 too). On delete, the kernel takes
   * the first route of that gateway at that priority, any priority without
   * one (sys/net/rtsock.c route_output: RTP_ANY; sys/net/rtable.c 1.95
   * rtable_lookup), so `-priority` keeps a PPPoE default out of reach.
   */
  routeAddDefault: (gif: string, gateway: number, priority: number, label: string): Command =>
    route('-n', 'add', '-inet', 'default', formatIpv4(gateway), '-ifp', gif, '-priority', String(priority), '-label', label),
  routeDeleteDefault: (gif: string, gateway: number, priority: number): Command =>
    route('-n', 'delete', '-inet', 'default', formatIpv4(gateway), '-ifp', gif, '-priority', String(priority)),
  showAnchor: (anchor: string): Command => pfctl('-a', anchor, '-sr'),
  /**
   * `-o none`: the ruleset optimiser may merge or reorder rules (pfctl(8) `-o`),
   * and the order of the stock-mode probability rules is what makes them fair.
   */
  loadAnchor: (anchor: string, text: string): Command => ({ tool: 'pfctl', args: ['-o', 'none', '-a', anchor, '-f', '-'], stdin: text }),
  /**
   * With -a, `-F all` flushes only that anchor's tables and rules; states,
   * source nodes, statistics and the options are reset only without one
   * (sbin/pfctl/pfctl.c 1.397 main, lines 2895-2916).
   */
  flushAnchor: (anchor: string): Command => pfctl('-a', anchor, '-F', 'all'),
  /** pf's whole state table, one state a line (pf_print_state.c print_state); read by `show usage`. */
  showStates: (): Command => pfctl('-ss'),
  /** Every state with its id (`-vv` prints `id: … creatorid: …`, pf_print_state.c). */
  showStatesWithIds: (): Command => pfctl('-ss', '-vv'),
  /** One state by its id (pfctl(8) `-k id -k <id>`); pfctl takes `-k` twice at most. */
  killStateId: (id: string): Command => pfctl('-k', 'id', '-k', id),
  portsetProbe: (): Command => ({ tool: 'pfctl', args: ['-nf', '-'], stdin: PORTSET_PROBE }),
};

/** The search path the tools get when maped's own has none (OpenBSD's rc.d sets one). */
const FALLBACK_PATH = '/sbin:/bin:/usr/sbin:/usr/bin';

/**
 * The whole environment ifconfig, route, pfctl and dhcp6leasectl get:
 * LC_ALL=C and PATH. Nothing of maped's own leaks into programs run as
 * root, the C locale keeps their messages in the English the parsers
 * expect, and PATH is passed on for tools that are scripts (the test
 * fakes). How they are started and stopped: src/apply/tool-process.ts.
 */
export function toolEnvironment(inheritedPath: string | undefined): Record<string, string> {
  return { LC_ALL: 'C', PATH: inheritedPath ?? FALLBACK_PATH };
}

/** How a command reads in logs and error messages: `ifconfig gif0 tunnel A B`. */
export function describeCommand(command: Command): string {
  return [command.tool, ...command.args].join(' ');
}
