/**
 * From what the lease says and what maped.conf says to the softwire in force:
 * which kind, from where, with what parameters (for MAP-E: which rule set
 * applies, which rule is the BMR, what it derives to). Pure: the engine calls
 * it on every change and compares the result; AFTR names come resolved
 * through the lookup it is given.
 *
 * `softwire auto` takes what the lease carries — a MAP-E container (94)
 * first, then an lw4o6 one (96) — else what an HB46PP provisioning server
 * gave (whichever kind its `order` chose), else the one static block
 * maped.conf has. A kind named in `softwire` takes only that kind: from
 * DHCPv6 first (MAP-E, lw4o6), then from provisioning when the server chose
 * that kind, else from its static block. Static blocks serve a stock
 * dhcp6leased, where only the delegated prefix comes from the lease.
 *
 * MAP-E rules come from DHCPv6 first, then from provisioning, then from
 * static `rule` blocks; a source that does not fit the prefix hands over to
 * the next, with a warning, and the reason for the choice goes with the
 * selection (status `rule.why`).
 */
import type { AftrSpec, MapedConfig, StaticRule } from '../config/index.js';
import { deriveMapE, type MapEDomain, type S46Options } from '../dhcpv6/index.js';
import {
  deriveMap,
  err,
  formatIpv4Prefix,
  formatIpv6,
  formatIpv6Prefix,
  ipv6PrefixCovers,
  ok,
  selectBmr,
  type InterfaceIdFormat,
  type Ipv6Prefix,
  type Result,
} from '../map/index.js';
import {
  dsliteSoftwire,
  ipipSoftwire,
  lw4o6Softwire,
  mapESoftwire,
  type Softwire,
  type SoftwireKind,
} from '../softwire/index.js';
import type { RuleView } from '../control/protocol.js';
import type { ProvisionedIpipTunnel, ProvisionedMapE, ProvisionedSoftwire } from '../provision/reply.js';

export interface LeaseFacts {
  readonly interface: string;
  readonly endUserPrefix: Ipv6Prefix;
  /** The WAN's own global address when no prefix is delegated (`prefix autoconf`), else null. */
  readonly wanAddress?: bigint | null;
  readonly s46: S46Options;
  /** What an HB46PP server provisioned, if anything. */
  readonly provisioned?: ProvisionedSoftwire | null;
}

/**
 * An AFTR name to its address, as maped resolved it (AAAA). `retry` on a
 * failure: a fault of the moment (no answer, a timeout), worth asking again.
 */
export type AftrLookup = (name: string, dns: string | null) => Result<bigint>;

export type Selection =
  | { readonly ok: true; readonly softwire: Softwire; readonly rules: readonly RuleView[]; readonly why?: string }
  | { readonly ok: false; readonly reason: string; readonly rules: readonly RuleView[]; readonly retry?: boolean };

/** A lookup for configurations without AFTR names (and for tests): every name fails. */
export const NO_NAMES: AftrLookup = (name) => ({ ok: false, error: `AFTR ${name}: names are not resolved here` });

export function dhcpRuleViews(domains: readonly MapEDomain[], origin: 'dhcpv6' | 'provisioning' = 'dhcpv6'): RuleView[] {
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
      origin,
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

function fromDomains(
  domains: readonly MapEDomain[],
  origin: 'dhcpv6' | 'provisioning',
  interfaceId: InterfaceIdFormat,
  lease: LeaseFacts,
  why: string,
): Selection {
  const rules = dhcpRuleViews(domains, origin);
  const reasons: string[] = [];
  // RFC 7597 §5, §7.1: several domains need distinct end-user prefixes; the
  // first domain whose rules match ours is the one we are in.
  for (const domain of domains) {
    const derived = deriveMapE(domain, lease.endUserPrefix, interfaceId);
    if (!derived.ok) {
      reasons.push(derived.error);
      continue;
    }
    const { bmr, params, br, warnings } = derived.value;
    return {
      ok: true,
      rules,
      why: `${why}; BMR ${formatIpv6Prefix(bmr.ipv6Prefix)} by longest match of ${formatIpv6Prefix(lease.endUserPrefix)}`,
      softwire: mapESoftwire({
        origin,
        rule: {
          ipv6Prefix: formatIpv6Prefix(bmr.ipv6Prefix),
          ipv4Prefix: formatIpv4Prefix(bmr.ipv4Prefix),
          eaLen: bmr.eaLen,
          psidOffset: params.psidOffset,
        },
        params,
        br,
        warnings,
      }),
    };
  }
  const label = origin === 'dhcpv6' ? 'DHCPv6' : 'HB46PP';
  return { ok: false, rules, reason: `${label} MAP-E rules unusable: ${reasons[0] ?? 'no rule'}` };
}

function fromDhcp(config: MapedConfig, lease: LeaseFacts): Selection {
  return fromDomains(lease.s46.mapE, 'dhcpv6', config.interfaceId, lease, 'S46 MAP-E option of the DHCPv6 lease');
}

function fromProvisioning(provisioned: ProvisionedMapE, lease: LeaseFacts): Selection {
  // v6mig-prov §3.4 map_e.version decides the interface id, whatever interface-id says.
  const version = provisioned.interfaceId === 'rfc7597' ? '1, RFC 7597' : '0, draft-03';
  const why = `HB46PP provisioning (map_e version ${version} interface id)`;
  return fromDomains([provisioned.domain], 'provisioning', provisioned.interfaceId, lease, why);
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
    why: `static rule block ${formatIpv6Prefix(rule.ipv6Prefix)} by longest match of ${formatIpv6Prefix(lease.endUserPrefix)}`,
    softwire: mapESoftwire({
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
    }),
  };
}

/**
 * MAP-E: DHCPv6 rules first, then provisioned ones, then static rules; the
 * first source that fits our prefix wins, those before it say why not.
 */
/** What provisioning gave when it is of `kind`, else null. */
function provisionedOf<K extends ProvisionedSoftwire['kind']>(lease: LeaseFacts, kind: K): Extract<ProvisionedSoftwire, { kind: K }> | null {
  const p = lease.provisioned ?? null;
  return p !== null && p.kind === kind ? (p as Extract<ProvisionedSoftwire, { kind: K }>) : null;
}

/** The provisioning server's AFTR names are asked of the server `provision hb46pp { dns … }` names, if any. */
const provisionDns = (config: MapedConfig): string | null => config.provision?.dns ?? null;

const PROVISIONED_WHY = 'HB46PP provisioning';

function mapE(config: MapedConfig, lease: LeaseFacts): Selection | null {
  const provisioned = provisionedOf(lease, 'map-e');
  const sources: (() => Selection)[] = [];
  if (lease.s46.mapE.length > 0) sources.push(() => fromDhcp(config, lease));
  if (provisioned !== null) sources.push(() => fromProvisioning(provisioned, lease));
  if (config.rules.length > 0) sources.push(() => fromStatic(config, lease));
  const passed: string[] = [];
  let first: Selection | null = null;
  for (const source of sources) {
    const selection = source();
    if (selection.ok) {
      if (passed.length === 0) return selection;
      return {
        ...selection,
        why: `${selection.why ?? ''} (passed over: ${passed.join('; ')})`,
        softwire: { ...selection.softwire, warnings: [...passed, ...selection.softwire.warnings] },
      };
    }
    first ??= selection;
    passed.push(selection.reason);
  }
  return first;
}

/** The address of an (lw)AFTR given as an address or a name. */
function aftrAddress(spec: AftrSpec, lookup: AftrLookup): Result<bigint> {
  return typeof spec.aftr === 'string' ? lookup(spec.aftr, spec.dns) : ok(spec.aftr);
}

const nameOf = (spec: AftrSpec): string | null => (typeof spec.aftr === 'string' ? spec.aftr : null);

/** lw4o6: the binding of DHCPv6 container 96 (RFC 7598 §5.3), else provisioning's, else the static block. */
function lw4o6(config: MapedConfig, lease: LeaseFacts, lookup: AftrLookup): Selection | null {
  const rules: RuleView[] = [];
  const domain = lease.s46.lw4o6[0];
  if (domain !== undefined) {
    const binding = domain.bindings[0];
    if (binding === undefined) return { ok: false, rules, reason: 'DHCPv6 lw4o6 container has no S46_V4V6BIND' };
    const ports = binding.portParams ?? { psidOffset: 0, psidLen: 0, psid: 0 };
    const built = lw4o6Softwire(
      { ipv4: binding.ipv4, ...ports, bindPrefix: binding.bindPrefix, aftr: domain.br[0]! },
      lease.endUserPrefix,
      'dhcpv6',
    );
    return built.ok ? { ok: true, rules, softwire: built.value } : { ok: false, rules, reason: `DHCPv6 ${built.error}` };
  }
  const provisioned = provisionedOf(lease, 'lw4o6');
  if (provisioned !== null) {
    const spec = { aftr: provisioned.aftr, dns: provisionDns(config) };
    const aftr = aftrAddress(spec, lookup);
    if (!aftr.ok) return { ok: false, rules, reason: `provisioned lw4o6: ${aftr.error}`, retry: true };
    const built = lw4o6Softwire({ ...provisioned, aftr: aftr.value, aftrName: nameOf(spec) }, lease.endUserPrefix, 'provisioning');
    return built.ok ? { ok: true, rules, softwire: built.value, why: `${PROVISIONED_WHY} (lw4o6)` } : { ok: false, rules, reason: `provisioned ${built.error}` };
  }
  const block = config.lw4o6;
  if (block === null) return null;
  const aftr = aftrAddress(block, lookup);
  if (!aftr.ok) return { ok: false, rules, reason: `lw4o6: ${aftr.error}`, retry: true };
  const built = lw4o6Softwire({ ...block, aftr: aftr.value, aftrName: nameOf(block) }, lease.endUserPrefix, 'static');
  return built.ok ? { ok: true, rules, softwire: built.value } : { ok: false, rules, reason: `static ${built.error}` };
}

/**
 * The offered tunnel whose local end is this CE's, in the end-user prefix
 * (under `prefix autoconf`, the WAN's own /64). maped adds the local end to
 * the WAN, so one from elsewhere (another host's address) is never taken.
 */
function ipipTunnel(tunnels: readonly ProvisionedIpipTunnel[], lease: LeaseFacts): Result<ProvisionedIpipTunnel> {
  const ours = tunnels.find((t) => ipv6PrefixCovers(lease.endUserPrefix, { address: t.local, length: 128 }));
  if (ours !== undefined) return ok(ours);
  const locals = tunnels.slice(0, 3).map((t) => formatIpv6(t.local)).join(', ');
  return err(
    `ipip: no tunnel's local end (${locals}${tunnels.length > 3 ? ', …' : ''}) is in the end-user prefix ${formatIpv6Prefix(lease.endUserPrefix)}`,
  );
}

function ipip(config: MapedConfig, lease: LeaseFacts): Selection | null {
  const provisioned = provisionedOf(lease, 'ipip');
  if (provisioned !== null) {
    const tunnel = ipipTunnel(provisioned.tunnels, lease);
    if (!tunnel.ok) return { ok: false, rules: [], reason: `provisioned ${tunnel.error}` };
    const built = ipipSoftwire(tunnel.value, 'provisioning');
    if (!built.ok) return { ok: false, rules: [], reason: `provisioned ${built.error}` };
    return { ok: true, rules: [], softwire: built.value, why: `${PROVISIONED_WHY} (ipip)` };
  }
  if (config.ipip === null) return null;
  const built = ipipSoftwire(config.ipip, 'static');
  return built.ok ? { ok: true, rules: [], softwire: built.value } : { ok: false, rules: [], reason: built.error };
}

function dslite(config: MapedConfig, lease: LeaseFacts, lookup: AftrLookup): Selection | null {
  const provisioned = provisionedOf(lease, 'dslite');
  const block: AftrSpec | null = provisioned === null ? config.dslite : { aftr: provisioned.aftr, dns: provisionDns(config) };
  if (block === null) return null;
  const origin = provisioned === null ? 'static' : 'provisioning';
  const what = provisioned === null ? 'dslite' : 'provisioned dslite';
  const aftr = aftrAddress(block, lookup);
  if (!aftr.ok) return { ok: false, rules: [], reason: `${what}: ${aftr.error}`, retry: true };
  const built = dsliteSoftwire({ aftr: aftr.value, aftrName: nameOf(block) }, lease.endUserPrefix, origin, lease.wanAddress ?? null);
  if (!built.ok) return { ok: false, rules: [], reason: provisioned === null ? built.error : `provisioned ${built.error}` };
  return { ok: true, rules: [], softwire: built.value, ...(provisioned === null ? {} : { why: `${PROVISIONED_WHY} (dslite)` }) };
}

/** Each kind's source, in the order `auto` tries them once the lease's own options are taken. */
const BY_KIND: Record<SoftwireKind, (config: MapedConfig, lease: LeaseFacts, lookup: AftrLookup) => Selection | null> = {
  'map-e': mapE,
  lw4o6,
  ipip: (config, lease) => ipip(config, lease),
  dslite,
};

export function selectSoftwire(config: MapedConfig, lease: LeaseFacts, lookup: AftrLookup = NO_NAMES): Selection {
  if (config.softwire !== 'auto') {
    const chosen = BY_KIND[config.softwire](config, lease, lookup);
    if (chosen !== null) return chosen;
    return { ok: false, rules: [], reason: `softwire ${config.softwire}: the lease carries no ${config.softwire} option, provisioning gave none and maped.conf has no ${config.softwire === 'map-e' ? 'rule' : config.softwire} block` };
  }
  // The lease first: a MAP-E container wins over an lw4o6 one (both are rare together).
  if (lease.s46.mapE.length > 0) return mapE(config, lease)!;
  if (lease.s46.lw4o6.length > 0) return lw4o6(config, lease, lookup)!;
  // Then what a provisioning server gave, of the kind its `order` chose.
  if (lease.provisioned) return BY_KIND[lease.provisioned.kind](config, lease, lookup)!;
  // The configuration holds at most one static kind under `auto` (maped.conf(5)).
  for (const kind of ['map-e', 'lw4o6', 'ipip', 'dslite'] as const) {
    const chosen = BY_KIND[kind](config, lease, lookup);
    if (chosen !== null) return chosen;
  }
  return {
    ok: false,
    rules: [],
    reason: 'no softwire: the lease carries no S46 option, there is no provisioning data, and maped.conf has no rule, lw4o6, ipip or dslite block',
  };
}
