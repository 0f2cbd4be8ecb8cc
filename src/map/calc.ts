/**
 * The `mapedctl calc` contract (docs/architecture.md §3.2): a rule and an end-user prefix
 * as text in, the derived parameters as plain JSON values out. Shared by the
 * batch mode, the one-shot mode and the tests over test/vectors.
 */
import { z } from 'zod';
import { formatIpv4, formatIpv6, parseIpv4Prefix, parseIpv6Prefix, type Ipv4Prefix, type Ipv6Prefix } from './address.js';
import { deriveAddressing, deriveMap, type DeriveInput } from './derive.js';
import { AsciiSink } from './ascii-sink.js';
import { portCount, writePortSetJson } from './port-set.js';
import { err, ok, type Result } from './result.js';
import type { MapParams, PortRange } from './rule.js';

const nullableInt = z.number().int().nullable().default(null);

export const CalcInputSchema = z.object({
  rule: z.object({
    ipv6Prefix: z.string(),
    ipv4Prefix: z.string(),
    eaLen: z.number().int(),
    psidOffset: z.number().int().default(6),
  }),
  endUserPrefix: z.string(),
  psidLen: nullableInt,
  psid: nullableInt,
  iid: z.enum(['rfc7597', 'draft03']).default('rfc7597'),
});
export type CalcInput = z.output<typeof CalcInputSchema>;

export interface CalcOutput {
  readonly ipv4: string;
  readonly ipv4PrefixLen: number;
  readonly psidLen: number;
  readonly psid: number;
  readonly psidOffset: number;
  readonly ceIPv6: string;
  readonly portSets: readonly PortRange[];
  readonly portCount: number;
}

export function calcOutput(params: MapParams): CalcOutput {
  return {
    ipv4: formatIpv4(params.ipv4),
    ipv4PrefixLen: params.ipv4PrefixLen,
    psidLen: params.psidLen,
    psid: params.psid,
    psidOffset: params.psidOffset,
    ceIPv6: formatIpv6(params.ceIPv6),
    portSets: params.portSets,
    portCount: params.portCount,
  };
}

/**
 * A batch usually repeats a few rules over many end-user prefixes: their
 * parsed prefixes are kept (bounded) so each line parses only what differs.
 */
const ruleIpv6Cache = new Map<string, Result<Ipv6Prefix>>();
const ruleIpv4Cache = new Map<string, Result<Ipv4Prefix>>();

function remembered<T>(cache: Map<string, Result<T>>, text: string, parse: (text: string) => Result<T>): Result<T> {
  let parsed = cache.get(text);
  if (parsed === undefined) {
    if (cache.size >= 1024) cache.clear();
    parsed = parse(text);
    cache.set(text, parsed);
  }
  return parsed;
}

/**
 * The port-set text of a PSID, kept once written. A batch over many
 * end-user prefixes of a few rules meets the same (offset, length, PSID)
 * again and again (a v6plus /31 has 256 PSIDs for 2^25 prefixes), and a
 * large set is kilobytes of digits. Bounded by bytes; cleared when full.
 */
const portSetText = new Map<number, Uint8Array>();
let portSetTextBytes = 0;
const PORT_SET_TEXT_BUDGET = 8 << 20;

function writeRememberedPortSet(sink: AsciiSink, a: number, k: number, psid: number): void {
  const key = (a * 17 + k) * 65536 + psid;
  const known = portSetText.get(key);
  if (known !== undefined) return sink.bytesOf(known);
  const start = sink.length;
  writePortSetJson(sink, a, k, psid);
  const text = sink.copyFrom(start);
  if (portSetTextBytes + text.length > PORT_SET_TEXT_BUDGET) {
    portSetText.clear();
    portSetTextBytes = 0;
  }
  portSetText.set(key, text);
  portSetTextBytes += text.length;
}

function deriveInput(input: CalcInput): Result<DeriveInput> {
  // A PSID means nothing without its length (RFC 7598 §4.5 sends both); never drop it silently.
  if (input.psidLen === null && input.psid !== null) return err('psid given without psidLen');
  const ipv6Prefix = remembered(ruleIpv6Cache, input.rule.ipv6Prefix, parseIpv6Prefix);
  if (!ipv6Prefix.ok) return ipv6Prefix;
  const ipv4Prefix = remembered(ruleIpv4Cache, input.rule.ipv4Prefix, parseIpv4Prefix);
  if (!ipv4Prefix.ok) return ipv4Prefix;
  const endUserPrefix = parseIpv6Prefix(input.endUserPrefix);
  if (!endUserPrefix.ok) return endUserPrefix;
  return ok({
    rule: {
      ipv6Prefix: ipv6Prefix.value,
      ipv4Prefix: ipv4Prefix.value,
      eaLen: input.rule.eaLen,
      psidOffset: input.rule.psidOffset,
    },
    endUserPrefix: endUserPrefix.value,
    portParams: input.psidLen === null ? null : { psidLen: input.psidLen, psid: input.psid },
    interfaceId: input.iid,
  });
}

/** One calc input (already shape-checked) to its derived parameters, with warnings. */
export function calc(input: CalcInput): Result<{ output: CalcOutput; warnings: readonly string[] }> {
  const prepared = deriveInput(input);
  if (!prepared.ok) return prepared;
  const derived = deriveMap(prepared.value);
  if (!derived.ok) return derived;
  return ok({ output: calcOutput(derived.value), warnings: derived.value.warnings });
}

/** One JSON Lines input line to one output line (without the newline); never throws. */
export function calcLine(line: string): string {
  const sink = new AsciiSink(256);
  writeCalcLine(sink, line);
  return sink.toString();
}

/**
 * Appends the output line for one input line, newline excluded. Never throws,
 * so a batch never aborts on a bad line. The success line is written by hand in
 * the key order of {@link CalcOutput}, the port ranges straight into bytes.
 */
/**
 * `{"error": message}` as ASCII JSON: an error may echo the input, and the
 * sink takes ASCII only (a non-ASCII character is escaped as \uXXXX, as
 * RFC 8259 §7 allows), so the line stays whole and valid.
 */
export function writeCalcError(sink: AsciiSink, message: string): void {
  // eslint-disable-next-line no-control-regex
  sink.text(JSON.stringify({ error: message }).replace(/[^\x00-\x7f]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`));
}

export function writeCalcLine(sink: AsciiSink, line: string): void {
  let json: unknown;
  try {
    json = JSON.parse(line);
  } catch {
    return writeCalcError(sink, 'input is not valid JSON');
  }
  const shape = CalcInputSchema.safeParse(json);
  if (!shape.success) {
    const issue = shape.error.issues[0];
    const where = issue?.path.join('.') || 'input';
    return writeCalcError(sink, `${where}: ${issue?.message ?? 'invalid'}`);
  }
  const prepared = deriveInput(shape.data);
  const derived = prepared.ok ? deriveAddressing(prepared.value) : prepared;
  if (!derived.ok) return writeCalcError(sink, derived.error);
  const p = derived.value;
  // Field by field into bytes: no template strings to build and encode again.
  sink.text('{"ipv4":"');
  sink.ipv4(p.ipv4);
  sink.text('","ipv4PrefixLen":');
  sink.uint(p.ipv4PrefixLen);
  sink.text(',"psidLen":');
  sink.uint(p.psidLen);
  sink.text(',"psid":');
  sink.uint(p.psid);
  sink.text(',"psidOffset":');
  sink.uint(p.psidOffset);
  sink.text(',"ceIPv6":"');
  sink.ipv6(p.ceIPv6);
  sink.text('","portSets":');
  writeRememberedPortSet(sink, p.psidOffset, p.psidLen, p.psid);
  sink.text(',"portCount":');
  sink.uint(portCount(p.psidOffset, p.psidLen));
  sink.byte(0x7d);
}
