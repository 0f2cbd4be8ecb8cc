/**
 * The canonical maped.conf text of a configuration (`maped -nv`, like
 * printconf.c of OpenBSD's daemons): every setting written out, defaults
 * included, in a fixed order, so the output shows what is in effect and
 * parses back to the same configuration.
 */
import { formatIpv4, formatIpv4Prefix, formatIpv6, formatIpv6Prefix } from '../map/index.js';
import { printForward } from './forward.js';
import { TOOL_KEYWORDS } from './keywords.js';
import type { AftrSpec, MapedConfig, ProvisionConfig, StaticDslite, StaticIpip, StaticLw4o6, StaticRule } from './types.js';

/** A quoted string as the tokenizer reads it back: `\` and `"` escaped. */
export function quote(text: string): string {
  return `"${text.replace(/[\\"]/g, (c) => `\\${c}`)}"`;
}

function printRule(rule: StaticRule): string[] {
  const lines = [
    'rule {',
    `\tipv6-prefix ${formatIpv6Prefix(rule.ipv6Prefix)}`,
    `\tipv4-prefix ${formatIpv4Prefix(rule.ipv4Prefix)}`,
    `\tea-len ${rule.eaLen}`,
    `\tpsid-offset ${rule.psidOffset}`,
  ];
  if (rule.psidLen !== null) lines.push(`\tpsid-len ${rule.psidLen}${rule.psid === null ? '' : ` psid ${rule.psid}`}`);
  // A psid without psid-len cannot be parsed; it is printed so that the printer never hides a value.
  else if (rule.psid !== null) lines.push(`\tpsid ${rule.psid}`);
  if (rule.br !== null) lines.push(`\tbr ${formatIpv6(rule.br)}`);
  lines.push('}');
  return lines;
}

/** `aftr` (an address bare, a name quoted) and `dns` when set. */
function printAftr(spec: AftrSpec): string[] {
  const lines = [`\taftr ${typeof spec.aftr === 'string' ? quote(spec.aftr) : formatIpv6(spec.aftr)}`];
  if (spec.dns !== null) lines.push(`\tdns ${quote(spec.dns)}`);
  return lines;
}

function printLw4o6(block: StaticLw4o6): string[] {
  const lines = ['lw4o6 {', `\tipv4 ${formatIpv4(block.ipv4)}`, `\tpsid-offset ${block.psidOffset} psid-len ${block.psidLen} psid ${block.psid}`];
  if (block.bindPrefix !== null) lines.push(`\tbind-prefix ${formatIpv6Prefix(block.bindPrefix)}`);
  return [...lines, ...printAftr(block), '}'];
}

function printIpip(block: StaticIpip): string[] {
  const ipv4 = block.ipv4.length === 32 ? formatIpv4(block.ipv4.address) : formatIpv4Prefix(block.ipv4);
  return ['ipip {', `\tlocal ${formatIpv6(block.local)}`, `\tremote ${formatIpv6(block.remote)}`, `\tipv4 ${ipv4}`, '}'];
}

function printDslite(block: StaticDslite): string[] {
  return ['dslite {', ...printAftr(block), '}'];
}

function printProvision(p: ProvisionConfig): string[] {
  const fields: [string, string | null][] = [
    ['url', p.url],
    ['dns', p.dns],
    ['vendorid', p.vendorid],
    ['product', p.product],
    ['user', p.user],
    ['password', p.password],
    ['server-name', p.serverName],
    ['ca-file', p.caFile],
  ];
  return ['provision hb46pp {', ...fields.filter(([, v]) => v !== null).map(([k, v]) => `\t${k} ${quote(v!)}`), '}'];
}

export function printConfig(config: MapedConfig): string {
  const nat = config.natFrom.map(formatIpv4Prefix);
  const lines = [
    `wan ${config.wan}`,
    `lease file ${quote(config.leaseFile)}`,
    // Printed only when set: `lease` is the default and has no keyword of its own.
    ...(config.prefix === 'autoconf' ? ['prefix autoconf'] : []),
    // `peer` only when set: unset, each softwire kind has its own (DS-Lite's is 192.0.0.1).
    `tunnel ${config.tunnel.interface} mtu ${config.tunnel.mtu}${config.tunnel.peer === null ? '' : ` peer ${formatIpv4(config.tunnel.peer)}`} route-priority ${config.tunnel.routePriority}`,
    nat.length === 0 ? 'nat from { }' : `nat from { ${nat.join(' ')} }`,
    `pf anchor ${quote(config.pf.anchor)}`,
    `pf portset ${config.pf.portset}`,
    `interface-id ${config.interfaceId}`,
    `softwire ${config.softwire}`,
    ...config.rules.flatMap(printRule),
    ...(config.lw4o6 === null ? [] : printLw4o6(config.lw4o6)),
    ...(config.ipip === null ? [] : printIpip(config.ipip)),
    ...(config.dslite === null ? [] : printDslite(config.dslite)),
    ...(config.provision === null ? [] : printProvision(config.provision)),
    ...config.forwards.map(printForward),
    `on-exit ${config.onExit}`,
    `metrics ${config.metrics ? 'yes' : 'no'}`,
    ...[...TOOL_KEYWORDS].sort(toolOrder).map((tool) => `tool ${tool} ${quote(config.tools[tool])}`),
    `state-dir ${quote(config.stateDir)}`,
    `user ${config.user}`,
  ];
  return lines.join('\n') + '\n';
}

/** Tools in the order maped.conf(5) lists them. */
const TOOL_ORDER = ['ifconfig', 'route', 'pfctl', 'dhcp6leasectl', 'sysctl', 'logger'];
function toolOrder(a: string, b: string): number {
  return TOOL_ORDER.indexOf(a) - TOOL_ORDER.indexOf(b);
}
