/**
 * `pfctl -ss` (and `-vss`, `-vvss`) output: pf's state table, one state a
 * line, each followed by indented detail lines with -v and -vv.
 *
 * The line is printed by print_state() in sbin/pfctl/pf_print_state.c (read
 * in the openbsd/src mirror at commit 0cde32ce, the form OpenBSD 7.8 ships):
 *
 *     printf("%s ", s->ifname);                     "all" unless if-bound
 *     printf("%s ", p->p_name);                     getprotobynumber(), or the number
 *     print_host(&nk->addr[1], nk->port[1], …);     our side, first key
 *     if (… differs from sk->addr[1]/port[1] …)
 *             printf(" ("); print_host(&sk->addr[idx], …); printf(")");
 *     printf(s->direction == PF_OUT ? " -> " : " <- ");
 *     print_host(&nk->addr[0], nk->port[0], …);     the peer, first key
 *     if (… differs …) printf(" ("); print_host(&sk->addr[idx], …); printf(")");
 *     printf("    "); printf("   %s:%s\n", <src state>, <dst state>);
 *
 * where for an outbound state `nk` is the wire key and `sk` the stack key,
 * and for an inbound one the other way round. pf keys index the packet's
 * source by `sidx = (direction == PF_IN) ? 0 : 1` (sys/net/pf.c 1.1218
 * pf_setup_pdesc, line 7319: `pd->sidx = (dir == PF_IN) ? 0 : 1;`; used by
 * pf_state_key_setup, lines 927–998, at lines 938–941 and 958–962), so
 * `addr[1]` is always this host's side. Hence:
 *
 *   out: `<our side on the wire> (<our side in the stack>) -> <peer>`, e.g. an
 *        outbound NAT state `all tcp 192.0.2.18:5700 (192.168.1.10:51234) ->
 *        93.184.216.34:443 ESTABLISHED:ESTABLISHED`;
 *   in:  `<our side in the stack> (<our side on the wire>) <- <peer>`, e.g. an
 *        rdr-to state `all tcp 192.168.1.10:22 (192.0.2.18:5000) <- 198.51.100.7:40000`.
 *
 * The parenthesised host appears only when the two keys differ. print_host()
 * writes `(rdomain) ` before the address when the routing domain is not 0, an
 * IPv4 port as `:port`, an IPv6 one as `[port]`, and nothing for port 0.
 * Newer pfctl may add ` {route-to address}` after a side; it is skipped.
 * -v adds lines of sequence windows, age and counters; -vv an `id: <16 hex>
 * creatorid: <8 hex>` line, which is kept (the state's id for `pfctl -k id`).
 */
import { parseIpv6, scanIpv4 } from '../map/index.js';

export interface PfStateHost {
  /** As printed: dotted quad or RFC 5952 text. */
  readonly address: string;
  /** 0 when print_host printed none (port 0, or a protocol without ports). */
  readonly port: number;
  readonly rdomain: number;
}

export interface PfState {
  /** `all` for floating states, else the interface the state is bound to. */
  readonly ifname: string;
  readonly proto: string;
  readonly direction: 'in' | 'out';
  /** This host's side of the connection as it is on the wire (after NAT outbound, before rdr-to inbound). */
  readonly localWire: PfStateHost;
  /** The same side as the stack sees it (the inside host before NAT, the rdr-to target). */
  readonly localStack: PfStateHost;
  readonly peerWire: PfStateHost;
  readonly peerStack: PfStateHost;
  /** `ESTABLISHED:ESTABLISHED`, `MULTIPLE:SINGLE`, … as printed. */
  readonly states: string;
  /** With -vv: the 16-hex-digit state id and 8-hex-digit creator id. */
  readonly id: string | null;
  readonly creatorId: string | null;
}

export interface StateListing {
  readonly states: readonly PfState[];
  /** The first MAX_UNRECOGNISED_KEPT state lines in a form this parser does not know, kept for a diagnostic. */
  readonly unrecognised: readonly string[];
  /** How many such lines there were in all. */
  readonly unrecognisedCount: number;
}

/** Unknown lines kept as examples: a listing of a pfctl from other sources could be all of them. */
export const MAX_UNRECOGNISED_KEPT = 10;
/** State lines parsed between two yields to the event loop in {@link parsePfctlStatesYielding}. */
export const STATE_LINES_PER_TURN = 5000;

/** A cap on what one listing may hold: a router's state limit is 100k by default (pf.conf(5) `set limit states`). */
export const MAX_STATE_LINES = 1_000_000;

/** `(rdomain) ` then a dotted quad with `:port`, or an IPv6 address with `[port]`: five groups. */
const HOST = String.raw`(?:\((\d+)\) )?(?:(\d{1,3}(?:\.\d{1,3}){3})(?::(\d+))?|([0-9A-Fa-f]*:[0-9A-Fa-f:.]*)(?:\[(\d+)\])?)`;
/** A side: the printed key's host, the other key's in parentheses if it differs, a route-to address in braces. */
const SIDE = String.raw`${HOST}(?: \(${HOST}\))?(?: \{[^}]*\})?`;
const STATE_LINE = new RegExp(String.raw`^(\S+) (\S+) ${SIDE} (->|<-) ${SIDE}\s+(\S+)$`);
const ID_LINE = /^\s+id: ([0-9a-f]{16}) creatorid: ([0-9a-f]{8})\s*$/;

/** The host of five regex groups starting at `at`, or null if absent (undefined) or invalid. */
function host(m: RegExpExecArray, at: number): PfStateHost | null | undefined {
  const [rdomain, v4, v4port, v6, v6port] = [m[at], m[at + 1], m[at + 2], m[at + 3], m[at + 4]];
  if (v4 === undefined && v6 === undefined) return undefined;
  const valid = v4 !== undefined ? scanIpv4(v4) !== null : parseIpv6(v6!).ok;
  const port = Number(v4port ?? v6port ?? 0);
  const domain = Number(rdomain ?? 0);
  if (!valid || port > 65535 || domain > 255) return null;
  return { address: (v4 ?? v6)!, port, rdomain: domain };
}

/** One state line (without its detail lines), or null when it is not of print_state's form. */
export function parseStateLine(line: string): Omit<PfState, 'id' | 'creatorId'> | null {
  const m = STATE_LINE.exec(line.trimEnd());
  if (m === null) return null;
  const first = host(m, 3);
  const second = host(m, 14);
  if (!first || !second) return null;
  const firstParen = host(m, 8) ?? first;
  const secondParen = host(m, 19) ?? second;
  if (firstParen === null || secondParen === null) return null;
  const direction = m[13] === '->' ? 'out' : 'in';
  // Outbound: the printed key is the wire key and the parenthesis the stack key; inbound the reverse.
  const [localWire, localStack, peerWire, peerStack] =
    direction === 'out' ? [first, firstParen, second, secondParen] : [firstParen, first, secondParen, second];
  return { ifname: m[1]!, proto: m[2]!, direction, localWire, localStack, peerWire, peerStack, states: m[24]! };
}

/**
 * A listing, parsed in one go. The daemon uses {@link parsePfctlStatesYielding},
 * which gives the event loop a turn every STATE_LINES_PER_TURN lines.
 */
export function parsePfctlStates(text: string): StateListing {
  const parser = new StatesParser(text);
  while (!parser.step(Infinity));
  return parser.listing();
}

/**
 * The same, a turn of the event loop every STATE_LINES_PER_TURN state lines:
 * a table of a few hundred thousand states takes seconds to parse, during
 * which the control socket and the lease watch would otherwise wait.
 */
export async function parsePfctlStatesYielding(text: string): Promise<StateListing> {
  const parser = new StatesParser(text);
  while (!parser.step(STATE_LINES_PER_TURN)) await new Promise((resolve) => setImmediate(resolve));
  return parser.listing();
}

class StatesParser {
  private readonly states: PfState[] = [];
  private readonly unrecognised: string[] = [];
  private unrecognisedCount = 0;
  private last: Omit<PfState, 'id' | 'creatorId'> | null = null;
  private id: string | null = null;
  private creatorId: string | null = null;
  private lines = 0;
  private at = 0;

  constructor(private readonly text: string) {}

  /** Parses up to `budget` state lines; true when the text is done (or MAX_STATE_LINES reached). */
  step(budget: number): boolean {
    const text = this.text;
    let taken = 0;
    while (this.at < text.length) {
      const end = text.indexOf('\n', this.at);
      const line = text.slice(this.at, end === -1 ? text.length : end);
      this.at = end === -1 ? text.length : end + 1;
      if (line.trim() === '') continue;
      const first = line.charCodeAt(0);
      if (first === 0x20 || first === 0x09) {
        // A detail line of the state above (-v, -vv); only the id is kept.
        const m = ID_LINE.exec(line);
        if (m !== null && this.last !== null) {
          this.id = m[1]!;
          this.creatorId = m[2]!;
        }
        continue;
      }
      this.flush();
      if (++this.lines > MAX_STATE_LINES) {
        this.at = text.length;
        break;
      }
      const parsed = parseStateLine(line);
      if (parsed !== null) this.last = parsed;
      else if (this.unrecognisedCount++ < MAX_UNRECOGNISED_KEPT) this.unrecognised.push(line);
      if (++taken >= budget) return false;
    }
    this.flush();
    return true;
  }

  listing(): StateListing {
    return { states: this.states, unrecognised: this.unrecognised, unrecognisedCount: this.unrecognisedCount };
  }

  private flush(): void {
    if (this.last !== null) this.states.push({ ...this.last, id: this.id, creatorId: this.creatorId });
    this.last = null;
    this.id = this.creatorId = null;
  }
}
