/**
 * The NAT rules of the anchor maped loads, evaluated for one new outbound
 * TCP SYN from a LAN host the way pf.c 1.1218 `pf_match_rule` (lines
 * 4084–4354) evaluates them
 * (the anchor alone: the main ruleset is taken to call it and translate
 * nothing before it):
 * - rules are tried in order; a rule is skipped when its interface,
 *   direction, address family, protocol, source, destination or TCP flags do
 *   not fit. The source is compared with `pd->nsaddr`, the source as
 *   translated so far (`PF_MISMATCHAW(&r->src.addr, &ctx->pd->nsaddr, …)`,
 *   lines 4109–4112; the other tests, lines 4097–4108 and 4134–4136);
 * - `probability`: skipped when `r->prob <= arc4random_uniform(UINT_MAX - 1) + 1`
 *   (lines 4211–4213),
 *   with r->prob the value pfctl stored for the rule's text
 *   (pf-probability.ts reproduces pfctl's rounding); then `tagged`: skipped
 *   unless the packet carries that tag (`pf_match_tag`, lines 4214–4216); a
 *   matching rule's `tag` replaces the packet's for the rules after it
 *   (`ctx->tag = r->tag`, lines 4233–4234);
 * - a matching `match … nat-to` calls pf_get_transaddr at once (lines
 *   4264–4269), which sets `pd->nsaddr` to the nat-to address (pf_lb.c 1.76
 *   line 718) — what later rules see as the source;
 * - a matching `quick` rule ends the evaluation (lines 4302–4303).
 * A rule using anything else (tables, negation, other protocols) is
 * refused with an error rather than guessed at.
 */
import { parseIpv4Prefix, type PortRange } from '../../src/map/index.js';
import { parsePfctlRules, pfctlStoredProbability, UINT_MAX, type PrintedPfRule } from '../../src/openbsd/index.js';
import type { NatChain } from './stock-model.js';
import type { Prng } from './prng.js';

/** pfctl.h PF_NAT_PROXY_PORT_LOW/HIGH: the range of a nat-to without `port`. */
const DEFAULT_NAT_RANGE: PortRange = [50001, 65535];

export interface AnchorPacket {
  /** The tunnel interface the packet leaves on (gif0). */
  readonly tunnel: string;
  /** The address `(tunnel)` stands for: the MAP IPv4 address. */
  readonly tunnelAddress: number;
  /** The LAN host's address. */
  readonly source: number;
}

/** Fields the rule parser may carry beyond those of main's first anchor. */
interface Tagging {
  readonly tag?: string | null;
  readonly tagged?: string | null;
}

interface CompiledRule {
  /** The source as address and mask: `any` is 0/0, `(gif0)` its one address /32. */
  readonly address: number;
  readonly mask: number;
  /** What pfctl stored for `probability`, or 0 for none. */
  readonly prob: number;
  /** Tags as numbers, 0 for none. */
  readonly tag: number;
  readonly tagged: number;
  readonly nat: PortRange | null;
  readonly quick: boolean;
  readonly applies: boolean;
}

/** The chain of an anchor's text for packets like `packet`; throws on a rule it cannot model. */
export function anchorNatChain(anchorText: string, packet: AnchorPacket): NatChain {
  const listing = parsePfctlRules(anchorText);
  const unknown = listing.foreign.filter((line) => !line.startsWith('#'));
  if (unknown.length > 0) throw new Error(`anchor rule not modelled: ${unknown[0]}`);
  // Only rules that can match this packet and translate or stop it matter;
  // an MSS clamp or a pass without quick changes neither the source nor the port.
  const tags = new Map<string, number>();
  const rules = listing.rules.map((rule) => compile(rule, packet, tags)).filter((rule) => rule.applies && (rule.nat !== null || rule.quick || rule.tag !== 0));
  const n = rules.length;
  const address = Uint32Array.from(rules, (rule) => rule.address);
  const mask = Uint32Array.from(rules, (rule) => rule.mask);
  const prob = Float64Array.from(rules, (rule) => rule.prob);
  const quick = Uint8Array.from(rules, (rule) => (rule.quick ? 1 : 0));
  const tag = Int32Array.from(rules, (rule) => rule.tag);
  const tagged = Int32Array.from(rules, (rule) => rule.tagged);
  const nat = rules.map((rule) => rule.nat);
  const ranges: PortRange[] = [];
  return {
    natRanges(rng: Prng): readonly PortRange[] {
      ranges.length = 0;
      let nsaddr = packet.source;
      let packetTag = 0;
      for (let i = 0; i < n; i++) {
        if ((nsaddr & mask[i]!) >>> 0 !== address[i]) continue;
        if (prob[i] !== 0 && prob[i]! <= rng.uniform(UINT_MAX - 1) + 1) continue;
        if (tagged[i] !== 0 && tagged[i] !== packetTag) continue;
        if (tag[i] !== 0) packetTag = tag[i]!;
        const range = nat[i];
        if (range !== null && range !== undefined) {
          ranges.push(range);
          nsaddr = packet.tunnelAddress;
        }
        if (quick[i] === 1) break;
      }
      return ranges;
    },
  };
}

/** The fields of a printed rule this evaluation knows what pf does with. */
const MODELLED = new Set(['action', 'direction', 'quick', 'on', 'af', 'proto', 'from', 'to', 'flags', 'maxMss', 'label', 'natTo', 'probability', 'tag', 'tagged']);

function compile(rule: PrintedPfRule & Tagging, packet: AnchorPacket, tags: Map<string, number>): CompiledRule {
  const text = `${rule.action} ${rule.direction} on ${rule.on} ${rule.af} from ${rule.from} to ${rule.to}`;
  // A field the rule parser learns later (a tag, say) must not be ignored in silence.
  const unknown = Object.entries(rule).find(([field, value]) => !MODELLED.has(field) && value !== null && value !== undefined);
  if (unknown !== undefined) throw new Error(`anchor rule not modelled (${unknown[0]}): ${text}`);
  // An IPv4 TCP SYN leaving the tunnel: rules for other interfaces,
  // directions, families or protocols are skipped whatever else they say.
  const applies = rule.direction !== 'in' && rule.on === packet.tunnel && rule.af === 'inet' && (rule.proto === null || rule.proto === 'tcp');
  if (!applies) return { address: 0, mask: 0, prob: 0, tag: 0, tagged: 0, nat: null, quick: false, applies };
  if (rule.to !== 'any') throw new Error(`anchor rule not modelled (destination ${rule.to}): ${text}`);
  if (rule.flags !== null && rule.flags !== 'S/SA') throw new Error(`anchor rule not modelled (flags ${rule.flags}): ${text}`);
  let prob = 0;
  if (rule.probability !== null) {
    const stored = pfctlStoredProbability(rule.probability);
    if (stored === null) throw new Error(`anchor rule with a probability pfctl refuses: ${text}`);
    prob = stored;
  }
  let nat: PortRange | null = null;
  if (rule.natTo !== null) {
    if (rule.natTo.address !== `(${packet.tunnel})`) throw new Error(`anchor rule not modelled (nat-to ${rule.natTo.address}): ${text}`);
    if (rule.natTo.mapePortset !== null) throw new Error(`stock model given a map-e-portset rule: ${text}`);
    nat = rule.natTo.ports ?? DEFAULT_NAT_RANGE;
  }
  const number = (name: string | null | undefined): number => {
    if (name === null || name === undefined) return 0;
    if (!tags.has(name)) tags.set(name, tags.size + 1);
    return tags.get(name)!;
  };
  return { ...source(rule.from, packet, text), prob, tag: number(rule.tag), tagged: number(rule.tagged), nat, quick: rule.quick, applies };
}

function source(from: string, packet: AnchorPacket, text: string): { address: number; mask: number } {
  if (from === 'any') return { address: 0, mask: 0 };
  // `(gif0)`: the interface's addresses when the packet is tested; it has one.
  if (from === `(${packet.tunnel})`) return { address: packet.tunnelAddress >>> 0, mask: 0xffffffff };
  const prefix = parseIpv4Prefix(from.includes('/') ? from : `${from}/32`);
  if (!prefix.ok) throw new Error(`anchor rule not modelled (source ${from}): ${text}`);
  const { address, length } = prefix.value;
  return { address: address >>> 0, mask: length === 0 ? 0 : (0xffffffff << (32 - length)) >>> 0 };
}
