/**
 * The pf anchor maped loads whole with `pfctl -o none -a <anchor> -f -`
 * (docs/architecture.md §3.6; pfctl(8), pf.conf(5)).
 *
 * Rules are built as values first, then written in the order pfctl's
 * `print_rule` (sbin/pfctl/pfctl_parser.c) prints them, so that the text we
 * load and the `pfctl -a <anchor> -sr` we read back line up rule by rule and
 * can be compared field by field.
 *
 * - MSS clamp: `match out on gif0 inet proto tcp all flags S/SA scrub (max-mss MTU−40)`.
 * - NAT of the router's own traffic (`from (gif0)`: its ephemeral ports lie
 *   outside the port set too) and of every `nat from` network, into the port set.
 *   `match` rules are sticky for nat-to and the last match wins (pf.conf(5)).
 * - `pass out on gif0 inet` with our label: a state carries the label of its
 *   last matching *pass* rule, not of the match rules that translated it, so
 *   this rule is what makes `pfctl -k label -k <label>` reach the NAT states.
 *   It is not `quick`, so the admin's later rules still decide.
 * - The outer IPv6 `proto ipencap` (4) between CE and BR on the WAN, both ways.
 */
import { formatIpv4, formatIpv6, parseIpv6, type PortRange } from '../map/index.js';
import type { SoftwireKind } from '../softwire/index.js';
import { ICMP_NOT_CONFINED, type DesiredState } from './desired-state.js';
import { idealStoredProbability, pfctlPrintedProbability, probabilityTextFor } from './pf-probability.js';

export interface NatTo {
  /** `(gif0)`: the interface's address, followed when it changes. */
  readonly address: string;
  readonly ports: PortRange | null;
  /** offset / psid-len / psid, right-aligned PSID, as patches/openbsd-7.8/0001-pf-map-e-portset.patch takes them. */
  readonly mapePortset: readonly [number, number, number] | null;
}

interface PfRuleFields {
  readonly action: 'match' | 'pass';
  readonly direction: 'in' | 'out';
  readonly quick: boolean;
  readonly on: string;
  readonly af: 'inet' | 'inet6';
  readonly proto: string | null;
  /** `any`, `(gif0)`, an address or a prefix. */
  readonly from: string;
  readonly to: string;
  readonly flags: string | null;
  readonly maxMss: number | null;
  readonly label: string | null;
  readonly natTo: NatTo | null;
}

/** A rule as maped writes it; `probability` is the value pfctl stores (1 .. UINT_MAX). */
export interface PfRule extends PfRuleFields {
  readonly probability: number | null;
}

/** A rule as `pfctl -sr` prints it; `probability` is the printed percentage, e.g. `33.333333%`. */
export interface PrintedPfRule extends PfRuleFields {
  readonly probability: string | null;
}

function natRule(desired: DesiredState, from: string, natTo: NatTo, probability: number | null): PfRule {
  return {
    action: 'match',
    direction: 'out',
    quick: false,
    on: desired.tunnel,
    af: 'inet',
    proto: null,
    from,
    to: 'any',
    flags: null,
    maxMss: null,
    label: desired.label,
    natTo,
    probability,
  };
}

/** The sources NAT must cover: the router itself, then each `nat from` network. */
function natSources(desired: DesiredState): string[] {
  const self = `(${desired.tunnel})`;
  return [self, ...desired.natFrom.map((p) => (p.length === 32 ? formatIpv4(p.address) : `${formatIpv4(p.address)}/${p.length}`))];
}

export function anchorRules(desired: DesiredState): PfRule[] {
  const gif = `(${desired.tunnel})`;
  const rules: PfRule[] = [
    {
      action: 'match',
      direction: 'out',
      quick: false,
      on: desired.tunnel,
      af: 'inet',
      proto: 'tcp',
      from: 'any',
      to: 'any',
      flags: 'S/SA',
      maxMss: desired.maxMss,
      label: desired.label,
      natTo: null,
      probability: null,
    },
  ];
  // DS-Lite: the AFTR translates (RFC 6333 §5), the CE sends its sources as they are.
  const sources = desired.portset === 'none' ? [] : natSources(desired);
  for (const source of sources) {
    switch (desired.portset) {
      case 'none':
        break;
      case 'unrestricted':
        rules.push(natRule(desired, source, { address: gif, ports: null, mapePortset: null }, null));
        break;
      case 'kernel':
        rules.push(
          natRule(desired, source, { address: gif, ports: null, mapePortset: [desired.psidOffset, desired.psidLen, desired.psid] }, null),
        );
        break;
      case 'stock':
        // Last match wins: rule i of n matching with probability 1/i leaves
        // every range chosen with probability 1/n; rule 1 always matches, so
        // no packet falls through to the default 50001:65535.
        desired.portSets.forEach((range, index) => {
          const probability = index === 0 ? null : Number(idealStoredProbability(index + 1));
          rules.push(natRule(desired, source, { address: gif, ports: range, mapePortset: null }, probability));
        });
        break;
    }
  }
  const ce = formatIpv6(desired.ceIPv6);
  const br = formatIpv6(desired.br);
  const common = { quick: false, af: 'inet' as const, proto: null, flags: 'S/SA', maxMss: null, natTo: null, probability: null };
  rules.push({ ...common, action: 'pass', direction: 'out', on: desired.tunnel, from: 'any', to: 'any', label: desired.label });
  const tunnel = { action: 'pass' as const, quick: true, on: desired.wan, af: 'inet6' as const, proto: 'ipencap', flags: null, maxMss: null, natTo: null, probability: null, label: desired.label };
  rules.push({ ...tunnel, direction: 'out', from: ce, to: br });
  rules.push({ ...tunnel, direction: 'in', from: br, to: ce });
  return rules;
}

/** One rule in pf.conf syntax, in `print_rule` order. */
export function renderRule(rule: PfRule): string {
  const words: string[] = [rule.action, rule.direction];
  if (rule.quick) words.push('quick');
  words.push('on', rule.on, rule.af);
  if (rule.proto !== null) words.push('proto', rule.proto);
  if (rule.from === 'any' && rule.to === 'any') words.push('all');
  else words.push('from', rule.from, 'to', rule.to);
  if (rule.flags !== null) words.push('flags', rule.flags);
  if (rule.probability !== null) words.push('probability', probabilityTextFor(rule.probability));
  if (rule.maxMss !== null) words.push(`scrub (max-mss ${rule.maxMss})`);
  if (rule.label !== null) words.push(`label "${rule.label}"`);
  if (rule.natTo !== null) {
    words.push('nat-to', rule.natTo.address);
    if (rule.natTo.ports !== null) words.push('port', `${rule.natTo.ports[0]}:${rule.natTo.ports[1]}`);
    if (rule.natTo.mapePortset !== null) words.push('map-e-portset', rule.natTo.mapePortset.join('/'));
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
      return `port set psid ${desired.psid}/${desired.psidLen} offset ${desired.psidOffset} as ${desired.portSets.length} port ranges`;
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
    wantedProbability === printed.probability &&
    sameNat(wanted.natTo, printed.natTo)
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
