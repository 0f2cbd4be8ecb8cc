/**
 * The provisioning server's reply (HB46PP, v6mig-prov 1.1 §3.4): JSON (RFC
 * 8259) validated with zod before any of it is used. Unknown keys are
 * dropped, as §3.4 allows ("the CPE may ignore unknown keys of a JSON
 * object"); the bounds are the spec's: names ≤ 256 bytes counting their two
 * quotes, `ttl` ≤ 604800, `token` 64 lower-case hex digits, ≤ 256 MAP-E
 * rules ("the CPE MUST accept 256 rules").
 *
 * `order` lists the softwire kinds by preference; the first one maped
 * supports whose parameters are present and valid is chosen.
 */
import { z } from 'zod';
import type { MapEDomain, S46Rule } from '../dhcpv6/index.js';
import {
  MAX_EA_LEN,
  err,
  ok,
  parseIpv4Prefix,
  parseIpv6,
  parseIpv6Prefix,
  type InterfaceIdFormat,
  type Result,
} from '../map/index.js';

/** §3.4 `ttl`: "MUST be 604800 (7 days) or less". */
export const MAX_TTL_SECONDS = 604_800;
/** §3.4 map_e/rules: the CPE "MUST accept 256 rules". */
export const MAX_MAP_E_RULES = 256;
/** The kinds §3.4 names for `order`; a longer list is not a preference list but noise. */
const MAX_ORDER = 16;

/** §3.4: each name is "a string of 256 bytes or less including the double quotes at both ends". */
const name = z
  .string()
  .refine((s) => Buffer.byteLength(JSON.stringify(s)) <= 256, 'longer than 256 bytes with its quotes');

/** A text field read with one of src/map's parsers; its error is the issue's message. */
function parsed<T>(maxLength: number, parse: (text: string) => Result<T>) {
  return z
    .string()
    .max(maxLength)
    .transform((text, ctx) => {
      const result = parse(text);
      if (result.ok) return result.value;
      ctx.addIssue({ code: 'custom', message: result.error });
      return z.NEVER;
    });
}

const ipv6Prefix = parsed(64, parseIpv6Prefix);
const ipv4Prefix = parsed(32, parseIpv4Prefix);
const ipv6Address = parsed(64, parseIpv6);
/** `version`, `mesh`: 0 or 1, some servers write booleans (§3.4's example has `"mesh": true`). */
const flag = z.union([z.literal(0), z.literal(1), z.boolean()]);

const mapERule = z.object({
  ipv6: ipv6Prefix,
  ipv4: ipv4Prefix,
  ea_length: z.number().int().min(0).max(MAX_EA_LEN),
  // RFC 7598 §4.5: the offset is 0–15.
  psid_offset: z.number().int().min(0).max(15),
});

const mapE = z.object({
  version: flag.optional(),
  mesh: flag.optional(),
  br: ipv6Address,
  rules: z.array(mapERule).min(1).max(MAX_MAP_E_RULES),
});

export const replySchema = z.object({
  enabler_name: name.optional(),
  service_name: name.optional(),
  isp_name: name.optional(),
  ttl: z.number().int().min(0).max(MAX_TTL_SECONDS).optional(),
  token: z.string().regex(/^[0-9a-f]{64}$/, 'not 64 lower-case hex digits').optional(),
  // §3.4 `auth`: no value when the server expects no user/pass.
  auth: z.union([z.enum(['req', 'bad', 'ok']), z.literal(''), z.null()]).optional(),
  order: z.array(z.string().max(32)).max(MAX_ORDER),
  // Checked when chosen, so a kind maped does not use cannot spoil the reply.
  map_e: z.unknown().optional(),
});

export type Reply = z.infer<typeof replySchema>;

export interface ProvisionedMapE {
  readonly kind: 'map-e';
  readonly domain: MapEDomain;
  /** §3.4 map_e/version: "0 or absent: draft-ietf-softwire-map-03, 1: RFC7597". */
  readonly interfaceId: InterfaceIdFormat;
  readonly mesh: boolean;
}

export type ProvisionedSoftwire = ProvisionedMapE;

export interface KindChoice {
  readonly softwire: ProvisionedSoftwire;
  /** Why this kind: its place in `order` and what was passed over. */
  readonly why: string;
}

/** The `order` names of §3.4 that maped can run (the `capability` it sends says the same). */
export const SUPPORTED_ORDER_KINDS: readonly string[] = ['map_e'];

/** Parses and validates a reply body; the first problem, with its path, is the error. */
export function parseReply(body: string): Result<Reply> {
  let value: unknown;
  try {
    value = JSON.parse(body);
  } catch (e) {
    return err(`reply is not JSON: ${(e as Error).message}`);
  }
  return validateReply(value);
}

export function validateReply(value: unknown): Result<Reply> {
  const parsed = replySchema.safeParse(value);
  if (!parsed.success) return err(`reply: ${describeIssue(parsed.error.issues[0])}`);
  return ok(parsed.data);
}

function describeIssue(issue: z.core.$ZodIssue | undefined): string {
  if (issue === undefined) return 'invalid';
  const where = issue.path.length === 0 ? 'top level' : issue.path.join('.');
  return `${where}: ${issue.message}`;
}

function mapEFrom(value: unknown): Result<ProvisionedMapE> {
  const parsed = mapE.safeParse(value);
  if (!parsed.success) return err(`map_e: ${describeIssue(parsed.error.issues[0])}`);
  const m = parsed.data;
  const mesh = m.mesh === 1 || m.mesh === true;
  const rules: S46Rule[] = m.rules.map((rule) => ({
    // In mesh mode every rule is also a Forwarding Mapping Rule (RFC 7597 §5).
    fmr: mesh,
    eaLen: rule.ea_length,
    ipv4Prefix: rule.ipv4,
    ipv6Prefix: rule.ipv6,
    // PSID length 0: the PSID comes from the EA bits (RFC 7598 §4.5); only the offset is given.
    portParams: { psidOffset: rule.psid_offset, psidLen: 0, psid: 0 },
  }));
  const version = m.version === 1 || m.version === true ? 1 : 0;
  return ok({
    kind: 'map-e',
    domain: { rules, br: [m.br] },
    interfaceId: version === 1 ? 'rfc7597' : 'draft03',
    mesh,
  });
}

/**
 * §3.4 `order`: "the CPE tries the kinds in the order given". An empty order
 * is the server saying it has no service for this CE (§3.3).
 */
export function chooseKind(reply: Reply): Result<KindChoice> {
  if (reply.order.length === 0) return err('order is empty: the server offers this CE no service');
  const passed: string[] = [];
  for (const [index, kind] of reply.order.entries()) {
    if (!SUPPORTED_ORDER_KINDS.includes(kind)) {
      passed.push(`${kind} (not supported)`);
      continue;
    }
    if (reply.map_e === undefined) {
      passed.push(`${kind} (no ${kind} object)`);
      continue;
    }
    const softwire = mapEFrom(reply.map_e);
    if (!softwire.ok) {
      passed.push(`${kind} (${softwire.error})`);
      continue;
    }
    const why =
      `${kind} is entry ${index + 1} of order [${reply.order.join(', ')}]` +
      (passed.length === 0 ? '' : `; passed over: ${passed.join(', ')}`);
    return ok({ softwire: softwire.value, why });
  }
  return err(`no usable kind in order [${reply.order.join(', ')}]: ${passed.join(', ')}`);
}
