/**
 * The IPv4 default routes in `route -n show -inet` output (sbin/route/show.c
 * 1.123: `p_rttables` prints "Routing tables", then per address family
 * `pr_family` and `pr_rthdr`, then one `p_rtentry` line per route):
 *
 *     Routing tables
 *
 *     Internet:
 *     Destination        Gateway            Flags   Refs      Use   Mtu  Prio Iface
 *     default            0.0.0.1            UGS        0        0     -     7 gif0
 *     default            192.168.0.1        UGSP       3      125     -     8 em0
 *     127/8              127.0.0.1          UGRS       0        0 32768     8 lo0
 *
 * Columns: destination and gateway (`%-18s`), flags (`%-6.6s`: `P` is
 * RTF_MPATH), refs, use, mtu (`-` when unset, followed by `L` when locked,
 * so the number of words varies), priority (`%2d`) and interface. Several
 * defaults coexist at different priorities, or at one priority when they are
 * multipath (sys/net/rtable.c 1.95 rtable_insert); the lowest priority wins.
 */
import { err, ok, parseIpv4, type Result } from '../map/index.js';

export interface DefaultRoute {
  /** null: not an IPv4 address (an interface route shows `link#N`). */
  readonly gateway: number | null;
  readonly interface: string;
  readonly priority: number;
  /** RTF_MPATH (`P`): it shares its priority with other defaults. */
  readonly multipath: boolean;
}

/** `default  <gateway>  <flags> … <prio> <iface>`: the gateway, flags, and the last two words. */
const DEFAULT_LINE = /^default\s+(\S+)\s+(\S+)\s.*\s([0-9]+)\s+(\S+)\s*$/;

export function parseRouteShow(text: string): Result<DefaultRoute[]> {
  const routes: DefaultRoute[] = [];
  let family: string | null = null;
  for (const [n, line] of text.split('\n').entries()) {
    if (/^[A-Za-z0-9 ]+:$/.test(line)) family = line;
    // Only IPv4 defaults; an "Internet6:" section would have its own.
    if (family !== 'Internet:' || !line.startsWith('default')) continue;
    const m = DEFAULT_LINE.exec(line);
    if (m === null) return err(`route show output line ${n + 1}: cannot read "${line.slice(0, 100)}"`);
    const gateway = parseIpv4(m[1]!);
    routes.push({ gateway: gateway.ok ? gateway.value >>> 0 : null, interface: m[4]!, priority: Number(m[3]), multipath: m[2]!.includes('P') });
  }
  return ok(routes);
}
