/**
 * `mapedctl calc`: the offline MAP calculator (docs/architecture.md §3.2, mapedctl(8)).
 */
import { InvalidArgumentError, type Command } from 'commander';
import { ipv4PrefixSchema, ipv6PrefixSchema } from '../config/schema.js';
import { calc, writeCalcError, writeCalcLine, type CalcInput, type CalcOutput } from '../map/index.js';
import { BATCH_FLUSH_BYTES, BatchOutput } from './batch-output.js';
import { formatPortRanges } from './port-ranges.js';
import { usageError } from './usage-line.js';

interface CalcOptions {
  rule?: string;
  prefix?: string;
  psidLen?: number;
  psid?: number;
  iid: 'rfc7597' | 'draft03';
  json?: boolean;
  batch?: boolean;
}

/** A decimal whole number, as maped.conf(5) writes ea-len, psid-offset and psid-len. */
function integer(value: string): number {
  if (!/^[0-9]{1,9}$/.test(value)) throw new InvalidArgumentError(`not a whole number: ${value}`);
  return Number(value);
}

/** A PSID: decimal, or hexadecimal after 0x as PSIDs are often written (`PSID 52 (0x34)`). */
function psidNumber(value: string): number {
  if (!/^(0x[0-9a-fA-F]{1,8}|[0-9]{1,9})$/.test(value)) throw new InvalidArgumentError(`not a whole number: ${value}`);
  return Number(value);
}

/** `--rule ipv6-prefix,ipv4-prefix,ea-len[,psid-offset]`, the maped.conf rule terms in order. */
function parseRuleOption(text: string): CalcInput['rule'] {
  const fields = text.split(',');
  if (fields.length < 3 || fields.length > 4) {
    throw new InvalidArgumentError('expected ipv6-prefix,ipv4-prefix,ea-len[,psid-offset]');
  }
  const [ipv6Prefix = '', ipv4Prefix = '', eaLen = '', psidOffset = '6'] = fields;
  return { ipv6Prefix, ipv4Prefix, eaLen: integer(eaLen), psidOffset: integer(psidOffset) };
}

export function describeCalc(output: CalcOutput, warnings: readonly string[]): string {
  const lines = [
    `IPv4 ${output.ipv4PrefixLen === 32 ? output.ipv4 : `${output.ipv4}/${output.ipv4PrefixLen}`}`,
    output.psidLen === 0
      ? 'PSID none (address not shared)'
      : `PSID ${output.psid} (0x${output.psid.toString(16)}), length ${output.psidLen}, offset ${output.psidOffset}`,
    `ports ${output.portCount} in ${output.portSets.length} range${output.portSets.length === 1 ? '' : 's'}: ${formatPortRanges(output.portSets)}`,
    `CE IPv6 ${output.ceIPv6}`,
  ];
  return [...lines, ...warnings.map((w) => `warning: ${w}`)].join('\n');
}

/**
 * JSON Lines in, one line out per input line. stdin is split by hand rather
 * than with readline, whose per-line promise costs more than a derivation.
 */
async function runBatch(): Promise<void> {
  const output = new BatchOutput();
  // Output line n answers input line n: a blank or overlong line gets an error line too.
  const handle = (line: string | null): void => {
    const sink = output.sink;
    if (line === null) writeCalcError(sink, `line longer than ${MAX_BATCH_LINE} characters`);
    else if (line.trim() === '') writeCalcError(sink, 'empty line');
    else writeCalcLine(sink, line);
    sink.byte(0x0a);
  };
  // The start of a line not ended yet; null once it is past the limit (the rest is skipped, not kept).
  let pending: string | null = '';
  let seen = false;
  process.stdin.setEncoding('utf8');
  for await (const chunk of process.stdin as AsyncIterable<string>) {
    // Newlines are looked for in the new chunk only: a long line costs linear time.
    let start = 0;
    for (let end = chunk.indexOf('\n'); end !== -1; end = chunk.indexOf('\n', start)) {
      const piece = chunk.slice(start, end);
      handle(pending === null || pending.length + piece.length > MAX_BATCH_LINE ? null : pending + piece);
      pending = '';
      start = end + 1;
    }
    const rest = chunk.slice(start);
    if (pending !== null) pending = pending.length + rest.length > MAX_BATCH_LINE ? null : pending + rest;
    seen ||= chunk.length > 0;
    if (output.sink.length >= BATCH_FLUSH_BYTES) await output.flush();
    // The reader went away (`| head`): like a tool killed by SIGPIPE, stop quietly.
    if (output.closed) break;
  }
  // A last line without its newline is a line; nothing after a final newline is none.
  if (!output.closed && seen && pending !== '') handle(pending);
  try {
    await output.close();
  } catch (e) {
    // Stdout full or gone (ENOSPC on /dev/full, EIO): one line, exit 1.
    process.stderr.write(`mapedctl calc: writing the output: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}\n`);
    process.exitCode = 1;
  }
}

/** Longest input line --batch derives from; longer ones get an error line (an input is a few hundred characters). */
export const MAX_BATCH_LINE = 64 * 1024;

export function registerCalc(program: Command): void {
  program
    .command('calc')
    .usage('--rule ipv6-prefix,ipv4-prefix,ea-len[,psid-offset] --prefix prefix [--psid-len n [--psid n]] [--iid rfc7597 | draft03] [--json] | --batch')
    .description('derive MAP parameters from a rule and an end-user prefix, offline')
    .option('--rule <rule>', 'ipv6-prefix,ipv4-prefix,ea-len[,psid-offset]')
    .option('--prefix <prefix>', 'the end-user (delegated) IPv6 prefix')
    .option('--psid-len <n>', 'explicit PSID length (as S46_PORTPARAMS)', integer)
    .option('--psid <n>', 'explicit PSID, right-aligned', psidNumber)
    .option('--iid <format>', 'interface id: rfc7597 or draft03', 'rfc7597')
    .option('--json', 'print one JSON object')
    .option('--batch', 'read JSON Lines on stdin, write one JSON line per input')
    .action(async (options: CalcOptions, command: Command) => {
      if (options.batch) return runBatch();
      if (options.rule === undefined || options.prefix === undefined) {
        usageError(command, '--rule and --prefix are required (or --batch)');
      }
      if (options.iid !== 'rfc7597' && options.iid !== 'draft03') {
        usageError(command, `--iid must be rfc7597 or draft03, not "${options.iid}"`);
      }
      if (options.psid !== undefined && options.psidLen === undefined) {
        usageError(command, '--psid needs --psid-len');
      }
      let rule: CalcInput['rule'];
      try {
        rule = parseRuleOption(options.rule!);
      } catch (e) {
        command.error(`mapedctl calc: --rule: ${(e as Error).message}`);
      }
      // Prefixes as maped.conf(5) takes them: host bits refused, not masked
      // (a stray bit would move the derivation to someone else's addresses).
      for (const checked of [
        ipv6PrefixSchema('--rule: ipv6-prefix').safeParse(rule!.ipv6Prefix),
        ipv4PrefixSchema('--rule: ipv4-prefix').safeParse(rule!.ipv4Prefix),
        ipv6PrefixSchema('--prefix').safeParse(options.prefix),
      ]) {
        if (!checked.success) command.error(`mapedctl calc: ${checked.error.issues[0]?.message ?? 'invalid prefix'}`);
      }
      const result = calc({
        rule: rule!,
        endUserPrefix: options.prefix!,
        psidLen: options.psidLen ?? null,
        psid: options.psid ?? null,
        iid: options.iid,
      });
      if (!result.ok) {
        if (options.json) process.stdout.write(JSON.stringify({ error: result.error }) + '\n');
        else process.stderr.write(`mapedctl calc: ${result.error}\n`);
        process.exitCode = 1;
        return;
      }
      process.stdout.write(
        (options.json ? JSON.stringify(result.value.output) : describeCalc(result.value.output, result.value.warnings)) + '\n',
      );
    });
}
