/**
 * `maped --dry-run` without -d: one look at the lease, one plan, printed for
 * a person. Nothing is run; live state is only read where the tools exist.
 */
import type { MapedConfig } from '../config/index.js';
import { escapeControls, formatIpv4, formatIpv6, formatIpv6Prefix } from '../map/index.js';
import { formatPortRanges } from '../cli/port-ranges.js';
import type { Driver } from './driver.js';
import { readLease, type LeaseSources } from './lease-reading.js';
import { REMOTE_LABEL } from '../softwire/index.js';
import { AftrResolver, selectResolving } from './aftr-resolver.js';
import { selectSoftwire } from './select-mapping.js';

/**
 * The report of `maped --dry-run`, each line with its control characters
 * escaped: reasons and warnings quote the lease, dhcp6leasectl and the
 * network, and the report goes to a terminal.
 */
export async function dryRunReport(
  config: MapedConfig,
  sources: LeaseSources,
  driver: Driver,
): Promise<{ ok: boolean; report: string }> {
  const out: string[] = [];
  const report = (ok: boolean, ...last: string[]) => ({ ok, report: [...out, ...last].map(escapeControls).join('\n') + '\n' });
  const reading = await readLease(sources, config);
  if (reading.kind === 'unreadable') return report(false, `error: ${reading.error}`);
  if (reading.kind === 'none') return report(false, `no lease: ${reading.reason}`);
  out.push(`lease ${config.wan}: ${formatIpv6Prefix(reading.endUserPrefix)}${reading.dhcpState ? ` (${reading.dhcpState})` : ''}`);
  for (const warning of reading.warnings) out.push(`warning: ${warning}`);

  const lease = { interface: config.wan, endUserPrefix: reading.endUserPrefix, wanAddress: reading.wanAddress, s46: reading.s46 };
  const selection = await selectResolving((lookup) => selectSoftwire(config, lease, lookup), new AftrResolver());
  if (!selection.ok) return report(false, `error: ${selection.reason}`);
  const { softwire } = selection;
  const r = softwire.rule;
  const v4 = softwire.ipv4;
  const nat = softwire.nat;
  out.push(`softwire ${softwire.kind} (${softwire.origin})`);
  if (r !== null) out.push(`rule (${softwire.origin}): ${r.ipv6Prefix} ${r.ipv4Prefix} ea-len ${r.eaLen} psid-offset ${r.psidOffset}`);
  out.push(`IPv4 ${v4.prefixLen === 32 ? formatIpv4(v4.address) : `${formatIpv4(v4.address)}/${v4.prefixLen}`}`);
  if (nat.into === 'portset') {
    out.push(`PSID ${nat.psid}/${nat.psidLen} offset ${nat.psidOffset}`);
    out.push(`ports ${nat.portCount} in ${nat.portSets.length} ranges: ${formatPortRanges(nat.portSets)}`);
  } else out.push(nat.into === 'address' ? 'PSID none (address not shared)' : 'NAT44 none (the AFTR translates)');
  out.push(`CE IPv6 ${formatIpv6(softwire.tunnel.source)}`);
  out.push(`${REMOTE_LABEL[softwire.kind]} ${formatIpv6(softwire.tunnel.remote)}${softwire.remoteName === null ? '' : ` (${softwire.remoteName})`}`);
  for (const warning of softwire.warnings) out.push(`warning: ${warning}`);

  const plan = await driver.converge(softwire, config, { dryRun: true, readLive: false });
  for (const warning of plan.warnings) out.push(`warning: ${warning}`);
  if (!plan.ok) return report(false, `error: ${plan.error}`);
  out.push('', `plan: ${plan.commands.length} commands (dry run, nothing is run)`);
  for (const argv of plan.commands) out.push(`  ${argv.join(' ')}`);
  if (plan.anchorText !== null) {
    out.push('', `pf anchor "${config.pf.anchor}" (loaded with pfctl -a ${config.pf.anchor} -f -):`);
    for (const line of plan.anchorText.trimEnd().split('\n')) out.push(`  ${line}`);
  }
  return report(true);
}
