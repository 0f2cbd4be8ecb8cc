/**
 * `maped --dry-run` without -d: one look at the lease, one plan, printed for
 * a person. Nothing is run; live state is only read where the tools exist.
 */
import type { MapedConfig } from '../config/index.js';
import { formatIpv4, formatIpv6, formatIpv6Prefix } from '../map/index.js';
import { formatPortRanges } from '../cli/port-ranges.js';
import type { Driver } from './driver.js';
import { readLease, type LeaseSources } from './lease-reading.js';
import { selectMapping } from './select-mapping.js';

export async function dryRunReport(
  config: MapedConfig,
  sources: LeaseSources,
  driver: Driver,
): Promise<{ ok: boolean; report: string }> {
  const out: string[] = [];
  const reading = await readLease(sources, config);
  if (reading.kind === 'unreadable') return { ok: false, report: `error: ${reading.error}\n` };
  if (reading.kind === 'none') return { ok: false, report: `no lease: ${reading.reason}\n` };
  out.push(`lease ${config.wan}: ${formatIpv6Prefix(reading.endUserPrefix)}${reading.dhcpState ? ` (${reading.dhcpState})` : ''}`);
  for (const warning of reading.warnings) out.push(`warning: ${warning}`);

  const selection = selectMapping(config, { interface: config.wan, endUserPrefix: reading.endUserPrefix, s46: reading.s46 });
  if (!selection.ok) return { ok: false, report: [...out, `error: ${selection.reason}`].join('\n') + '\n' };
  const { mapping } = selection;
  const p = mapping.params;
  const r = mapping.rule;
  out.push(`rule (${mapping.origin}): ${r.ipv6Prefix} ${r.ipv4Prefix} ea-len ${r.eaLen} psid-offset ${r.psidOffset}`);
  out.push(`IPv4 ${p.ipv4PrefixLen === 32 ? formatIpv4(p.ipv4) : `${formatIpv4(p.ipv4)}/${p.ipv4PrefixLen}`}`);
  out.push(p.psidLen === 0 ? 'PSID none (address not shared)' : `PSID ${p.psid}/${p.psidLen} offset ${p.psidOffset}`);
  out.push(`ports ${p.portCount} in ${p.portSets.length} ranges: ${formatPortRanges(p.portSets)}`);
  out.push(`CE IPv6 ${formatIpv6(p.ceIPv6)}`);
  out.push(`BR ${formatIpv6(mapping.br)}`);
  for (const warning of mapping.warnings) out.push(`warning: ${warning}`);

  const plan = await driver.converge(mapping, config, { dryRun: true, readLive: false });
  for (const warning of plan.warnings) out.push(`warning: ${warning}`);
  if (!plan.ok) return { ok: false, report: [...out, `error: ${plan.error}`].join('\n') + '\n' };
  out.push('', `plan: ${plan.commands.length} commands (dry run, nothing is run)`);
  for (const argv of plan.commands) out.push(`  ${argv.join(' ')}`);
  if (plan.anchorText !== null) {
    out.push('', `pf anchor "${config.pf.anchor}" (loaded with pfctl -a ${config.pf.anchor} -f -):`);
    for (const line of plan.anchorText.trimEnd().split('\n')) out.push(`  ${line}`);
  }
  return { ok: true, report: out.join('\n') + '\n' };
}
