/**
 * The bridge from decoded Softwire46 options to the RFC 7597 math in
 * src/map: pick the Basic Mapping Rule for the delegated prefix and derive
 * the CE's parameters.
 *
 * Choices (documented here and in the index header):
 * - BMR: the rule whose IPv6 prefix is the longest match for the end-user
 *   prefix (RFC 7597 §5, RFC 7598 §4.1), whatever its F flag; no match, or
 *   two equally long matches, is an error.
 * - Port parameters: those nested in the BMR (RFC 7598 §4.5); without them
 *   the PSID offset is RFC 7597's default 6 and the PSID comes from the EA
 *   bits. An explicit PSID wins over the EA bits (src/map warns).
 * - FMRs: every rule with the F flag, the BMR included when it has it.
 * - Several BRs (RFC 7598 §4.2 allows it, and says nothing about choosing):
 *   the first one received is used, with a warning naming how many distinct
 *   BRs were offered. Repeats of one address are not a choice and pass
 *   silently.
 */
import {
  DEFAULT_PSID_OFFSET,
  deriveMap,
  err,
  formatIpv6,
  formatIpv6Prefix,
  ipv6PrefixCovers,
  ok,
  selectBmr,
  type ExplicitPortParams,
  type InterfaceIdFormat,
  type Ipv6Prefix,
  type MapParams,
  type MapRule,
  type Result,
} from '../map/index.js';
import type { MapEDomain, MapTDomain, S46Rule } from './s46-types.js';

export interface RuleDerivation {
  readonly bmr: S46Rule;
  readonly params: MapParams;
  readonly fmrs: S46Rule[];
  readonly warnings: string[];
}

export interface MapEDerivation extends RuleDerivation {
  readonly br: bigint;
}

export interface MapTDerivation extends RuleDerivation {
  readonly dmr: Ipv6Prefix;
}

/** An S46_RULE as src/map's rule and explicit port parameters. */
export function toMapRule(rule: S46Rule): { rule: MapRule; portParams: ExplicitPortParams | null } {
  const pp = rule.portParams;
  return {
    rule: {
      ipv6Prefix: rule.ipv6Prefix,
      ipv4Prefix: rule.ipv4Prefix,
      eaLen: rule.eaLen,
      psidOffset: pp === null ? DEFAULT_PSID_OFFSET : pp.psidOffset,
    },
    portParams: pp === null ? null : { psidLen: pp.psidLen, psid: pp.psid },
  };
}

/** BMR selection and derivation over any list of S46 rules (MAP-E or MAP-T). */
export function deriveFromRules(
  rules: readonly S46Rule[],
  endUserPrefix: Ipv6Prefix,
  iid: InterfaceIdFormat,
): Result<RuleDerivation> {
  if (rules.length === 0) return err('the domain has no S46_RULE');
  if (!rules.some((rule) => ipv6PrefixCovers(rule.ipv6Prefix, endUserPrefix))) {
    return err(
      `no rule matches the delegated prefix ${formatIpv6Prefix(endUserPrefix)} ` +
        `(rule prefixes: ${rules.map((r) => formatIpv6Prefix(r.ipv6Prefix)).join(', ')})`,
    );
  }
  const selected = selectBmr(rules, endUserPrefix);
  if (!selected.ok) return selected;
  const bmr = selected.value.bmr;
  const { rule, portParams } = toMapRule(bmr);
  const derived = deriveMap({ rule, endUserPrefix, portParams, interfaceId: iid });
  if (!derived.ok) return err(`BMR ${formatIpv6Prefix(bmr.ipv6Prefix)}: ${derived.error}`);
  return ok({
    bmr,
    params: derived.value,
    fmrs: rules.filter((r) => r.fmr),
    warnings: [...derived.value.warnings],
  });
}

export function deriveMapE(domain: MapEDomain, endUserPrefix: Ipv6Prefix, iid: InterfaceIdFormat): Result<MapEDerivation> {
  const first = domain.br[0];
  if (first === undefined) return err('the MAP-E domain has no S46_BR');
  const derived = deriveFromRules(domain.rules, endUserPrefix, iid);
  if (!derived.ok) return derived;
  const warnings = derived.value.warnings;
  const distinct = [...new Set(domain.br)];
  if (distinct.length > 1) {
    warnings.push(`${distinct.length} BRs offered (${distinct.map(formatIpv6).join(', ')}); using the first, ${formatIpv6(first)}`);
  }
  return ok({ ...derived.value, br: first, warnings });
}

export function deriveMapT(domain: MapTDomain, endUserPrefix: Ipv6Prefix, iid: InterfaceIdFormat): Result<MapTDerivation> {
  const derived = deriveFromRules(domain.rules, endUserPrefix, iid);
  if (!derived.ok) return derived;
  return ok({ ...derived.value, dmr: domain.dmr });
}
