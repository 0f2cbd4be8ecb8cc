/**
 * `mapedctl decode`: offline decoder for DHCPv6 Softwire46 options
 * (docs/architecture.md §3.2, mapedctl(8)). The options come as whole
 * options in hex (`--hex`: code, length, payload), as one container's
 * payload (`--code N --hex PAYLOAD`, what a lease file's `s46` line holds),
 * or from a lease file (`--lease`: its `s46` and `mape_*` lines). `--json`
 * prints the s46.jsonl `decode` shape or `{"error"}`. With `--prefix` (with
 * `--lease`, its delegated prefix by default) it also derives the MAP-E (or
 * MAP-T) parameters the BMR for that prefix gives.
 */
import type { Command } from 'commander';
import { readRegularFile } from '../bounded-file.js';
import {
  decodeOptions,
  deriveMapE,
  deriveMapT,
  parseHex,
  toDecodeJson,
  type RuleJson,
  type S46Options,
  withContainers,
} from '../dhcpv6/index.js';
import { decodeS46Text, MAX_LEASE_FILE_BYTES, parseLeaseFile } from '../lease/lease-file.js';
import { calcOutput, err, escapeControls, escapeJsonControls, formatIpv6, formatIpv6Prefix, ok, parseIpv6Prefix, type InterfaceIdFormat, type Result } from '../map/index.js';
import { describeCalc } from './calc-command.js';

interface DecodeOptions {
  hex?: string;
  code?: string;
  lease?: string;
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

/**
 * What the rules of each domain give for a delegated prefix: the derivations
 * that work, and one line for each that does not (no rule matches, …).
 */
function describeDerivation(options: S46Options, prefixText: string, iid: InterfaceIdFormat): Result<{ text: string; errors: string[]; json: DerivedJson[] }> {
  const prefix = parseIpv6Prefix(prefixText);
  if (!prefix.ok) return err(`--prefix: ${prefix.error}`);
  const lines: string[] = [];
  const errors: string[] = [];
  const json: DerivedJson[] = [];
  options.mapE.forEach((domain, i) => {
    const where = { kind: 'map-e', domain: i + 1, prefix: prefixText } as const;
    const d = deriveMapE(domain, prefix.value, iid);
    if (!d.ok) {
      json.push({ ...where, error: d.error });
      return void errors.push(`MAP-E domain ${i + 1} for ${prefixText}: ${d.error}`);
    }
    json.push({ ...where, ...calcOutput(d.value.params), br: formatIpv6(d.value.br), warnings: d.value.warnings });
    lines.push(`MAP-E domain ${i + 1} for ${prefixText}:`, `${describeCalc(calcOutput(d.value.params), d.value.warnings)}\nBR ${formatIpv6(d.value.br)}`);
  });
  options.mapT.forEach((domain, i) => {
    const where = { kind: 'map-t', domain: i + 1, prefix: prefixText } as const;
    const d = deriveMapT(domain, prefix.value, iid);
    if (!d.ok) {
      json.push({ ...where, error: d.error });
      return void errors.push(`MAP-T domain ${i + 1} for ${prefixText}: ${d.error}`);
    }
    json.push({ ...where, ...calcOutput(d.value.params), warnings: d.value.warnings });
    lines.push(`MAP-T domain ${i + 1} for ${prefixText}:`, describeCalc(calcOutput(d.value.params), d.value.warnings));
  });
  return ok({ text: lines.join('\n'), errors, json });
}

/** One domain's derivation under --json: `mapedctl calc --json`'s fields (and the BR), or why there is none. */
type DerivedJson = { kind: 'map-e' | 'map-t'; domain: number; prefix: string } & (Record<string, unknown> | { error: string });

const hasContainer = (o: S46Options): boolean => o.mapE.length + o.mapT.length + o.lw4o6.length > 0;

/** The options to decode, from whichever of --hex, --code with --hex, or --lease was given. */
function readOptions(options: DecodeOptions): Result<{ s46: S46Options; from: string; leasePrefix: string | null }> {
  if (options.lease !== undefined) {
    if (options.hex !== undefined || options.code !== undefined) return err('--lease takes no --hex or --code');
    // As maped reads its files: a regular file only (a FIFO would hang, /dev/zero exhaust memory), the lease file's size at most.
    const read = readRegularFile(options.lease, MAX_LEASE_FILE_BYTES);
    if ('error' in read) return err(`${options.lease}: ${read.error}`);
    const lease = parseLeaseFile(read.text, options.lease);
    if (!lease.ok) return lease;
    const first = lease.value.prefixes[0];
    return ok({ s46: lease.value.s46, from: options.lease, leasePrefix: first === undefined ? null : formatIpv6Prefix(first.prefix) });
  }
  if (options.hex === undefined) return err('give --hex (whole options), --code with --hex (a container payload) or --lease');
  if (options.code !== undefined) {
    // As a lease file's `s46 <code> "<hex>"` line holds it: the payload alone.
    const container = decodeS46Text('--code', options.code, options.hex.replace(/[\s:]/g, ''));
    if (!container.ok) return container;
    return ok({ s46: withContainers({ mapE: [], mapT: [], lw4o6: [] }, [container.value]), from: '--hex', leasePrefix: null });
  }
  const bytes = parseHex(options.hex, true);
  if (!bytes.ok) return err(`--hex: ${bytes.error}`);
  const decoded = decodeOptions(bytes.value);
  if (!decoded.ok) return decoded;
  return ok({ s46: decoded.value, from: '--hex', leasePrefix: null });
}

export function registerDecode(program: Command): void {
  program
    .command('decode')
    .usage('--hex hex | --code n --hex payload | --lease file [--json] [--prefix prefix] [--iid rfc7597 | draft03]')
    .description('decode DHCPv6 Softwire46 options (RFC 7598) given as hex or in a lease file, offline')
    .option('--hex <hex>', 'one or more whole options: code, length, payload (spaces and colons allowed)')
    .option('--code <n>', 'with --hex: the payload of this container option (94, 95 or 96), as a lease file holds it')
    .option('--lease <file>', 'the s46 and mape_* lines of a dhcp6leased lease file')
    .option('--json', 'print one JSON object')
    .option('--prefix <prefix>', 'also derive the parameters for this delegated prefix (default with --lease: its ia_pd)')
    .option('--iid <format>', 'interface id for --prefix: rfc7597 or draft03', 'rfc7597')
    .action((options: DecodeOptions) => {
      const fail = (reason: string): void => {
        // The reason may quote the lease file or the path: one line, controls escaped (src/map/shown-text.ts).
        if (options.json) process.stdout.write(escapeJsonControls(JSON.stringify({ error: reason })) + '\n');
        else process.stderr.write(`mapedctl decode: ${escapeControls(reason)}\n`);
        process.exitCode = 1;
      };
      if (options.iid !== 'rfc7597' && options.iid !== 'draft03') return fail(`--iid must be rfc7597 or draft03, not "${options.iid}"`);
      const read = readOptions(options);
      if (!read.ok) return fail(read.error);
      const { s46, from, leasePrefix } = read.value;
      if (!hasContainer(s46)) {
        const hint = from === '--hex' && options.code === undefined ? " (for the payload of a lease file's s46 line, add --code)" : '';
        return fail(`no Softwire46 container (options 94, 95, 96) in ${from}${hint}`);
      }
      const prefix = options.prefix ?? leasePrefix;
      if (options.json) {
        // Without a prefix, the s46.jsonl decode shape alone; with one, the derivations beside it.
        if (prefix === null) return void process.stdout.write(JSON.stringify(toDecodeJson(s46)) + '\n');
        const derived = describeDerivation(s46, prefix, options.iid);
        if (!derived.ok) return fail(derived.error);
        process.stdout.write(escapeJsonControls(JSON.stringify({ ...toDecodeJson(s46), derived: derived.value.json })) + '\n');
        if (derived.value.errors.length > 0) process.exitCode = 1;
        return;
      }
      let text = describeDecode(s46);
      if (prefix !== null) {
        const derived = describeDerivation(s46, prefix, options.iid);
        if (!derived.ok) return fail(derived.error);
        if (derived.value.text !== '') text += '\n' + derived.value.text;
        process.stdout.write(text + '\n');
        for (const error of derived.value.errors) fail(error);
        return;
      }
      process.stdout.write(text + '\n');
    });
}
