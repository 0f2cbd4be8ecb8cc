/**
 * pf.conf text → model rules: the subset of pf.conf(5) that maped's anchor and
 * a typical main ruleset use (the OpenBSD 7.8 default /etc/pf.conf, an admin's
 * nat-to, pass and block rules). Anything outside that subset throws, naming
 * the line, rather than being half understood.
 *
 * Defaults are the ones sbin/pfctl/parse.y fills in: a pass rule keeps state
 * and, for TCP (or no protocol), filters on `flags S/SA`; `nat-to` without
 * `port` uses 50001:65535 (PF_NAT_PROXY_PORT_LOW/HIGH, pfctl.h). Like
 * parse.y 1.719 `rule_consistent`, `nat-to` is refused on anything but `out`
 * rules, `rdr-to` on anything but `in` rules, and either without state.
 */
import { parseIpv4, parseIpv6 } from '../../../src/map/index.js';
import { pfctlStoredProbability } from '../../../src/openbsd/index.js';
import type { AddressSpec, Af, ModelRule, NatToSpec, PortSpec, RdrToSpec, Ruleset } from './rules.js';

const PF_NAT_PROXY_PORT_LOW = 50001;
const PF_NAT_PROXY_PORT_HIGH = 65535;

/** Blanks separate words; `"…"`, `( … )` and `{ … }` stay whole. */
function words(line: string): string[] {
  const out: string[] = [];
  let i = 0;
  while (i < line.length) {
    const c = line[i]!;
    if (c === ' ' || c === '\t') {
      i++;
      continue;
    }
    const close = c === '"' ? '"' : c === '(' ? ')' : c === '{' ? '}' : null;
    let end: number;
    if (close !== null) {
      end = line.indexOf(close, i + 1);
      if (end === -1) throw new Error(`unterminated ${c}`);
    } else {
      end = i;
      while (end + 1 < line.length && !' \t'.includes(line[end + 1]!)) end++;
    }
    out.push(line.slice(i, end + 1));
    i = end + 1;
  }
  return out;
}

export function parseHost(text: string): { af: Af; value: bigint } | null {
  const v4 = parseIpv4(text);
  if (v4.ok) return { af: 'inet', value: BigInt(v4.value) };
  const v6 = parseIpv6(text);
  if (v6.ok) return { af: 'inet6', value: v6.value };
  return null;
}

function parseAddress(text: string, negate: boolean): AddressSpec {
  if (text === 'any' || text === 'all') {
    if (negate) throw new Error('"! any" matches nothing');
    return { kind: 'any' };
  }
  const dynamic = /^\(([a-z]+[0-9]*)(?::(network|0))?\)$/.exec(text);
  if (dynamic !== null) {
    return { kind: 'dynamic', ifname: dynamic[1]!, network: dynamic[2] === 'network', first: dynamic[2] === '0', negate };
  }
  const [address, length] = text.split('/');
  const host = parseHost(address!);
  if (host === null) throw new Error(`unsupported address "${text}"`);
  const bits = host.af === 'inet' ? 32 : 128;
  const prefixLength = length === undefined ? bits : Number(length);
  if (!Number.isInteger(prefixLength) || prefixLength < 0 || prefixLength > bits) throw new Error(`bad prefix length in "${text}"`);
  return { kind: 'prefix', af: host.af, value: host.value, length: prefixLength, negate };
}

function parsePort(text: string | undefined): PortSpec {
  const m = /^([0-9]+)(?::([0-9]+))?$/.exec(text ?? '');
  if (m === null) throw new Error(`unsupported port "${text}"`);
  const low = Number(m[1]);
  const high = Number(m[2] ?? m[1]);
  if (low > high || high > 65535) throw new Error(`bad port range "${text}"`);
  return { low, high };
}

const unquote = (s: string): string => s.replace(/^"(.*)"$/, '$1');

/** One rule line (comments already removed) of the ruleset `ruleset`. */
export function parseRule(text: string, ruleset = 'main'): ModelRule {
  const t = words(text);
  let k = 0;
  const peek = (): string | undefined => t[k];
  const next = (): string => {
    const w = t[k++];
    if (w === undefined) throw new Error(`unexpected end of rule`);
    return w;
  };
  const action = next();
  if (action !== 'pass' && action !== 'block' && action !== 'match' && action !== 'anchor') throw new Error(`unsupported action "${action}"`);
  const anchor = action === 'anchor' ? unquote(next()) : null;
  if (action === 'block' && (peek() === 'return' || peek() === 'drop')) k++;
  let direction: ModelRule['direction'] = null;
  if (peek() === 'in' || peek() === 'out') direction = next() as 'in' | 'out';
  let log = false;
  if (peek() === 'log') {
    log = true;
    k++;
  }
  let quick = false;
  if (peek() === 'quick') {
    quick = true;
    k++;
  }
  let on: ModelRule['on'] = null;
  if (peek() === 'on') {
    k++;
    const negate = peek() === '!';
    if (negate) k++;
    on = { name: next(), negate };
  }
  let af: Af | null = null;
  if (peek() === 'inet' || peek() === 'inet6') af = next() as Af;
  let protos: string[] | null = null;
  if (peek() === 'proto') {
    k++;
    const p = next();
    protos = p.startsWith('{') ? p.slice(1, -1).split(/[\s,]+/).filter((x) => x !== '') : [p];
  }
  let from: AddressSpec = { kind: 'any' };
  let to: AddressSpec = { kind: 'any' };
  let fromPort: PortSpec | null = null;
  let toPort: PortSpec | null = null;
  const addressWithPort = (): [AddressSpec, PortSpec | null] => {
    let address: AddressSpec = { kind: 'any' };
    if (peek() !== 'port') {
      const negate = peek() === '!';
      if (negate) k++;
      address = parseAddress(next(), negate);
    }
    let port: PortSpec | null = null;
    if (peek() === 'port') {
      k++;
      // parse.y port_item: `port N` and `port = N` are the same test (PF_OP_EQ), as pfctl prints it.
      if (peek() === '=') k++;
      port = parsePort(next());
    }
    return [address, port];
  };
  if (peek() === 'all') k++;
  else {
    if (peek() === 'from') {
      k++;
      [from, fromPort] = addressWithPort();
    }
    if (peek() === 'to') {
      k++;
      [to, toPort] = addressWithPort();
    }
  }
  let user: string | null = null;
  let flags: ModelRule['flags'] | 'any' | null = null;
  let icmpType: string | null = null;
  let probability: number | null = null;
  let maxMss: number | null = null;
  let keepState: boolean | null = null;
  let label: string | null = null;
  let tag: string | null = null;
  let tagged: string | null = null;
  let natTo: NatToSpec | null = null;
  let rdrTo: RdrToSpec | null = null;
  while (k < t.length) {
    const word = next();
    if (word === 'user') user = next();
    else if (word === 'flags') {
      const f = next();
      if (f === 'any') flags = 'any';
      else {
        const m = /^([FSRPAUEW]*)\/([FSRPAUEW]+)$/.exec(f);
        if (m === null) throw new Error(`unsupported flags "${f}"`);
        flags = { set: m[1]!, mask: m[2]! };
      }
    } else if (word === 'icmp-type') icmpType = next();
    else if (word === 'probability') {
      const text = next();
      probability = pfctlStoredProbability(text);
      if (probability === null) throw new Error(`invalid probability "${text}"`);
    } else if (word === 'scrub') {
      const m = /^\(max-mss ([0-9]+)\)$/.exec(next());
      if (m === null) throw new Error('unsupported scrub options');
      maxMss = Number(m[1]);
    } else if (word === 'keep' || word === 'no') {
      if (next() !== 'state') throw new Error(`"${word}" must be followed by "state"`);
      keepState = word === 'keep';
    } else if (word === 'label') label = unquote(next());
    else if (word === 'tag') tag = unquote(next());
    else if (word === 'tagged') tagged = unquote(next());
    else if (word === 'nat-to') {
      if (direction !== 'out') throw new Error('nat-to can only be used outbound');
      const address = parseAddress(next(), false);
      let low = PF_NAT_PROXY_PORT_LOW;
      let high = PF_NAT_PROXY_PORT_HIGH;
      let mapePortset: NatToSpec['mapePortset'] = null;
      for (;;) {
        if (peek() === 'port') {
          k++;
          ({ low, high } = parsePort(next()));
        } else if (peek() === 'round-robin') k++;
        else if (peek() === 'map-e-portset') {
          k++;
          const m = /^([0-9]+)\/([0-9]+)\/([0-9]+)$/.exec(next());
          if (m === null) throw new Error('bad map-e-portset');
          mapePortset = [Number(m[1]), Number(m[2]), Number(m[3])];
        } else break;
      }
      natTo = { address, low, high, mapePortset };
    } else if (word === 'rdr-to') {
      if (direction !== 'in') throw new Error('rdr-to can only be used inbound');
      const address = parseAddress(next(), false);
      let low = 0;
      let high = 0;
      if (peek() === 'port') {
        k++;
        const text = next();
        const star = /^([0-9]+):\*$/.exec(text);
        if (star !== null) {
          // apply_redirspec: `p:*` spans as many ports as the rule's destination range.
          if (toPort === null) throw new Error('rdr-to port p:* needs a destination port range');
          low = Number(star[1]);
          high = low + (toPort.high - toPort.low);
        } else {
          const range = parsePort(text);
          low = range.low;
          high = text.includes(':') ? range.high : 0;
        }
      }
      rdrTo = { address, low, high };
    } else throw new Error(`unsupported word "${word}"`);
  }
  const passes = action === 'pass';
  const keeps = passes && keepState !== false;
  // rule_consistent: "nat-to and rdr-to require keep state" (match rules keep it for this test).
  if ((natTo !== null || rdrTo !== null) && passes && !keeps) throw new Error('nat-to and rdr-to require keep state');
  const tcpOrAny = protos === null || protos.includes('tcp');
  // parse.y: stateful pass rules filter on S/SA unless told otherwise.
  const effectiveFlags = flags === 'any' ? null : flags ?? (keeps && tcpOrAny ? { set: 'S', mask: 'SA' } : null);
  return {
    text,
    ruleset,
    action,
    anchor,
    direction,
    log,
    quick,
    on,
    af,
    protos,
    from,
    fromPort,
    to,
    toPort,
    user,
    flags: effectiveFlags,
    icmpType,
    probability,
    maxMss,
    keepState: keeps,
    label,
    tag,
    tagged,
    natTo,
    rdrTo,
  };
}

/** Rule lines of a ruleset text; `set skip on x` lines are returned apart. */
export function parseRules(text: string, ruleset = 'main'): { rules: ModelRule[]; skip: string[] } {
  const rules: ModelRule[] = [];
  const skip: string[] = [];
  text.split('\n').forEach((raw, index) => {
    const line = raw.replace(/#.*$/, '').trim();
    if (line === '') return;
    try {
      const set = /^set skip on (\S+)$/.exec(line);
      if (set !== null) skip.push(set[1]!);
      else rules.push(parseRule(line, ruleset));
    } catch (e) {
      throw new Error(`${ruleset}:${index + 1}: ${(e as Error).message}: ${line}`);
    }
  });
  return { rules, skip };
}

/** A main ruleset and the anchors it calls, e.g. `{ maped: renderAnchor(desired) }`. */
export function parseRuleset(main: string, anchors: Readonly<Record<string, string>> = {}): Ruleset {
  const parsed = parseRules(main);
  const anchorMap = new Map<string, readonly ModelRule[]>();
  for (const [name, text] of Object.entries(anchors)) {
    const inner = parseRules(text, name);
    if (inner.skip.length > 0) throw new Error(`${name}: "set" is not allowed in an anchor`);
    anchorMap.set(name, inner.rules);
  }
  return { main: parsed.rules, anchors: anchorMap, skip: parsed.skip };
}
