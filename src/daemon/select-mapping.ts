/**
 * From what the lease says and what maped.conf says to the MAP parameters in
 * force: which rule set applies, which rule is the BMR, what it derives to.
 * Pure: the engine calls it on every change and compares the result.
 *
 * Precedence (docs/architecture.md §1, §3.5): rules received in DHCPv6 (S46 MAP-E container)
 * win over static `rule` blocks; static rules serve a stock dhcp6leased, where
 * only the delegated prefix comes from the lease.
 */
import type { MapedConfig, StaticRule } from '../config/index.js';
import { deriveMapE, type MapEDomain, type S46Options } from '../dhcpv6/index.js';
import {
  deriveMap,
  formatIpv4Prefix,
  formatIpv6,
  formatIpv6Prefix,
  selectBmr,
  type Ipv6Prefix,
  type MapParams,
} from '../map/index.js';
import type { RuleView } from '../control/protocol.js';

export interface LeaseFacts {
  readonly interface: string;
  readonly endUserPrefix: Ipv6Prefix;
  readonly s46: S46Options;
}

export interface Mapping {
  readonly origin: 'dhcpv6' | 'static';
  readonly rule: { ipv6Prefix: string; ipv4Prefix: string; eaLen: number; psidOffset: number };
  readonly params: MapParams;
  readonly br: bigint;
  readonly warnings: readonly string[];
}

export type Selection =
  | { readonly ok: true; readonly mapping: Mapping; readonly rules: readonly RuleView[] }
  | { readonly ok: false; readonly reason: string; readonly rules: readonly RuleView[] };

export function dhcpRuleViews(domains: readonly MapEDomain[]): RuleView[] {
  return domains.flatMap((domain) =>
    domain.rules.map((rule) => ({
      ipv6Prefix: formatIpv6Prefix(rule.ipv6Prefix),
      ipv4Prefix: formatIpv4Prefix(rule.ipv4Prefix),
      eaLen: rule.eaLen,
      psidOffset: rule.portParams?.psidOffset ?? 6,
      psidLen: rule.portParams?.psidLen ?? null,
      psid: rule.portParams && rule.portParams.psidLen > 0 ? rule.portParams.psid : null,
      fmr: rule.fmr,
      br: domain.br[0] === undefined ? null : formatIpv6(domain.br[0]),
      origin: 'dhcpv6' as const,
    })),
  );
}

export function staticRuleViews(rules: readonly StaticRule[]): RuleView[] {
  return rules.map((rule) => ({
    ipv6Prefix: formatIpv6Prefix(rule.ipv6Prefix),
    ipv4Prefix: formatIpv4Prefix(rule.ipv4Prefix),
    eaLen: rule.eaLen,
    psidOffset: rule.psidOffset,
    psidLen: rule.psidLen,
    psid: rule.psid,
    fmr: false,
    br: rule.br === null ? null : formatIpv6(rule.br),
    origin: 'static' as const,
  }));
}

function fromDhcp(config: MapedConfig, lease: LeaseFacts): Selection {
  const rules = dhcpRuleViews(lease.s46.mapE);
  const reasons: string[] = [];
  // RFC 7597 §5, §7.1: several domains need distinct end-user prefixes; the
  // first domain whose rules match ours is the one we are in.
  for (const domain of lease.s46.mapE) {
    const derived = deriveMapE(domain, lease.endUserPrefix, config.interfaceId);
    if (!derived.ok) {
      reasons.push(derived.error);
      continue;
    }
    const { bmr, params, br, warnings } = derived.value;
    return {
      ok: true,
      rules,
      mapping: {
        origin: 'dhcpv6',
        rule: {
          ipv6Prefix: formatIpv6Prefix(bmr.ipv6Prefix),
          ipv4Prefix: formatIpv4Prefix(bmr.ipv4Prefix),
          eaLen: bmr.eaLen,
          psidOffset: params.psidOffset,
        },
        params,
        br,
        warnings: [...warnings],
      },
    };
  }
  return { ok: false, rules, reason: `DHCPv6 MAP-E rules unusable: ${reasons[0] ?? 'no rule'}` };
}

function fromStatic(config: MapedConfig, lease: LeaseFacts): Selection {
  const rules = staticRuleViews(config.rules);
  const chosen = selectBmr(config.rules, lease.endUserPrefix);
  if (!chosen.ok) return { ok: false, rules, reason: `static rules: ${chosen.error}` };
  const rule = chosen.value.bmr;
  if (rule.br === null) {
    return { ok: false, rules, reason: `static rule ${formatIpv6Prefix(rule.ipv6Prefix)} has no br` };
  }
  const derived = deriveMap({
    rule,
    endUserPrefix: lease.endUserPrefix,
    portParams: rule.psidLen === null ? null : { psidLen: rule.psidLen, psid: rule.psid },
    interfaceId: config.interfaceId,
  });
  if (!derived.ok) return { ok: false, rules, reason: `static rule ${formatIpv6Prefix(rule.ipv6Prefix)}: ${derived.error}` };
  return {
    ok: true,
    rules,
    mapping: {
      origin: 'static',
      rule: {
        ipv6Prefix: formatIpv6Prefix(rule.ipv6Prefix),
        ipv4Prefix: formatIpv4Prefix(rule.ipv4Prefix),
        eaLen: rule.eaLen,
        psidOffset: rule.psidOffset,
      },
      params: derived.value,
      br: rule.br,
      warnings: derived.value.warnings,
    },
  };
}

export function selectMapping(config: MapedConfig, lease: LeaseFacts): Selection {
  if (lease.s46.mapE.length > 0) {
    const dhcp = fromDhcp(config, lease);
    if (dhcp.ok || config.rules.length === 0) return dhcp;
    // DHCPv6 rules that do not fit our prefix, with static rules at hand: say so and use those.
    const fallback = fromStatic(config, lease);
    if (fallback.ok) {
      return { ...fallback, mapping: { ...fallback.mapping, warnings: [dhcp.reason, ...fallback.mapping.warnings] } };
    }
    return dhcp;
  }
  if (config.rules.length > 0) return fromStatic(config, lease);
  return {
    ok: false,
    rules: [],
    reason: 'no MAP rule: the lease carries no S46 option and maped.conf has no rule block',
  };
}
