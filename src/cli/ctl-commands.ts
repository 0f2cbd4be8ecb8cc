/**
 * The mapedctl commands that talk to a running maped over its control socket.
 *
 * What they print quotes leases, HB46PP replies and tools (a reason, a
 * warning, the names of §3.4), so it goes out with its control characters
 * escaped (src/map/shown-text.ts): a name of ESC ] 0 ; … BEL would retitle
 * the terminal, a newline would add a line that maped never wrote. JSON is
 * printed with the controls JSON.stringify leaves raw escaped as \uNNNN.
 */
import type { Command } from 'commander';
import { ControlError, request } from '../control/client.js';
import {
  DEFAULT_SOCKET_PATH,
  MessageResultSchema,
  MetricsResultSchema,
  PortsResultSchema,
  ProvisioningResultSchema,
  RulesResultSchema,
  StatusSchema,
  UsageResultSchema,
  type ControlCommand,
  type ForwardView,
  type RuleView,
  type Status,
  type UsageResult,
} from '../control/protocol.js';
import { forwardText } from '../openbsd/forwards.js';
import { REMOTE_LABEL } from '../softwire/index.js';
import { escapeControls, escapeJsonControls } from '../map/index.js';
import type { z } from 'zod';
import { exitWhenWritten } from './exit.js';
import { formatPortRanges } from './port-ranges.js';
import { usageError } from './usage-line.js';

function socketOf(command: Command): string {
  let top: Command = command;
  while (top.parent) top = top.parent;
  return top.opts<{ s?: string }>().s ?? DEFAULT_SOCKET_PATH;
}

async function ask(command: Command, what: ControlCommand): Promise<unknown> {
  try {
    return await request(socketOf(command), what);
  } catch (e) {
    if (e instanceof ControlError) {
      process.stderr.write(printed([`mapedctl: ${e.message}`]));
      return exitWhenWritten(1);
    }
    throw e;
  }
}

/** Lines of text for a person, each one line whatever its values hold. */
function printed(lines: readonly string[]): string {
  return lines.map((line) => `${escapeControls(line)}\n`).join('');
}

/** One JSON object on a line, safe on a terminal. */
function jsonLine(value: unknown): string {
  return `${escapeJsonControls(JSON.stringify(value))}\n`;
}

function row(label: string, value: string): string {
  return `${`${label}:`.padEnd(12)}${value}`;
}

/** `show ports`: a range a line, each followed by the forwards in force that take ports of it. */
export function describePorts(portSets: readonly (readonly [number, number])[], forwards: readonly ForwardView[]): string {
  const active = forwards.filter((f) => f.active);
  return portSets
    .map(([first, last]) => {
      const here = active.filter((f) => f.ports[0] <= last && f.ports[1] >= first);
      return printed([`${first}-${last}${here.map((f) => `  forward ${forwardText(f, f.to)}`).join('')}`]);
    })
    .join('');
}

export function describeStatus(status: Status): string {
  const lines = [row('state', status.reason === null ? status.state : `${status.state} (${status.reason})`)];
  if (status.softwire !== null) lines.push(row('softwire', `${status.softwire}${status.origin === null ? '' : ` (${status.origin})`}`));
  if (status.lease) {
    const l = status.lease;
    const dhcp = [l.dhcpState, l.expiresAt && `expires ${l.expiresAt}`].filter(Boolean).join(', ');
    lines.push(row('lease', `${l.interface} ${l.endUserPrefix}${dhcp ? ` (${dhcp})` : ''}`));
  } else {
    lines.push(row('lease', 'none'));
  }
  if (status.rule) {
    const r = status.rule;
    lines.push(row('rule', `${r.ipv6Prefix} ${r.ipv4Prefix} ea-len ${r.eaLen} psid-offset ${r.psidOffset} (${r.origin})`));
    lines.push(row('why', r.why));
  }
  if (status.map) {
    const m = status.map;
    lines.push(row('IPv4', m.ipv4PrefixLen === 32 ? m.ipv4 : `${m.ipv4}/${m.ipv4PrefixLen}`));
    if (m.psidLen !== null && m.psidLen > 0) {
      lines.push(row('PSID', `${m.psid}/${m.psidLen} offset ${m.psidOffset} (${m.psidOffset}/${m.psidLen}/${m.psid})`));
      lines.push(row('ports', `${m.portCount} in ${m.portSets.length} ranges: ${formatPortRanges(m.portSets)}`));
    } else if (m.portCount !== null) {
      lines.push(row('PSID', 'none (address not shared)'));
      lines.push(row('ports', 'all'));
    } else {
      lines.push(row('PSID', 'none (no NAT44 here: the AFTR translates)'));
    }
    lines.push(row('CE IPv6', m.ceIPv6));
    lines.push(row(status.softwire === null ? 'BR' : REMOTE_LABEL[status.softwire], m.br));
  }
  if (status.tunnel) lines.push(row('tunnel', `${status.tunnel.interface} mtu ${status.tunnel.mtu ?? 'unknown'}`));
  const portset = status.pf.portset;
  lines.push(
    row(
      'pf',
      `anchor "${status.pf.anchor}"${portset ? `, port set ${portset}` : ''}` +
        (portset === 'stock' ? ' (ICMP echo ids not confined to the port set: stock pf)' : ''),
    ),
  );
  if (status.lastApply) {
    const a = status.lastApply;
    lines.push(row('last apply', `${a.at} ${a.ok ? 'ok' : 'failed'}, ${a.commands} commands${a.error ? `: ${a.error}` : ''}`));
  }
  if (status.nextRetryAt) lines.push(row('next retry', status.nextRetryAt));
  for (const f of status.forwards) {
    lines.push(row('forward', `${forwardText(f, f.to)} (${f.active ? 'active' : `inactive: ${f.reason ?? 'not in force'}`})`));
  }
  for (const warning of status.warnings) lines.push(row('warning', warning));
  return printed(lines);
}

const percent = (part: number, whole: number): string => (whole === 0 ? '0' : ((100 * part) / whole).toFixed(1).replace(/\.0$/, ''));

export function describeUsage(usage: UsageResult): string {
  const lines = [
    `${usage.ipv4}: ${usage.inUse} of ${usage.total} ports in use (${percent(usage.inUse, usage.total)} %), peak ${usage.peak}, at ${usage.at}`,
  ];
  const width = Math.max(...usage.ranges.map((r) => `${r.first}-${r.last}`.length), 0);
  for (const r of usage.ranges) lines.push(`  ${`${r.first}-${r.last}`.padEnd(width)}  ${String(r.inUse).padStart(5)}`);
  if (usage.top.length > 0) {
    lines.push('top hosts by ports held:');
    const hostWidth = Math.max(...usage.top.map((t) => t.host.length));
    for (const t of usage.top) lines.push(`  ${t.host.padEnd(hostWidth)}  ${String(t.ports).padStart(5)}`);
  }
  return printed(lines);
}

/**
 * The PSID length a rule gives and where it comes from: explicit port
 * parameters win (RFC 7598 §4.5); psid-len 0 in them, or none, leaves it to
 * the EA bits, k = ea-len − (32 − IPv4 prefix length) (RFC 7597 §5.2), so
 * the raw 0 of an option is never shown as if it applied.
 */
export function describePsidLength(r: RuleView): string {
  if (r.psidLen !== null && r.psidLen > 0) {
    const from = r.origin === 'dhcpv6' ? 'port parameters' : 'the rule';
    return `psid-len ${r.psidLen}${r.psid === null ? '' : ` psid ${r.psid}`} (from ${from})`;
  }
  const prefixLength = Number(r.ipv4Prefix.split('/')[1] ?? 32);
  return `psid-len ${Math.max(0, r.eaLen - (32 - prefixLength))} (from EA bits)`;
}

/** One line of `show rules`. */
export function describeRuleView(r: RuleView): string {
  return escapeControls(`${r.origin} ${r.fmr ? 'fmr ' : ''}${r.ipv6Prefix} ${r.ipv4Prefix} ea-len ${r.eaLen} psid-offset ${r.psidOffset} ${describePsidLength(r)}${r.br ? ` br ${r.br}` : ''}`);
}

type Provisioning = NonNullable<z.infer<typeof ProvisioningResultSchema>['provisioning']>;

export function describeProvisioning(p: Provisioning): string {
  const lines = [row('state', p.state)];
  lines.push(row('server', p.url === null ? 'unknown' : `${p.url}${p.found ? ` (from ${p.found === 'dns' ? 'the 4over6.info TXT record' : 'maped.conf'}${p.t ? `, t=${p.t}` : ''})` : ''}`));
  if (p.lastFetch) {
    const f = p.lastFetch;
    lines.push(row('last fetch', `${f.at} ${f.outcome}${f.httpStatus === null ? '' : ` HTTP ${f.httpStatus}`}${f.error ? `: ${f.error}` : ''}`));
  }
  const names = [p.enablerName, p.serviceName, p.ispName].filter((n) => n !== null);
  if (names.length > 0) lines.push(row('service', names.join(' / ')));
  if (p.order) lines.push(row('order', `[${p.order.join(', ')}]`));
  if (p.kind) lines.push(row('kind', `${p.kind}${p.interfaceId ? ` (${p.interfaceId} interface id)` : ''}${p.why ? `: ${p.why}` : ''}`));
  if (p.data) lines.push(row('data', p.data === 'cache' ? `cached reply of ${p.savedAt ?? 'unknown time'}` : `from the server, ${p.savedAt ?? ''}`.trim()));
  lines.push(row('ttl', p.ttl === null ? 'none (refresh after 20-24 h)' : `${p.ttl} s`));
  lines.push(row('token', p.token ? 'held' : 'none'));
  if (p.auth) lines.push(row('auth', p.auth));
  lines.push(row('user/pass', p.credentials));
  if (p.nextRefreshAt) lines.push(row('next fetch', p.nextRefreshAt));
  return printed(lines);
}

export function registerControl(program: Command): void {
  program
    .command('status')
    .usage('[--json]')
    .description('show the state of maped')
    .option('--json', 'print one JSON object')
    .action(async (options: { json?: boolean }, command: Command) => {
      const status = StatusSchema.parse(await ask(command, 'status'));
      process.stdout.write(options.json ? jsonLine(status) : describeStatus(status));
    });

  const show = program
    .command('show')
    .usage('rules | ports | usage | provisioning [--json]')
    .description('show rules, ports, port usage or provisioning')
    // Without a subcommand commander would print the whole help, and a word
    // it does not know would be an excess argument: both are usage errors
    // that say what is wrong.
    .argument('[what]')
    .action((what: string | undefined, _options: unknown, command: Command) =>
      usageError(command, what === undefined ? 'missing what to show: rules, ports, usage or provisioning' : `unknown command ${what}`),
    );
  show
    .command('provisioning')
    .usage('[--json]')
    .description('the HB46PP provisioning client: server, last fetch, names, timers, the kind chosen')
    .option('--json', 'print one JSON object')
    .action(async (options: { json?: boolean }, command: Command) => {
      const result = ProvisioningResultSchema.parse(await ask(command, 'show provisioning'));
      if (options.json) return void process.stdout.write(jsonLine(result.provisioning));
      if (result.provisioning === null) return void process.stdout.write('no provision block in maped.conf\n');
      process.stdout.write(describeProvisioning(result.provisioning));
    });
  show
    .command('rules')
    .usage('[--json]')
    .description('the MAP rules in use, decoded')
    .option('--json', 'print one JSON object')
    .action(async (options: { json?: boolean }, command: Command) => {
      const result = RulesResultSchema.parse(await ask(command, 'show rules'));
      if (options.json) return void process.stdout.write(jsonLine(result));
      if (result.rules.length === 0) return void process.stdout.write('no rules\n');
      process.stdout.write(result.rules.map((r) => describeRuleView(r) + '\n').join(''));
    });
  show
    .command('ports')
    .usage('[--json]')
    .description('the port set, one range per line')
    .option('--json', 'print one JSON object')
    .action(async (options: { json?: boolean }, command: Command) => {
      const result = PortsResultSchema.parse(await ask(command, 'show ports'));
      if (options.json) return void process.stdout.write(jsonLine(result));
      process.stdout.write(describePorts(result.portSets, result.forwards));
    });

  show
    .command('usage')
    .usage('[--json]')
    .description('ports of the set held by pf states now, per range, by host, and the peak')
    .option('--json', 'print one JSON object')
    .action(async (options: { json?: boolean }, command: Command) => {
      const result = UsageResultSchema.parse(await ask(command, 'show usage'));
      process.stdout.write(options.json ? jsonLine(result) : describeUsage(result));
    });

  program
    .command('metrics')
    .description('the metrics in Prometheus text format, as in <state-dir>/maped.prom')
    .action(async (_options: unknown, command: Command) => {
      const result = MetricsResultSchema.parse(await ask(command, 'metrics'));
      process.stdout.write(result.text);
    });

  program
    .command('provision')
    .usage('refresh | forget')
    .description('provision refresh | provision forget (HB46PP)')
    .argument('<action>', 'refresh: ask the server now; forget: erase the cached reply and token, then ask again')
    .action(async (action: string, _options: unknown, command: Command) => {
      if (action !== 'refresh' && action !== 'forget') usageError(command, `expected refresh or forget, not "${action}"`);
      const result = MessageResultSchema.parse(await ask(command, action === 'refresh' ? 'provision refresh' : 'provision forget'));
      process.stdout.write(printed([result.message]));
    });

  program
    .command('reload')
    .description('reload the configuration file')
    .action(async (_options: unknown, command: Command) => {
      const result = MessageResultSchema.parse(await ask(command, 'reload'));
      process.stdout.write(printed([result.message]));
    });

  program
    .command('log')
    .usage('brief | verbose')
    .description('log verbose | log brief')
    .argument('<level>', 'verbose or brief')
    .action(async (level: string, _options: unknown, command: Command) => {
      if (level !== 'verbose' && level !== 'brief') usageError(command, `expected brief or verbose, not "${level}"`);
      const result = MessageResultSchema.parse(await ask(command, level === 'verbose' ? 'log verbose' : 'log brief'));
      process.stdout.write(printed([result.message]));
    });
}
