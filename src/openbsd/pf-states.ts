/**
 * pf states maped must kill when its address, port set or tunnel ends
 * change, read from `pfctl -ss -vv` and killed one by one with
 * `pfctl -k id -k <id>` (pfctl(8)).
 *
 * Why by id: `pfctl -k label` compares the label of the state's deciding
 * pass or block rule only (sys/net/pf_ioctl.c 1.423, DIOCKILLSTATES, lines
 * 1762–1899: `st->rule.ptr->label`, lines 1886–1887), and maped writes no
 * pass rule for IPv4; `pfctl -k <host>` compares, for an outbound state, the
 * stack key, i.e. the address *before* NAT (same ioctl, `sk =
 * st->key[PF_SK_STACK];`, lines 1854–1859), so it cannot select "everything
 * translated to 192.0.2.18".
 * pfctl takes `-k` at most twice, so each id is one run.
 *
 * `pfctl -ss -vv` prints each state as sbin/pfctl/pf_print_state.c
 * `print_state` does:
 *
 *     all tcp 192.0.2.18:1232 (192.168.1.23:40000) -> 198.51.100.7:443       ESTABLISHED:ESTABLISHED
 *        age 00:01:02, expires in 23:59:58, 10:12 pkts, 1234:5678 bytes, rule 3
 *        id: 5f3a1b2c00000001 creatorid: 6fa5c2d1
 *
 * the interface ("all" for floating states), the protocol, then for an
 * outbound state the wire key's source (after NAT), the stack key's in
 * parentheses when it differs, `->` and the destination; an inbound state
 * prints its local side first and `<-`. Hosts are `a.b.c.d:port`,
 * `addr[port]` for IPv6, without a port when it is 0.
 */
import { formatIpv4, formatIpv6, parseIpv4, parseIpv6, type PortRange } from '../map/index.js';
import { STATE_LINES_PER_TURN } from './pfctl-states.js';

export interface KillableStateHost {
  /** Canonical text (IPv6 in RFC 5952 form). */
  readonly address: string;
  readonly port: number | null;
}

export interface KillableState {
  readonly id: string;
  readonly proto: string;
  readonly direction: 'in' | 'out';
  /** The local side as printed first: the translated source of an outbound state. */
  readonly local: KillableStateHost;
  /** The other form of the local side, printed in parentheses (before NAT, or before rdr). */
  readonly localOther: KillableStateHost | null;
  readonly remote: KillableStateHost;
}

function parseHost(text: string): KillableStateHost | null {
  const v6 = /^([0-9a-fA-F:.]+)(?:\[([0-9]+)\])?$/.exec(text);
  if (v6 !== null && text.includes(':') && !/^[0-9.]+:[0-9]+$/.test(text)) {
    const address = parseIpv6(v6[1]!);
    if (!address.ok) return null;
    return { address: formatIpv6(address.value), port: v6[2] === undefined ? null : Number(v6[2]) };
  }
  const v4 = /^([0-9.]+)(?::([0-9]+))?$/.exec(text);
  if (v4 === null) return null;
  const address = parseIpv4(v4[1]!);
  if (!address.ok) return null;
  return { address: formatIpv4(address.value), port: v4[2] === undefined ? null : Number(v4[2]) };
}

/** The lines of `text`, without splitting it into one array (a listing may hold a million). */
function* linesOf(text: string): Generator<string> {
  for (let at = 0; at < text.length; ) {
    const end = text.indexOf('\n', at);
    const stop = end === -1 ? text.length : end;
    yield text.slice(at, stop);
    at = stop + 1;
  }
}

/** Reads a listing line by line; `states` holds those with their ids. */
function statesWithIdsReader(): { readonly states: KillableState[]; read(line: string): void } {
  const states: KillableState[] = [];
  let pending: Omit<KillableState, 'id'> | null = null;
  return {
    states,
    read(line) {
      if (line.trim() === '') return;
      if (!/^\s/.test(line)) {
        pending = null;
        const m = /^\S+ (\S+) (\S+)(?: \((\S+)\))? (->|<-) (\S+)(?: \((\S+)\))?\s/.exec(line + ' ');
        if (m === null) return;
        const local = parseHost(m[2]!);
        const other = m[3] === undefined ? null : parseHost(m[3]);
        const remote = parseHost(m[5]!);
        if (local === null || remote === null || (m[3] !== undefined && other === null)) return;
        pending = { proto: m[1]!, direction: m[4] === '->' ? 'out' : 'in', local, localOther: other, remote };
        return;
      }
      const id = /^\s+id: ([0-9a-f]{16}) creatorid: [0-9a-f]{8}/.exec(line);
      if (id !== null && pending !== null) {
        states.push({ id: id[1]!, ...pending });
        pending = null;
      }
    },
  };
}

/** The states of a `pfctl -ss -vv` listing; lines it does not understand are skipped. */
export function parseStatesWithIds(text: string): KillableState[] {
  const reader = statesWithIdsReader();
  for (const line of linesOf(text)) reader.read(line);
  return reader.states;
}

/**
 * The same, with a turn of the event loop every STATE_LINES_PER_TURN lines,
 * as the apply reads it: a table of a few hundred thousand states takes
 * seconds, during which the control socket would otherwise wait.
 */
export async function parseStatesWithIdsYielding(text: string): Promise<KillableState[]> {
  const reader = statesWithIdsReader();
  let lines = 0;
  for (const line of linesOf(text)) {
    reader.read(line);
    if (++lines % STATE_LINES_PER_TURN === 0) await new Promise((resolve) => setImmediate(resolve));
  }
  return reader.states;
}

/** What decides whether a state still fits: maped's address, port set and tunnel ends. */
export interface StateIdentity {
  readonly ipv4: number;
  /** The ranges NAT may use; null: the whole port space (no port sharing). */
  readonly portSets: readonly PortRange[] | null;
  readonly ceIPv6: bigint;
  readonly br: bigint;
}

function sameRanges(a: readonly PortRange[] | null, b: readonly PortRange[] | null): boolean {
  if (a === null || b === null) return a === b;
  return a.length === b.length && a.every(([x, y], i) => b[i]![0] === x && b[i]![1] === y);
}

function inRanges(port: number | null, ranges: readonly PortRange[] | null): boolean {
  if (ranges === null) return true;
  return port !== null && ranges.some(([first, last]) => port >= first && port <= last);
}

/**
 * The states made for `previous` that `next` (null: nothing, a teardown) no
 * longer carries: IPv4 states whose local side is the old address, when the
 * address changed or the port set changed and the port is outside the new one; the ipencap states
 * between the old CE and BR when either end changed.
 */
export function staleStates(states: readonly KillableState[], previous: StateIdentity, next: StateIdentity | null): KillableState[] {
  const oldIpv4 = formatIpv4(previous.ipv4);
  const ce = formatIpv6(previous.ceIPv6);
  const br = formatIpv6(previous.br);
  const tunnelMoved = next === null || next.ceIPv6 !== previous.ceIPv6 || next.br !== previous.br;
  return states.filter((s) => {
    if (s.proto === 'ipencap') {
      const ends = [s.local.address, s.remote.address];
      return tunnelMoved && ends.includes(ce) && ends.includes(br);
    }
    const local = s.local.address === oldIpv4 ? s.local : s.localOther?.address === oldIpv4 ? s.localOther : null;
    if (local === null) return false;
    if (next === null || next.ipv4 !== previous.ipv4) return true;
    return !sameRanges(previous.portSets, next.portSets) && !inRanges(local.port, next.portSets);
  });
}
