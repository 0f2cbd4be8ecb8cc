/**
 * The `mapedctl calc` contract (DESIGN.md §3.2): a rule and an end-user prefix
 * as text in, the derived parameters as plain JSON values out. Shared by the
 * batch mode, the one-shot mode and the tests over shared/vectors.
 */
import { z } from 'zod';
import { formatIpv4, formatIpv6, parseIpv4Prefix, parseIpv6Prefix } from './address.js';
import { deriveMap } from './derive.js';
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

/** One calc input (already shape-checked) to its derived parameters, with warnings. */
export function calc(input: CalcInput): Result<{ output: CalcOutput; warnings: readonly string[] }> {
  const ipv6Prefix = parseIpv6Prefix(input.rule.ipv6Prefix);
  if (!ipv6Prefix.ok) return ipv6Prefix;
  const ipv4Prefix = parseIpv4Prefix(input.rule.ipv4Prefix);
  if (!ipv4Prefix.ok) return ipv4Prefix;
  const endUserPrefix = parseIpv6Prefix(input.endUserPrefix);
  if (!endUserPrefix.ok) return endUserPrefix;
  const derived = deriveMap({
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
  if (!derived.ok) return derived;
  return ok({ output: calcOutput(derived.value), warnings: derived.value.warnings });
}

/**
 * One JSON Lines input line to one output line; never throws, so a batch
 * never aborts on a bad line.
 */
export function calcLine(line: string): string {
  let json: unknown;
  try {
    json = JSON.parse(line);
  } catch {
    return JSON.stringify({ error: 'input is not valid JSON' });
  }
  const shape = CalcInputSchema.safeParse(json);
  if (!shape.success) {
    const issue = shape.error.issues[0];
    const where = issue?.path.join('.') || 'input';
    return JSON.stringify({ error: `${where}: ${issue?.message ?? 'invalid'}` });
  }
  const result = calc(shape.data);
  return JSON.stringify(result.ok ? result.value.output : { error: result.error });
}

