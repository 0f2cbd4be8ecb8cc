/**
 * The IPv4 default routes in `route -n -v show -inet` output, labels
 * included (sbin/route/show.c 1.123: `p_rttables` prints "Routing tables"
 * at line 214, then per address family `pr_family` (lines 380-383) and
 * `pr_rthdr` (lines 266-273, which adds " Label" under -v), then one
 * `p_rtentry` line per route, lines 296-353):
 *
 *     Routing tables
 *
 *     Internet:
 *     Destination        Gateway            Flags   Refs      Use   Mtu  Prio Iface Label
 *     default            0.0.0.1            UGS        0        0     -     7 gif0  "maped"
 *     default            192.168.0.1        UGSP       3      125     -     8 em0   "dhcpleased"
 *     default            0.0.0.1            UGSP       1        4  1454 L   8 pppoe0
 *     127/8              127.0.0.1          UGRS       0        0 32768     8 lo0
 *
 * p_rtentry: destination and gateway `%-18s ` (line 431: with -n never cut),
 * flags `%-6.6s ` (line 340; `P` is RTF_MPATH), refs and use `%5u %8llu `
 * (line 341), mtu `%5u ` or `-` (lines 343-346), `L` when the mtu is locked
 * else a blank (line 347), then `  %2d %-5.16s` priority and interface
 * (lines 348-349) and, under -v and only for a route that has one, ` %s` of
 * the label (lines 350-351), which routename prints as `"%s"`: in double
 * quotes, nothing escaped (lines 523-531). The label is the end of the
 * line, so everything between the first and the last quote is the label,
 * blanks and quotes included; it holds at most RTLABEL_LEN - 1 = 31
 * characters (sys/net/route.h), which `name[RTLABEL_LEN + 2]` (line 525)
 * prints whole. route(8) takes any bytes for a label, a newline too: such
 * a label ends its line without the closing quote, and what follows the
 * newline is no `default` line of the table (only root sets labels). Several defaults coexist at different priorities, or at one
 * priority when they are multipath (sys/net/rtable.c 1.95 rtable_insert);
 * the lowest priority wins.
 */
import { err, ok, parseIpv4, type Result } from '../map/index.js';
import { RTLABEL_LEN } from './names.js';

export interface DefaultRoute {
  /** null: not an IPv4 address (an interface route shows `link#N`). */
  readonly gateway: number | null;
  readonly interface: string;
  readonly priority: number;
  /** RTF_MPATH (`P`): it shares its priority with other defaults. */
  readonly multipath: boolean;
  /** The route label (`route -label`), null when the route has none. */
  readonly label: string | null;
}

/**
 * `default  <gateway>  <flags>  <refs>  <use>  <mtu>[ L]  <prio> <iface>[ "<label>"]`.
 * The refs, use and mtu columns are matched as what they are, so that the
 * priority and interface are never taken from inside a label.
 */
const DEFAULT_LINE = /^default +(\S+) +(\S+) +[0-9]+ +[0-9]+ +(?:-|[0-9]+) L? +([0-9]+) (\S+) *(.*)$/;
/** A label as routename prints it: in quotes to the end of the line, or cut short by a newline it holds. */
const QUOTED = /^"(.*?)"?$/;

export function parseRouteShow(text: string): Result<DefaultRoute[]> {
  const routes: DefaultRoute[] = [];
  let family: string | null = null;
  for (const [n, line] of text.split('\n').entries()) {
    if (/^[A-Za-z0-9 ]+:$/.test(line)) family = line;
    // Only IPv4 defaults; an "Internet6:" section would have its own.
    if (family !== 'Internet:' || !line.startsWith('default')) continue;
    const m = DEFAULT_LINE.exec(line);
    const label = m === null || m[5] === '' ? null : QUOTED.exec(m[5]!)?.[1];
    // A label is quoted and short: anything else is no line of show.c's.
    if (m === null || label === undefined || (label !== null && label.length >= RTLABEL_LEN)) {
      return err(`route show output line ${n + 1}: cannot read "${line.slice(0, 100)}"`);
    }
    const gateway = parseIpv4(m[1]!);
    routes.push({
      gateway: gateway.ok ? gateway.value >>> 0 : null,
      interface: m[4]!,
      priority: Number(m[3]),
      multipath: m[2]!.includes('P'),
      label,
    });
  }
  return ok(routes);
}
