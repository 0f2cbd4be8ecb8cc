/**
 * The pf anchor maped loads whole with `pfctl -o none -a <anchor> -f -`
 * (docs/architecture.md §3.6; pfctl(8), pf.conf(5)).
 *
 * Rules are built as values first, then written in the order pfctl's
 * `print_rule` (sbin/pfctl/pfctl_parser.c 1.352, lines 719-1171) prints them, so that the text we
 * load and the `pfctl -a <anchor> -sr` we read back line up rule by rule and
 * can be compared field by field.
 *
 * What pf does with the rules (sys/net/pf.c 1.1218 `pf_match_rule`, lines
 * 4084–4354, called from `pf_test_rule`, lines 4357–4584, at line 4419 for
 * the main ruleset; an `anchor` rule is entered in pf_match_rule itself,
 * lines 4305–4328: `pf_anchor_stack_push(…)`, `ruleset =
 * &r->anchor->ruleset;`, `goto enter_ruleset;`):
 * - every rule's source is tested against `pd->nsaddr`
 *   (`PF_MISMATCHAW(&r->src.addr, &ctx->pd->nsaddr, …)`, lines 4109–4112),
 *   the source as translated so far;
 * - a matching `match` rule (`if (r->action == PF_MATCH)`, line 4251)
 *   applies its actions at once (`pf_rule_to_actions(r, &ctx->act);`, line
 *   4261; the function is lines 4049–4074) and, if it has a `nat-to`, calls
 *   `pf_get_transaddr` (lines 4264–4269), which picks a port (sys/net/pf_lb.c
 *   1.76 `pf_get_sport`, lines 123–251, called at lines 703–704 of
 *   pf_get_transaddr) and rewrites `pd->nsaddr`/`pd->nsport` (pf_lb.c lines
 *   718–719); if no port of the pool is free the packet fails
 *   (`REASON_SET(&ctx->reason, PFRES_TRANSLATE); return (PF_TEST_FAIL);`,
 *   pf.c lines 4266–4268);
 * - `probability` is tested before `tag`/`tagged` (`r->prob <=
 *   arc4random_uniform(UINT_MAX - 1) + 1` skips the rule, lines 4211–4213;
 *   `tagged`, lines 4214–4216), and a matching rule's `tag` replaces the
 *   packet's tag (`ctx->tag = r->tag`, lines 4233–4234) for the rules after
 *   it (`pf_match_tag`, lines 3559–3566);
 * - pass/block is decided by the last matching pass or block rule
 *   (`*ctx->rm = r;`, line 4281), unless a `quick` rule ends the evaluation
 *   first (lines 4302–4303).
 *
 * So the anchor holds:
 * - MSS clamp without a direction, `match on gif0 inet proto tcp flags S/SA
 *   scrub (max-mss MTU−40)`: the state keeps the `max-mss` of the match rules
 *   of the packet that created it (`s->max_mss = act->max_mss`), which for a
 *   connection opened from the Internet through the tunnel is an inbound SYN.
 * - The forwards in force (maped.conf(5) `forward`), one rule per protocol:
 *   `pass in quick on gif0 inet proto tcp from any to (gif0) port = 1233
 *   flags S/SA label "maped" rdr-to 192.168.1.10 port 22`. Their place:
 *   - after the clamp: a matching `quick` rule ends the evaluation
 *     (`if (r->quick) return (PF_TEST_QUICK);` in pf_match_rule, pf.c
 *     lines 4302–4303), so a match rule after it would never see the SYN;
 *     before it, the clamp has put its `max-mss` into `ctx->act`
 *     (`a->max_mss = r->max_mss;`, line 4065), `pf_create_state` (lines
 *     4587–4794) copies it into the state (`st->max_mss = act->max_mss;`,
 *     line 4622), and pf_test (lines 7567 ff.) clamps every TCP packet of the
 *     state with it (`if (st->max_mss) pf_normalize_mss(&pd,
 *     st->max_mss);`, lines 7839–7840), the SYN-ACK the LAN host sends back
 *     included;
 *   - `quick`, because `rdr-to` on a pass rule is applied only once that
 *     rule has decided the packet: pf_test_rule translates for "the last
 *     matching pass/block rule" after the evaluation (`pf_get_transaddr(r,
 *     pd, ctx.sns, &ctx.nr)`, pf.c lines 4436–4439), which rewrites
 *     `pd->ndaddr`/`pd->ndport` (sys/net/pf_lb.c 1.76 `pf_get_transaddr`,
 *     lines 688–759: `((ndport - dst.port[0]) % div) + proxy_port[0]` for a
 *     range, lines 730–743; `pd->ndport = nport;`, lines 754–755). Without `quick` the admin's filter
 *     rules after the anchor (`block in on egress`, the 7.8 default's `block
 *     return in on ! lo0 proto tcp to port 6000:6010`) would decide instead,
 *     and the forward would be dropped or passed unredirected. The admin's
 *     rules before `anchor "maped"` still see the packet first;
 *   - `pass in` and `to (gif0) port …`: rdr-to is inbound only (parse.y
 *     1.719 `rule_consistent`: "rdr-to can only be used inbound"), and the
 *     destination is tested as translated so far (`PF_MISMATCHAW(&r->dst.addr,
 *     &ctx->pd->ndaddr, …)`, pf.c lines 4113–4115; `pf_match_port(…,
 *     ctx->pd->ndport)`, lines 4149–4152), which no
 *     rule of the anchor has changed. Traffic to any other port meets no
 *     pass rule here and is the admin's to decide;
 *   - before the NAT rules, which are `match out`: an inbound packet never
 *     matches them, and the LAN host's replies belong to the forward's
 *     state (pf_test looks a packet's state up before any rule:
 *     `pf_find_state(&pd, &key, &st)` at pf.c line 7783, pf_test_rule only
 *     when none is found, lines 7829–7835), so nothing
 *     translates them again.
 * - NAT of the router's own traffic (`from (gif0)`: its ephemeral ports lie
 *   outside the port set too) and of every `nat from` network into the port
 *   set. With the map-e-portset patch, or without port sharing, one `nat-to`
 *   rule per source; the translated source is no `nat from` network, so no
 *   second rule translates again.
 * - Stock pf: a chain of `probability` rules per source that only *tag* the
 *   packet with the chosen range (`<label>-<i>`, last match wins, the source
 *   is not yet translated so every rule of the chain sees it), then one
 *   `tagged <label>-<i> nat-to (gif0) port lo:hi` per range. A packet is
 *   translated once, into the range it drew: a chain of `nat-to` rules would
 *   stop after its first rule (the source no longer matches) and would make
 *   every connection depend on a free port in range 1. The ranges leave out
 *   the forwarded ports (`natRanges`), so no outbound connection takes one.
 * - No pass rule for outbound IPv4: whether a packet leaves is the admin's
 *   filter rules' decision (a catch-all `pass` here would be the last match
 *   and override their `block` rules). The anchor goes after the admin's own
 *   `match … nat-to` rules (the last `nat-to` wins) and before their filter
 *   rules, which then see the translated source.
 * - The outer IPv6 `proto ipencap` (4) between CE and BR on the WAN, both
 *   ways, `quick`: only that exact pair of addresses.
 */
import { formatIpv4, formatIpv6, parseIpv6, type PortRange } from '../map/index.js';
import type { SoftwireKind } from '../softwire/index.js';
import { ICMP_NOT_CONFINED, natRanges, type DesiredState } from './desired-state.js';
import { forwardProtocols, type ForwardSpec } from './forwards.js';
import { idealStoredProbability, pfctlPrintedProbability, probabilityTextFor } from './pf-probability.js';

export interface NatTo {
  /** `(gif0)`: the interface's address, followed when it changes. */
  readonly address: string;
  readonly ports: PortRange | null;
  /** offset / psid-len / psid, right-aligned PSID, as patches/openbsd-7.8/0001-pf-map-e-portset.patch takes them. */
  readonly mapePortset: readonly [number, number, number] | null;
}

/** `rdr-to <address> port <first>[:<last>]`: where a forwarded connection goes. */
export interface RdrTo {
  readonly address: string;
  readonly ports: PortRange;
}

interface PfRuleFields {
  readonly action: 'match' | 'pass';
  /** null: both directions. */
  readonly direction: 'in' | 'out' | null;
  readonly quick: boolean;
  readonly on: string;
  readonly af: 'inet' | 'inet6';
  readonly proto: string | null;
  /** `any`, `(gif0)`, an address or a prefix. */
  readonly from: string;
  readonly to: string;
  /** `to … port = p` or `port p:q` (inclusive). */
  readonly toPort: PortRange | null;
  readonly flags: string | null;
  readonly maxMss: number | null;
  readonly label: string | null;
  /** `tag <name>`: the packet carries it for the rules after this one. */
  readonly tag: string | null;
  /** `tagged <name>`: the rule matches only packets carrying that tag. */
  readonly tagged: string | null;
  readonly natTo: NatTo | null;
  readonly rdrTo: RdrTo | null;
}

/** A rule as maped writes it; `probability` is the value pfctl stores (1 .. UINT_MAX). */
export interface PfRule extends PfRuleFields {
  readonly probability: number | null;
}

/** A rule as `pfctl -sr` prints it; `probability` is the printed percentage, e.g. `33.333333%`. */
export interface PrintedPfRule extends PfRuleFields {
  readonly probability: string | null;
}

const NO_OPTIONS = { quick: false, proto: null, toPort: null, flags: null, maxMss: null, tag: null, tagged: null, natTo: null, rdrTo: null, probability: null } as const;

/** An outbound IPv4 `match` rule on the tunnel, labelled. */
function tunnelMatch(desired: DesiredState, fields: Partial<PfRule>): PfRule {
  return {
    ...NO_OPTIONS,
    action: 'match',
    direction: 'out',
    on: desired.tunnel,
    af: 'inet',
    from: 'any',
    to: 'any',
    label: desired.label,
    ...fields,
  };
}

/** The sources NAT must cover: the router itself, then each `nat from` network. */
function natSources(desired: DesiredState): string[] {
  const self = `(${desired.tunnel})`;
  return [self, ...desired.natFrom.map((p) => (p.length === 32 ? formatIpv4(p.address) : `${formatIpv4(p.address)}/${p.length}`))];
}

/** The tag stock mode gives packets that drew port range `index` (0-based): `<label>-<index + 1>`. */
export function rangeTag(label: string, index: number): string {
  return `${label}-${index + 1}`;
}

/**
 * pf tag names hold at most PF_TAG_NAME_SIZE − 1 = 63 characters
 * (sys/net/pfvar.h); the longest stock-mode tag must fit.
 */
export const PF_TAG_NAME_MAX = 63;

function natRules(desired: DesiredState): PfRule[] {
  const gif = `(${desired.tunnel})`;
  // DS-Lite: the AFTR translates (RFC 6333 §5), the CE sends its sources as they are.
  const sources = desired.portset === 'none' ? [] : natSources(desired);
  if (desired.portset !== 'stock') {
    const mapePortset: NatTo['mapePortset'] =
      desired.portset === 'kernel' ? [desired.psidOffset, desired.psidLen, desired.psid] : null;
    return sources.map((from) => tunnelMatch(desired, { from, natTo: { address: gif, ports: null, mapePortset } }));
  }
  const ranges = natRanges(desired);
  const rules: PfRule[] = [];
  // Rule i (1-based) of a source's chain matches with probability 1/i and the
  // last match's tag stays, so each range is drawn with 1/n; rule 1 always
  // matches, so no packet of a source leaves untagged (and untranslated, or
  // translated into the default 50001:65535 of a plain nat-to).
  for (const from of sources) {
    ranges.forEach((_, index) => {
      const probability = index === 0 ? null : Number(idealStoredProbability(index + 1));
      rules.push(tunnelMatch(desired, { from, probability, tag: rangeTag(desired.label, index) }));
    });
  }
  ranges.forEach((range, index) => {
    rules.push(tunnelMatch(desired, { tagged: rangeTag(desired.label, index), natTo: { address: gif, ports: range, mapePortset: null } }));
  });
  return rules;
}

/** One `pass in quick … rdr-to` per protocol of each forward in force (the order: see the top of this file). */
function forwardRules(desired: Pick<DesiredState, 'forwards' | 'tunnel' | 'label'>): PfRule[] {
  return desired.forwards.flatMap((forward) => {
    const [first, last] = forward.ports;
    const target = forward.toPort ?? first;
    const rdrTo: RdrTo = { address: formatIpv4(forward.to), ports: [target, target + last - first] };
    return forwardProtocols(forward.proto).map(
      (proto): PfRule => ({
        ...NO_OPTIONS,
        action: 'pass',
        direction: 'in',
        quick: true,
        on: desired.tunnel,
        af: 'inet',
        proto,
        from: 'any',
        to: `(${desired.tunnel})`,
        toPort: [first, last],
        // parse.y gives a stateful TCP pass rule `flags S/SA` and clears flags for other protocols (expand_rule).
        flags: proto === 'tcp' ? 'S/SA' : null,
        label: desired.label,
        rdrTo,
      }),
    );
  });
}

/**
 * The rules maped.conf's `forward` lines can put in the anchor, as
 * {@link renderRule} writes them: the only `rdr-to` rules the privileged
 * parent loads (command-allowlist.ts), whichever of them are in force.
 */
export function forwardRuleTexts(forwards: readonly ForwardSpec[], tunnel: string, label: string): string[] {
  return forwardRules({ forwards, tunnel, label }).map(renderRule);
}

export function anchorRules(desired: DesiredState): PfRule[] {
  const mss = tunnelMatch(desired, { direction: null, proto: 'tcp', flags: 'S/SA', maxMss: desired.maxMss });
  const ce = formatIpv6(desired.ceIPv6);
  const br = formatIpv6(desired.br);
  const tunnel = { ...NO_OPTIONS, action: 'pass' as const, quick: true, on: desired.wan, af: 'inet6' as const, proto: 'ipencap', label: desired.label };
  return [
    mss,
    ...forwardRules(desired),
    ...natRules(desired),
    { ...tunnel, direction: 'out', from: ce, to: br },
    { ...tunnel, direction: 'in', from: br, to: ce },
  ];
}

/** One rule in pf.conf syntax, in `print_rule` order. */
export function renderRule(rule: PfRule): string {
  const words: string[] = [rule.action];
  if (rule.direction !== null) words.push(rule.direction);
  if (rule.quick) words.push('quick');
  words.push('on', rule.on, rule.af);
  if (rule.proto !== null) words.push('proto', rule.proto);
  // print_fromto (pfctl_parser.c 1.352, lines 426-435): `all` only without addresses or ports.
  if (rule.from === 'any' && rule.to === 'any' && rule.toPort === null) words.push('all');
  else words.push('from', rule.from, 'to', rule.to);
  // print_port/print_op (pfctl_parser.c 1.352, lines 354-375): `port = 5000` for one port (PF_OP_EQ), `port 5000:5009` for a range (PF_OP_RRG).
  if (rule.toPort !== null) words.push('port', ...(rule.toPort[0] === rule.toPort[1] ? ['=', String(rule.toPort[0])] : [`${rule.toPort[0]}:${rule.toPort[1]}`]));
  if (rule.flags !== null) words.push('flags', rule.flags);
  if (rule.probability !== null) words.push('probability', probabilityTextFor(rule.probability));
  if (rule.maxMss !== null) words.push(`scrub (max-mss ${rule.maxMss})`);
  if (rule.label !== null) words.push(`label "${rule.label}"`);
  if (rule.tag !== null) words.push('tag', rule.tag);
  if (rule.tagged !== null) words.push('tagged', rule.tagged);
  if (rule.natTo !== null) {
    words.push('nat-to', rule.natTo.address);
    if (rule.natTo.ports !== null) words.push('port', `${rule.natTo.ports[0]}:${rule.natTo.ports[1]}`);
    if (rule.natTo.mapePortset !== null) words.push('map-e-portset', rule.natTo.mapePortset.join('/'));
  }
  if (rule.rdrTo !== null) {
    // parse.y 1.719 apply_redirspec keeps `port first:last` as proxy_port[0..1];
    // print_pool prints it back the same way, one port without the colon.
    const [first, last] = rule.rdrTo.ports;
    words.push('rdr-to', rule.rdrTo.address, 'port', first === last ? String(first) : `${first}:${last}`);
  }
  return words.join(' ');
}

/** The first words of the anchor's comment, naming what the CE is. */
const TITLE: Record<SoftwireKind, string> = { 'map-e': 'MAP-E CE', lw4o6: 'lw4o6 lwB4', ipip: 'IPIP', dslite: 'DS-Lite B4' };

function describePorts(desired: DesiredState): string {
  switch (desired.portset) {
    case 'none':
      return 'no NAT44 here (the AFTR translates)';
    case 'unrestricted':
      return desired.softwire === 'map-e' ? 'no port sharing (psid-len 0)' : 'no port sharing';
    case 'kernel':
      return `port set psid ${desired.psid}/${desired.psidLen} offset ${desired.psidOffset} via map-e-portset`;
    case 'stock':
      return `port set psid ${desired.psid}/${desired.psidLen} offset ${desired.psidOffset} as ${natRanges(desired).length} port ranges`;
  }
}

/** The whole anchor text, as loaded with `pfctl -o none -a <anchor> -f -`. */
export function renderAnchor(desired: DesiredState): string {
  const lines = [
    `# maped: ${TITLE[desired.softwire]} ${formatIpv4(desired.ipv4)}, ${describePorts(desired)}`,
    `# tunnel ${desired.tunnel} mtu ${desired.mtu}: ${formatIpv6(desired.ceIPv6)} --> ${formatIpv6(desired.br)} on ${desired.wan}`,
  ];
  if (desired.portset === 'stock') lines.push(`# ${ICMP_NOT_CONFINED}`);
  for (const rule of anchorRules(desired)) lines.push(renderRule(rule));
  return lines.join('\n') + '\n';
}

/** Whether a rule printed by `pfctl -sr` is the rule maped wrote. */
export function sameRule(wanted: PfRule, printed: PrintedPfRule): boolean {
  const wantedProbability = wanted.probability === null ? null : pfctlPrintedProbability(wanted.probability);
  return (
    wanted.action === printed.action &&
    wanted.direction === printed.direction &&
    wanted.quick === printed.quick &&
    wanted.on === printed.on &&
    wanted.af === printed.af &&
    wanted.proto === printed.proto &&
    sameAddress(wanted.from, printed.from) &&
    sameAddress(wanted.to, printed.to) &&
    wanted.flags === printed.flags &&
    wanted.maxMss === printed.maxMss &&
    wanted.label === printed.label &&
    wanted.tag === printed.tag &&
    wanted.tagged === printed.tagged &&
    wantedProbability === printed.probability &&
    sameNat(wanted.natTo, printed.natTo) &&
    samePorts(wanted.toPort, printed.toPort) &&
    (wanted.rdrTo === null
      ? printed.rdrTo === null
      : printed.rdrTo !== null && wanted.rdrTo.address === printed.rdrTo.address && samePorts(wanted.rdrTo.ports, printed.rdrTo.ports))
  );
}

/** Whether the anchor's live rules are exactly the wanted ones, in order (order decides "last match"). */
export function anchorMatches(wanted: readonly PfRule[], printed: readonly PrintedPfRule[]): boolean {
  return wanted.length === printed.length && wanted.every((rule, i) => sameRule(rule, printed[i]!));
}

function sameAddress(a: string, b: string): boolean {
  if (a === b) return true;
  if (!a.includes(':') || !b.includes(':')) return false;
  const x = parseIpv6(a);
  const y = parseIpv6(b);
  return x.ok && y.ok && x.value === y.value;
}

function samePorts(a: PortRange | null, b: PortRange | null): boolean {
  return a === null || b === null ? a === b : a[0] === b[0] && a[1] === b[1];
}

function sameNat(a: NatTo | null, b: NatTo | null): boolean {
  if (a === null || b === null) return a === b;
  return (
    a.address === b.address &&
    (a.ports === null ? b.ports === null : b.ports !== null && a.ports[0] === b.ports[0] && a.ports[1] === b.ports[1]) &&
    (a.mapePortset === null ? b.mapePortset === null : b.mapePortset !== null && a.mapePortset.join('/') === b.mapePortset.join('/'))
  );
}

/**
 * The one-line probe for the map-e-portset patch: the patched pfctl parses
 * it, a stock one fails with a syntax error. Offset 0 on purpose: maped
 * writes it for a = 0, and a pfctl of the series' first revision, which
 * refused it (and shared the kernel's ABI silently), then counts as stock.
 * Whether the kernel agrees is asked separately (portset-probe.ts).
 */
export const PORTSET_PROBE = 'match out on lo0 nat-to (lo0) map-e-portset 0/8/0\n';
