/**
 * The provisioning server's reply (HB46PP, v6mig-prov 1.1 §3.4): JSON (RFC
 * 8259) validated with zod before any of it is used. Unknown keys are
 * dropped, as §3.4 allows ("the CPE may ignore unknown keys of a JSON
 * object"); the bounds are the spec's: names ≤ 256 bytes counting their two
 * quotes, `ttl` ≤ 604800, `token` 64 lower-case hex digits, ≤ 256 MAP-E
 * rules ("the CPE MUST accept 256 rules").
 *
 * `order` lists the softwire kinds by preference; the first one maped
 * supports whose parameters are present and valid is chosen. Each kind's
 * object is checked only when its turn comes, so a kind maped does not run
 * (or one it passes over) cannot spoil the reply.
 */
import { z } from 'zod';
import type { MapEDomain, S46Rule } from '../dhcpv6/index.js';
import {
  MAX_EA_LEN,
  err,
  ipv4Mask,
  ok,
  parseIpv4,
  parseIpv4Prefix,
  parseIpv6Prefix,
  type InterfaceIdFormat,
  type Ipv4Prefix,
  type Ipv6Prefix,
  type Result,
} from '../map/index.js';
import { checkPortParams, notIpv4Unicast, parseAftr, parseUnicastIpv6 } from '../softwire/index.js';

/** §3.4 `ttl`: "MUST be 604800 (7 days) or less". */
export const MAX_TTL_SECONDS = 604_800;
/** §3.4 map_e/rules: the CPE "MUST accept 256 rules". */
export const MAX_MAP_E_RULES = 256;
/** The kinds §3.4 names for `order`; a longer list is not a preference list but noise. */
const MAX_ORDER = 16;
/** §3.4 `ipip` is a list; a CE runs one tunnel, and a list longer than this is not a service offer. */
export const MAX_IPIP_TUNNELS = 16;

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
/** `version`, `mesh`: 0 or 1, some servers write booleans (§3.4's example has `"mesh": true`). */
const flag = z.union([z.literal(0), z.literal(1), z.boolean()]);

const mapERule = z.object({
  ipv6: ipv6Prefix,
  ipv4: ipv4Prefix,
  ea_length: z.number().int().min(0).max(MAX_EA_LEN),
  // RFC 7598 §4.5: the offset is 0–15.
  psid_offset: z.number().int().min(0).max(15),
});

/** A tunnel's far or near end: a global unicast address (src/softwire/endpoint.ts). */
const unicast = parsed(64, (text) => parseUnicastIpv6('not a tunnel endpoint', text));

/**
 * The CE's own IPv4 address: one a host may use (src/softwire/endpoint.ts),
 * as maped.conf's `ipv4` must be. For a prefix the address part is checked:
 * a CE prefix is /8 or longer (src/softwire/ipip.ts), so it lies in one /8.
 */
function ceIpv4(text: string): string | null {
  const address = parseIpv4(text.includes('/') ? text.slice(0, text.indexOf('/')) : text);
  const reason = address.ok ? notIpv4Unicast(address.value) : null;
  return reason === null ? null : `${text} is ${reason}`;
}

const mapE = z.object({
  version: flag.optional(),
  mesh: flag.optional(),
  // RFC 7597 §5.4: the BR is the tunnel's remote end, a unicast (or anycast) address.
  br: unicast,
  rules: z.array(mapERule).min(1).max(MAX_MAP_E_RULES),
});
/** §3.4 dslite/aftr, lw4o6/lwaftr: "a DNS name or an IPv6 address". */
const aftr = parsed(253, (text) => parseAftr('not an AFTR', text));

const dslite = z.object({ aftr });

/**
 * §3.4 lw4o6, after RFC 7598 §5.3–5.4 (S46_V4V6BIND, S46_PORTPARAMS): the
 * address, the port set and the binding prefix are given. Without
 * psid_length the address is not shared (RFC 7598 §4.5: PSID length 0).
 */
const lw4o6 = z
  .object({
    lwaftr: aftr,
    ipv6: ipv6Prefix,
    ipv4: parsed(15, (text) => {
      const address = parseIpv4(text);
      const bad = address.ok ? ceIpv4(text) : null;
      return bad === null ? address : err(bad);
    }),
    psid: z.number().int().min(0).max(65535).optional(),
    psid_length: z.number().int().min(0).max(16).optional(),
    // RFC 7598 §4.5: the offset is 0–15; without one, RFC 7597 §5.1's default of 6.
    psid_offset: z.number().int().min(0).max(15).optional(),
  })
  .superRefine((value, ctx) => {
    if ((value.psid_length ?? 0) > 0 && value.psid === undefined) ctx.addIssue({ code: 'custom', path: ['psid'], message: 'missing with psid_length above 0' });
    const bad = checkPortParams(value.psid_offset ?? 6, value.psid_length ?? 0, value.psid ?? 0);
    if (bad !== null) ctx.addIssue({ code: 'custom', path: ['psid'], message: bad });
  });

/**
 * §3.4 ipip/ipv4: "the fixed IPv4 address and its prefix length". A host
 * part that is not zero names the CE's address; a zero one (the example's
 * 203.0.113.0/29) leaves it to the CE, which takes the first host, as the
 * static ipip block does (src/softwire/ipip.ts).
 */
function parseFixedIpv4(text: string): Result<{ prefix: Ipv4Prefix; host: number | null }> {
  const slash = text.indexOf('/');
  const prefix = parseIpv4Prefix(slash < 0 ? `${text}/32` : text);
  if (!prefix.ok) return prefix;
  const address = parseIpv4(slash < 0 ? text : text.slice(0, slash));
  if (!address.ok) return address;
  const bad = ceIpv4(text);
  if (bad !== null) return err(bad);
  const host = (address.value & ~ipv4Mask(prefix.value.length)) >>> 0;
  return ok({ prefix: prefix.value, host: host === 0 ? null : address.value >>> 0 });
}

const ipipTunnel = z.object({ ipv6_local: unicast, ipv6_remote: unicast, ipv4: parsed(18, parseFixedIpv4) });
const ipip = z.array(ipipTunnel).min(1).max(MAX_IPIP_TUNNELS);

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
  lw4o6: z.unknown().optional(),
  ipip: z.unknown().optional(),
  dslite: z.unknown().optional(),
});

export type Reply = z.infer<typeof replySchema>;

export interface ProvisionedMapE {
  readonly kind: 'map-e';
  readonly domain: MapEDomain;
  /** §3.4 map_e/version: "0 or absent: draft-ietf-softwire-map-03, 1: RFC7597". */
  readonly interfaceId: InterfaceIdFormat;
  readonly mesh: boolean;
}

/** §3.4 lw4o6: the lwB4's binding, nothing derived (RFC 7596 §5.1). */
export interface ProvisionedLw4o6 {
  readonly kind: 'lw4o6';
  readonly ipv4: number;
  readonly psidOffset: number;
  /** 0: the address is not shared. */
  readonly psidLen: number;
  readonly psid: number;
  /** `ipv6`, the operator-assigned prefix the tunnel source is built from. */
  readonly bindPrefix: Ipv6Prefix;
  /** An address, or a name maped resolves (AAAA). */
  readonly aftr: bigint | string;
}

export interface ProvisionedIpipTunnel {
  readonly local: bigint;
  readonly remote: bigint;
  readonly ipv4: Ipv4Prefix;
  /** The CE's address when the server named one inside the prefix; null: the first host. */
  readonly host: number | null;
}

/** §3.4 ipip: the tunnels offered; the one whose local end lies in the CE's prefix is used. */
export interface ProvisionedIpip {
  readonly kind: 'ipip';
  readonly tunnels: readonly ProvisionedIpipTunnel[];
}

/** §3.4 dslite: the AFTR alone (RFC 6333 B4). */
export interface ProvisionedDslite {
  readonly kind: 'dslite';
  readonly aftr: bigint | string;
}

export type ProvisionedSoftwire = ProvisionedMapE | ProvisionedLw4o6 | ProvisionedIpip | ProvisionedDslite;

export interface KindChoice {
  readonly softwire: ProvisionedSoftwire;
  /** Why this kind: its place in `order` and what was passed over. */
  readonly why: string;
}


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

/** One kind's object of the reply, checked with its schema; the error names the path inside it. */
function checked<T>(key: string, schema: z.ZodType<T>, value: unknown): Result<T> {
  const parsed = schema.safeParse(value);
  return parsed.success ? ok(parsed.data) : err(`${key}: ${describeIssue(parsed.error.issues[0])}`);
}

function mapEFrom(value: unknown): Result<ProvisionedMapE> {
  const parsed = checked('map_e', mapE, value);
  if (!parsed.ok) return parsed;
  const m = parsed.value;
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

function lw4o6From(value: unknown): Result<ProvisionedLw4o6> {
  const parsed = checked('lw4o6', lw4o6, value);
  if (!parsed.ok) return parsed;
  const l = parsed.value;
  const psidLen = l.psid_length ?? 0;
  return ok({
    kind: 'lw4o6',
    ipv4: l.ipv4 >>> 0,
    psidOffset: l.psid_offset ?? 6,
    psidLen,
    psid: psidLen === 0 ? 0 : l.psid!,
    bindPrefix: l.ipv6,
    aftr: l.lwaftr,
  });
}

function ipipFrom(value: unknown): Result<ProvisionedIpip> {
  const parsed = checked('ipip', ipip, value);
  if (!parsed.ok) return parsed;
  const tunnels = parsed.value.map((t) => ({ local: t.ipv6_local, remote: t.ipv6_remote, ipv4: t.ipv4.prefix, host: t.ipv4.host }));
  return ok({ kind: 'ipip', tunnels });
}

function dsliteFrom(value: unknown): Result<ProvisionedDslite> {
  const parsed = checked('dslite', dslite, value);
  return parsed.ok ? ok({ kind: 'dslite', aftr: parsed.value.aftr }) : parsed;
}

/**
 * The `order` names of §3.4 that maped can run, each with the reply key of
 * its parameters and their reader (the `capability` maped sends says the same,
 * src/provision/request.ts).
 */
const READERS: Readonly<Record<string, (reply: Reply) => Result<ProvisionedSoftwire> | null>> = {
  map_e: (reply) => (reply.map_e === undefined ? null : mapEFrom(reply.map_e)),
  lw4o6: (reply) => (reply.lw4o6 === undefined ? null : lw4o6From(reply.lw4o6)),
  ipip: (reply) => (reply.ipip === undefined ? null : ipipFrom(reply.ipip)),
  dslite: (reply) => (reply.dslite === undefined ? null : dsliteFrom(reply.dslite)),
};

export const SUPPORTED_ORDER_KINDS: readonly string[] = Object.keys(READERS);

/**
 * §3.4 `order`: "the CPE tries the kinds in the order given". An empty order
 * is the server saying it has no service for this CE (§3.3).
 */
export function chooseKind(reply: Reply): Result<KindChoice> {
  if (reply.order.length === 0) return err('order is empty: the server offers this CE no service');
  const passed: string[] = [];
  for (const [index, kind] of reply.order.entries()) {
    const read = Object.hasOwn(READERS, kind) ? READERS[kind] : undefined;
    if (read === undefined) {
      passed.push(`${kind} (not supported)`);
      continue;
    }
    const softwire = read(reply);
    if (softwire === null) {
      passed.push(`${kind} (no ${kind} object)`);
      continue;
    }
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
