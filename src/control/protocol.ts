/**
 * The control-socket protocol between maped and mapedctl: newline-delimited
 * JSON, one request and one response per line, each carrying the protocol
 * version. The status object is the contract of docs/architecture.md §3.4 and
 * mapedctl(8): absent facts are null, never missing keys.
 */
import { z } from 'zod';
import { anchorNameProblem, gifNameProblem, interfaceNameProblem, mtuProblem } from '../openbsd/names.js';

/** Names in an answer obey the rules maped.conf does (src/openbsd/names.ts): mapedctl prints them as they come. */
const named = (problem: (value: string) => string | null) => z.string().refine((value) => problem(value) === null, { error: (iss) => problem(String(iss.input)) ?? 'invalid' });
import { SOFTWIRE_KINDS, SOFTWIRE_ORIGINS } from '../softwire/index.js';

export const PROTOCOL_VERSION = 1;
/** A request is a few dozen bytes; anything this long is refused unread. */
export const MAX_REQUEST_BYTES = 4096;
/** A status is a few kilobytes; an answer line (its newline counted) this long is not maped's. */
export const MAX_ANSWER_BYTES = 1024 * 1024;
export const DEFAULT_SOCKET_PATH = '/var/run/maped.sock';

export const COMMANDS = [
  'status',
  'show rules',
  'show ports',
  'show usage',
  'show provisioning',
  'provision refresh',
  'provision forget',
  'metrics',
  'reload',
  'log verbose',
  'log brief',
] as const;
export type ControlCommand = (typeof COMMANDS)[number];

export const RequestSchema = z.object({
  version: z.literal(PROTOCOL_VERSION),
  command: z.enum(COMMANDS),
});
export type ControlRequest = z.infer<typeof RequestSchema>;

const portRange = z.tuple([z.number().int(), z.number().int()]);

export const DAEMON_STATES = ['starting', 'waiting', 'applying', 'active', 'degraded', 'withdrawn', 'error'] as const;
export type DaemonState = (typeof DAEMON_STATES)[number];

export const RuleViewSchema = z.object({
  ipv6Prefix: z.string(),
  ipv4Prefix: z.string(),
  eaLen: z.number().int(),
  psidOffset: z.number().int(),
  psidLen: z.number().int().nullable(),
  psid: z.number().int().nullable(),
  fmr: z.boolean(),
  br: z.string().nullable(),
  origin: z.enum(['dhcpv6', 'provisioning', 'static']),
});
export type RuleView = z.infer<typeof RuleViewSchema>;

/** A `forward` of maped.conf and whether it is in force (mapedctl(8) status, show ports). */
export const ForwardViewSchema = z.object({
  proto: z.enum(['tcp', 'udp', 'tcp-udp']),
  ports: portRange,
  to: z.string(),
  toPort: z.number().int().nullable(),
  active: z.boolean(),
  reason: z.string().nullable(),
});
export type ForwardView = z.infer<typeof ForwardViewSchema>;

export const StatusSchema = z.object({
  state: z.enum(DAEMON_STATES),
  reason: z.string().nullable(),
  softwire: z.enum(SOFTWIRE_KINDS).nullable(),
  origin: z.enum(SOFTWIRE_ORIGINS).nullable(),
  lease: z
    .object({
      source: z.enum(['file', 'autoconf']),
      interface: named(interfaceNameProblem),
      endUserPrefix: z.string(),
      dhcpState: z.string().nullable(),
      expiresAt: z.string().nullable(),
    })
    .nullable(),
  rule: z
    .object({
      ipv6Prefix: z.string(),
      ipv4Prefix: z.string(),
      eaLen: z.number().int(),
      psidOffset: z.number().int(),
      origin: z.enum(SOFTWIRE_ORIGINS),
      /** Why this source and this rule (MAP-E rules: DHCPv6, then provisioning, then static). */
      why: z.string(),
    })
    .nullable(),
  /** The softwire's address and tunnel; the PSID fields are null for kinds without a port set. */
  map: z
    .object({
      ipv4: z.string(),
      ipv4PrefixLen: z.number().int(),
      psidOffset: z.number().int().nullable(),
      psidLen: z.number().int().nullable(),
      psid: z.number().int().nullable(),
      ceIPv6: z.string(),
      br: z.string(),
      portSets: z.array(portRange),
      portCount: z.number().int().nullable(),
    })
    .nullable(),
  tunnel: z
    .object({ interface: named(gifNameProblem), mtu: z.number().refine((mtu) => mtuProblem(mtu) === null).nullable() })
    .nullable(),
  pf: z.object({ anchor: named(anchorNameProblem), portset: z.enum(['kernel', 'stock', 'unrestricted']).nullable() }),
  lastApply: z
    .object({ at: z.string(), ok: z.boolean(), commands: z.number().int(), error: z.string().nullable() })
    .nullable(),
  nextRetryAt: z.string().nullable(),
  warnings: z.array(z.string()),
  forwards: z.array(ForwardViewSchema),
  pid: z.number().int(),
  version: z.string(),
});
export type Status = z.infer<typeof StatusSchema>;

export const ResponseSchema = z.discriminatedUnion('ok', [
  z.object({ version: z.literal(PROTOCOL_VERSION), ok: z.literal(true), result: z.unknown() }),
  z.object({ version: z.literal(PROTOCOL_VERSION), ok: z.literal(false), error: z.string() }),
]);
export type ControlResponse = z.infer<typeof ResponseSchema>;

export const RulesResultSchema = z.object({ rules: z.array(RuleViewSchema) });
export const PortsResultSchema = z.object({
  psidOffset: z.number().int().nullable(),
  psidLen: z.number().int().nullable(),
  psid: z.number().int().nullable(),
  portSets: z.array(portRange),
  forwards: z.array(ForwardViewSchema),
});
/** `show provisioning`: the HB46PP client's view (mapedctl(8)); null when maped.conf has no provision block. */
export const ProvisioningStatusSchema = z.object({
  state: z.enum(['starting', 'fetching', 'active', 'cached', 'withdrawn', 'failing']),
  url: z.string().nullable(),
  found: z.enum(['config', 'dns']).nullable(),
  t: z.enum(['a', 'b']).nullable(),
  lastFetch: z
    .object({
      at: z.string(),
      httpStatus: z.number().int().nullable(),
      outcome: z.enum(['no-record', 'dns-failure', 'no-answer', 'bad-data', 'valid']),
      error: z.string().nullable(),
    })
    .nullable(),
  enablerName: z.string().nullable(),
  serviceName: z.string().nullable(),
  ispName: z.string().nullable(),
  ttl: z.number().int().nullable(),
  token: z.boolean(),
  auth: z.string().nullable(),
  credentials: z.string(),
  order: z.array(z.string()).nullable(),
  kind: z.enum(SOFTWIRE_KINDS).nullable(),
  why: z.string().nullable(),
  interfaceId: z.enum(['rfc7597', 'draft03']).nullable(),
  data: z.enum(['server', 'cache']).nullable(),
  savedAt: z.string().nullable(),
  nextRefreshAt: z.string().nullable(),
});
export const ProvisioningResultSchema = z.object({ provisioning: ProvisioningStatusSchema.nullable() });

export const MessageResultSchema = z.object({ message: z.string() });
/** `show usage` (mapedctl(8)): ports of the set held by pf states, sampled when asked. */
export const UsageResultSchema = z.object({
  at: z.string(),
  ipv4: z.string(),
  total: z.number().int(),
  inUse: z.number().int(),
  peak: z.number().int(),
  ranges: z.array(z.object({ first: z.number().int(), last: z.number().int(), inUse: z.number().int() })),
  top: z.array(z.object({ host: z.string(), ports: z.number().int() })),
});
export type UsageResult = z.infer<typeof UsageResultSchema>;
/** `metrics`: the Prometheus text exposition, as in `<state-dir>/maped.prom`. */
export const MetricsResultSchema = z.object({ text: z.string() });
