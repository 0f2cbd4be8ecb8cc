/**
 * `mapedctl decode`: offline decoder for DHCPv6 Softwire46 options
 * (docs/architecture.md §3.2, mapedctl(8)). `--hex` holds one or more whole options (code, length,
 * payload); `--json` prints the s46.jsonl `decode` shape or `{"error"}`.
 * With `--prefix` it also derives the MAP-E (or MAP-T) parameters the BMR
 * for that delegated prefix gives.
 */
import type { Command } from 'commander';
import {
  decodeOptions,
  deriveMapE,
  deriveMapT,
  parseHex,
  toDecodeJson,
  type RuleJson,
  type S46Options,
} from '../dhcpv6/index.js';
import { calcOutput, err, formatIpv6, ok, parseIpv6Prefix, type InterfaceIdFormat, type Result } from '../map/index.js';
import { describeCalc } from './calc-command.js';

interface DecodeOptions {
  hex?: string;
  json?: boolean;
  prefix?: string;
  iid: string;
}

function describeRule(rule: RuleJson, index: number): string {
  const pp = rule.portParams;
  const ports =
    pp === null
      ? 'no port parameters'
      : `port parameters offset ${pp.psidOffset} psid-len ${pp.psidLen}${pp.psidLen === 0 ? '' : ` psid ${pp.psid}`}`;
  return `  rule ${index + 1}${rule.fmr ? ' (FMR)' : ''}: ${rule.ipv6Prefix} ${rule.ipv4Prefix} ea-len ${rule.eaLen}, ${ports}`;
}

export function describeDecode(options: S46Options): string {
  const view = toDecodeJson(options);
  const lines: string[] = [];
  view.mapE.forEach((d, i) => {
    lines.push(`MAP-E domain ${i + 1}`, ...d.rules.map(describeRule), ...d.br.map((br) => `  BR ${br}`));
  });
  view.mapT.forEach((d, i) => {
    lines.push(`MAP-T domain ${i + 1}`, ...d.rules.map(describeRule), `  DMR ${d.dmr}`);
  });
  view.lw4o6.forEach((d, i) => {
    lines.push(`lw4o6 domain ${i + 1}`, ...d.br.map((br) => `  BR ${br}`));
    for (const b of d.bindings) {
      const pp = b.portParams;
      lines.push(
        `  binding ${b.ipv4} ${b.bindPrefix}` +
          (pp === null ? '' : `, port parameters offset ${pp.psidOffset} psid-len ${pp.psidLen} psid ${pp.psid}`),
      );
    }
  });
  if (lines.length === 0) lines.push('no Softwire46 container (options 94, 95, 96)');
  return lines.join('\n');
}

function describeDerivation(options: S46Options, prefixText: string, iid: InterfaceIdFormat): Result<string> {
  const prefix = parseIpv6Prefix(prefixText);
  if (!prefix.ok) return err(`--prefix: ${prefix.error}`);
  const lines: string[] = [];
  options.mapE.forEach((domain, i) => {
    const d = deriveMapE(domain, prefix.value, iid);
    lines.push(`MAP-E domain ${i + 1} for ${prefixText}:`);
    lines.push(d.ok ? `${describeCalc(calcOutput(d.value.params), d.value.warnings)}\nBR ${formatIpv6(d.value.br)}` : `error: ${d.error}`);
  });
  options.mapT.forEach((domain, i) => {
    const d = deriveMapT(domain, prefix.value, iid);
    lines.push(`MAP-T domain ${i + 1} for ${prefixText}:`);
    lines.push(d.ok ? describeCalc(calcOutput(d.value.params), d.value.warnings) : `error: ${d.error}`);
  });
  return ok(lines.join('\n'));
}

export function registerDecode(program: Command): void {
  program
    .command('decode')
    .description('decode DHCPv6 Softwire46 options (RFC 7598) given as hex, offline')
    .requiredOption('--hex <hex>', 'one or more whole options: code, length, payload (spaces and colons allowed)')
    .option('--json', 'print one JSON object')
    .option('--prefix <prefix>', 'also derive the parameters for this delegated prefix')
    .option('--iid <format>', 'interface id for --prefix: rfc7597 or draft03', 'rfc7597')
    .action((options: DecodeOptions) => {
      const fail = (reason: string): void => {
        if (options.json) process.stdout.write(JSON.stringify({ error: reason }) + '\n');
        else process.stderr.write(`mapedctl decode: ${reason}\n`);
        process.exitCode = 1;
      };
      if (options.iid !== 'rfc7597' && options.iid !== 'draft03') return fail(`--iid must be rfc7597 or draft03, not "${options.iid}"`);
      const bytes = parseHex(options.hex ?? '', true);
      if (!bytes.ok) return fail(`--hex: ${bytes.error}`);
      const decoded = decodeOptions(bytes.value);
      if (!decoded.ok) return fail(decoded.error);
      if (options.json) {
        process.stdout.write(JSON.stringify(toDecodeJson(decoded.value)) + '\n');
        return;
      }
      let text = describeDecode(decoded.value);
      if (options.prefix !== undefined) {
        const derived = describeDerivation(decoded.value, options.prefix, options.iid);
        if (!derived.ok) return fail(derived.error);
        text += '\n' + derived.value;
      }
      process.stdout.write(text + '\n');
    });
}
