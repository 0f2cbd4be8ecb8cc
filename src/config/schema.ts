/**
 * zod schemas from the parser's raw values (words, numbers) to MapedConfig.
 * Every check whose answer does not depend on the lease lives here; each
 * issue's message is the reason part of the one-line error, and its path is
 * mapped back to the token it came from by the parser.
 */
import { z } from 'zod';
import {
  DEFAULT_PSID_OFFSET,
  MAX_EA_LEN,
  formatIpv4Prefix,
  formatIpv6Prefix,
  ipv4Mask,
  ipv6Mask,
  parseIpv4,
  parseIpv4Prefix,
  parseIpv6,
  parseIpv6Prefix,
  type Ipv4Prefix,
  type Ipv6Prefix,
} from '../map/index.js';
import { parseServerUrl } from '../provision/discovery-record.js';
import { VENDORID_PATTERN, WORD_PATTERN } from '../provision/request.js';
import { SOFTWIRE_KINDS, checkPortParams, notIpv4Unicast, parseAftr, parseUnicastIpv6 } from '../softwire/index.js';
import { forwardOverlap, forwardSchema, MAX_FORWARDS, type RawForward } from './forward.js';
import {
  anchorNameProblem,
  gifNameProblem,
  GIF_MTU_MAX,
  GIF_MTU_MIN,
  interfaceNameProblem,
  PORT_BITS,
  PSID_OFFSET_MAX,
  RTP_LOCAL,
  RTP_MAX,
} from '../openbsd/names.js';
import type {
  InterfaceIdMode,
  MapedConfig,
  OnExit,
  PortsetMode,
  PrefixSource,
  ProvisionConfig,
  SoftwireChoice,
  StaticDslite,
  StaticIpip,
  StaticLw4o6,
  StaticRule,
  ToolName,
} from './types.js';

/** Values as the parser read them; prefixes and addresses are still text. */
export interface RawRule {
  ipv6Prefix?: string;
  ipv4Prefix?: string;
  eaLen?: number;
  psidOffset?: number;
  psidLen?: number;
  psid?: number;
  br?: string;
}

export interface RawLw4o6 {
  ipv4?: string;
  psidOffset?: number;
  psidLen?: number;
  psid?: number;
  bindPrefix?: string;
  aftr?: string;
  dns?: string;
}

export interface RawIpip {
  local?: string;
  remote?: string;
  ipv4?: string;
}

export interface RawDslite {
  aftr?: string;
  dns?: string;
}

export interface RawProvision {
  url?: string;
  dns?: string;
  vendorid?: string;
  product?: string;
  user?: string;
  password?: string;
  serverName?: string;
  caFile?: string;
}

export interface RawConfig {
  wan: string;
  leaseFile: string;
  prefix: PrefixSource;
  tunnel: { interface: string; mtu: number | 'auto'; peer: string | null; routePriority: number };
  natFrom: string[];
  pf: { anchor: string; portset: PortsetMode };
  interfaceId: InterfaceIdMode;
  softwire: SoftwireChoice;
  rules: RawRule[];
  lw4o6: RawLw4o6 | null;
  ipip: RawIpip | null;
  dslite: RawDslite | null;
  provision: RawProvision | null;
  onExit: OnExit;
  forwards: RawForward[];
  metrics: boolean;
  tools: Record<ToolName, string>;
  stateDir: string;
  user: string;
}

export const MTU_MIN = GIF_MTU_MIN;
export const MTU_MAX = GIF_MTU_MAX;

function integer(keyword: string, min: number, max: number) {
  const outOfRange = (iss: { input?: unknown }): string => `${keyword} ${String(iss.input)} out of range (${min}-${max})`;
  return z.number().int().min(min, { error: outOfRange }).max(max, { error: outOfRange });
}

/** A string the names module (src/openbsd/names.ts) accepts, or `<keyword>: <why not>`. */
const checkedName = (keyword: string, problem: (name: string) => string | null) =>
  z.string().superRefine((name, ctx) => {
    const why = problem(name);
    if (why !== null) ctx.addIssue({ code: 'custom', message: `${keyword}: ${why}` });
  });

export const interfaceNameSchema = (keyword: string) => checkedName(keyword, interfaceNameProblem);

const tunnelInterfaceSchema = checkedName('tunnel', gifNameProblem);

export const mtuSchema = z.union([z.literal('auto'), integer('mtu', MTU_MIN, MTU_MAX)]);

/**
 * The gif point-to-point peer: it only names the default route's gateway (the
 * tunnel has no IPv4 next hop), so 0.0.0.0/8 is fine, but not the unspecified
 * address, loopback, or multicast and above.
 */
const peerSchema = z.string().transform((text, ctx): number => {
  const address = parseIpv4(text);
  if (!address.ok) {
    ctx.addIssue({ code: 'custom', message: `peer: invalid IPv4 address "${text}": ${address.error}` });
    return z.NEVER;
  }
  const first = address.value >>> 24;
  if (address.value === 0 || first === 127 || first >= 224) {
    ctx.addIssue({ code: 'custom', message: `peer: ${text} is not a unicast address` });
    return z.NEVER;
  }
  return address.value >>> 0;
});

/** route(8) -priority as route_output accepts it (src/openbsd/names.ts). */
const routePrioritySchema = integer('route-priority', RTP_LOCAL + 1, RTP_MAX);

const absolutePath = (keyword: string) =>
  z
    .string()
    .min(1, { error: `${keyword}: empty path` })
    .refine((path) => path.startsWith('/'), { error: (iss) => `${keyword}: path "${String(iss.input)}" is not absolute` });

const anchorSchema = checkedName('pf anchor', anchorNameProblem);

/**
 * Prefixes with host bits set are refused, not masked: in a MAP rule a stray
 * bit most likely means a wrong length, and masking it would derive
 * addresses from a rule the admin did not write.
 */
export const ipv4PrefixSchema = (keyword: string) =>
  z.string().transform((text, ctx): Ipv4Prefix => {
    const prefix = parseIpv4Prefix(text);
    if (!prefix.ok) {
      ctx.addIssue({ code: 'custom', message: `${keyword}: invalid IPv4 prefix "${text}": ${prefix.error}` });
      return z.NEVER;
    }
    const address = parseIpv4(text.slice(0, text.indexOf('/')));
    if (address.ok && (address.value & ~ipv4Mask(prefix.value.length)) !== 0) {
      ctx.addIssue({ code: 'custom', message: `${keyword}: ${text} has host bits set (did you mean ${formatIpv4Prefix(prefix.value)}?)` });
      return z.NEVER;
    }
    return prefix.value;
  });

export const ipv6PrefixSchema = (keyword: string) =>
  z.string().transform((text, ctx): Ipv6Prefix => {
    const prefix = parseIpv6Prefix(text);
    if (!prefix.ok) {
      ctx.addIssue({ code: 'custom', message: `${keyword}: invalid IPv6 prefix "${text}": ${prefix.error}` });
      return z.NEVER;
    }
    const address = parseIpv6(text.slice(0, text.indexOf('/')));
    if (address.ok && (address.value & ~ipv6Mask(prefix.value.length) & ((1n << 128n) - 1n)) !== 0n) {
      ctx.addIssue({ code: 'custom', message: `${keyword}: ${text} has host bits set (did you mean ${formatIpv6Prefix(prefix.value)}?)` });
      return z.NEVER;
    }
    return prefix.value;
  });

const unicastIpv6Schema = (keyword: string) =>
  z.string().transform((text, ctx): bigint => {
    const address = parseUnicastIpv6(keyword, text);
    if (address.ok) return address.value;
    ctx.addIssue({ code: 'custom', message: address.error });
    return z.NEVER;
  });

const brSchema = unicastIpv6Schema('br');

/** An (lw)AFTR: an IPv6 address, or a host name maped resolves itself. */
const aftrSchema = (keyword: string) =>
  z.string().transform((text, ctx): bigint | string => {
    const aftr = parseAftr(keyword, text);
    if (aftr.ok) return aftr.value;
    ctx.addIssue({ code: 'custom', message: aftr.error });
    return z.NEVER;
  });

/**
 * A DNS server as node's dns.setServers takes it: `ADDRESS`, `[IPV6]`,
 * `[IPV6]:PORT` or `IPV4:PORT`; the one check of lw4o6, dslite and provision `dns`.
 */
function dnsServerProblem(keyword: string, text: string): string | null {
  const bracketed = /^\[([^\]]+)\](?::([0-9]{1,5}))?$/.exec(text);
  const v4port = /^([0-9.]+):([0-9]{1,5})$/.exec(text);
  const [address, port] = bracketed ? [bracketed[1]!, bracketed[2]] : v4port ? [v4port[1]!, v4port[2]] : [text, undefined];
  const known = parseIpv6(address).ok || (parseIpv4(address).ok && !bracketed);
  if (!known) return `${keyword}: "${text}" is not ADDRESS, [ADDRESS]:PORT or IPV4:PORT`;
  if (port !== undefined && (Number(port) < 1 || Number(port) > 65535)) return `${keyword}: port ${port} out of range (1-65535)`;
  return null;
}

const dnsServerSchema = (keyword: string) =>
  z.string().superRefine((text, ctx) => {
    const problem = dnsServerProblem(keyword, text);
    if (problem !== null) ctx.addIssue({ code: 'custom', message: problem });
  });

const ipv4AddressSchema = (keyword: string) =>
  z.string().transform((text, ctx): number => {
    const address = parseIpv4(text);
    if (!address.ok) {
      ctx.addIssue({ code: 'custom', message: `${keyword}: invalid IPv4 address "${text}": ${address.error}` });
      return z.NEVER;
    }
    const reason = notIpv4Unicast(address.value);
    if (reason !== null) {
      ctx.addIssue({ code: 'custom', message: `${keyword}: ${text} is ${reason}` });
      return z.NEVER;
    }
    return address.value >>> 0;
  });

/** `ipv4 ADDRESS` (a /32) or `ipv4 PREFIX`. */
const ipv4AddressOrPrefixSchema = (keyword: string) =>
  z.string().transform((text, ctx): Ipv4Prefix => {
    const inner = text.includes('/') ? ipv4PrefixSchema(keyword).safeParse(text) : ipv4AddressSchema(keyword).safeParse(text);
    if (!inner.success) {
      ctx.addIssue({ code: 'custom', message: inner.error.issues[0]?.message ?? `${keyword}: invalid "${text}"` });
      return z.NEVER;
    }
    return typeof inner.data === 'number' ? { address: inner.data, length: 32 } : inner.data;
  });

export const staticRuleSchema = z
  .object({
    // Optional here only so that a missing one is reported with the rule's position, below.
    ipv6Prefix: ipv6PrefixSchema('ipv6-prefix').optional(),
    ipv4Prefix: ipv4PrefixSchema('ipv4-prefix').optional(),
    eaLen: integer('ea-len', 0, MAX_EA_LEN).optional(),
    // RFC 7598 §4.5 limits the offset to 15.
    psidOffset: integer('psid-offset', 0, PSID_OFFSET_MAX).default(DEFAULT_PSID_OFFSET),
    psidLen: integer('psid-len', 0, 16).optional(),
    psid: z.number().int().optional(),
    br: brSchema.optional(),
  })
  .superRefine((rule, ctx) => {
    const { ipv6Prefix, ipv4Prefix, eaLen, psidOffset } = rule;
    // br too: a static rule is used only when the lease has no S46 option, so nothing else can name its BR.
    for (const [field, keyword] of [['ipv6Prefix', 'ipv6-prefix'], ['ipv4Prefix', 'ipv4-prefix'], ['eaLen', 'ea-len'], ['br', 'br']] as const) {
      if (rule[field] === undefined) ctx.addIssue({ code: 'custom', path: [field], message: `rule without ${keyword}` });
    }
    const psidLen = rule.psidLen ?? null;
    const psid = rule.psid ?? null;
    if (psid !== null && psidLen === null) {
      ctx.addIssue({ code: 'custom', path: ['psid'], message: 'psid requires psid-len' });
      return;
    }
    if (psid !== null && psidLen !== null && psid >= 2 ** psidLen) {
      ctx.addIssue({ code: 'custom', path: ['psid'], message: `psid ${psid} does not fit psid-len ${psidLen} (0-${2 ** psidLen - 1})` });
      return;
    }
    if (ipv6Prefix === undefined || ipv4Prefix === undefined || eaLen === undefined) return;
    // zod still runs this refinement after a field's own range issue; one reason per value is enough.
    if (eaLen > MAX_EA_LEN || psidOffset > PSID_OFFSET_MAX || (psidLen !== null && psidLen > PORT_BITS)) return;
    // RFC 7597 §5.2: the EA bits follow the rule IPv6 prefix inside 128 bits.
    if (ipv6Prefix.length + eaLen > 128) {
      ctx.addIssue({ code: 'custom', path: ['eaLen'], message: `ipv6-prefix length ${ipv6Prefix.length} + ea-len ${eaLen} exceed 128 bits` });
      return;
    }
    // RFC 7597 §5.2: with r + o > 32 the address is shared and the remaining q EA bits are the PSID.
    const r = ipv4Prefix.length;
    const shared = r + eaLen >= 32;
    const q = Math.max(0, r + eaLen - 32);
    if (shared && psidLen !== null && psidLen !== 0 && psid === null && psidLen !== q) {
      ctx.addIssue({
        code: 'custom',
        path: ['psidLen'],
        message: `psid-len ${psidLen} without psid must equal the ${q} PSID bits of ipv4-prefix /${r} and ea-len ${eaLen}`,
      });
      return;
    }
    // RFC 7598 §4.5: a PSID length of 0 means "use the EA bits"; port parameters
    // do not apply when the rule delegates an IPv4 prefix (r + o < 32).
    const explicit = shared && psidLen !== null && psidLen !== 0;
    const k = explicit ? psidLen : q;
    if (psidOffset + k > 16) {
      const source = explicit ? `psid-len ${k}` : `psid-len ${k} (from ipv4-prefix /${r} and ea-len ${eaLen})`;
      ctx.addIssue({
        code: 'custom',
        path: [explicit ? 'psidLen' : 'eaLen'],
        message: `psid-offset ${psidOffset} + ${source} exceed 16 bits`,
      });
    }
  })
  .transform(
    (rule): StaticRule => ({
      // The refinements above guarantee these are present.
      ipv6Prefix: rule.ipv6Prefix!,
      ipv4Prefix: rule.ipv4Prefix!,
      eaLen: rule.eaLen!,
      psidOffset: rule.psidOffset,
      psidLen: rule.psidLen ?? null,
      psid: rule.psid ?? null,
      br: rule.br ?? null,
    }),
  );

const lw4o6Schema = z
  .object({
    ipv4: ipv4AddressSchema('lw4o6 ipv4').optional(),
    // RFC 7597 §5.1 recommends an offset of 6 (ports 0-1023 excluded), as for MAP rules.
    psidOffset: integer('psid-offset', 0, PSID_OFFSET_MAX).default(DEFAULT_PSID_OFFSET),
    psidLen: integer('psid-len', 0, 16).optional(),
    psid: z.number().int().optional(),
    bindPrefix: ipv6PrefixSchema('bind-prefix').optional(),
    aftr: aftrSchema('lw4o6 aftr').optional(),
    dns: dnsServerSchema('lw4o6 dns').optional(),
  })
  .superRefine((block, ctx) => {
    if (block.ipv4 === undefined) ctx.addIssue({ code: 'custom', path: [], message: 'lw4o6 block without ipv4' });
    else if (block.psidLen === undefined) ctx.addIssue({ code: 'custom', path: [], message: 'lw4o6 block without psid-len (0 if the address is not shared)' });
    else if (block.aftr === undefined) ctx.addIssue({ code: 'custom', path: [], message: 'lw4o6 block without aftr' });
    if (block.psidLen === undefined || block.psidLen > 16) return;
    if (block.psid === undefined && block.psidLen > 0) {
      ctx.addIssue({ code: 'custom', path: ['psidLen'], message: `lw4o6: psid-len ${block.psidLen} without psid` });
      return;
    }
    const bad = checkPortParams(block.psidOffset, block.psidLen, block.psid ?? 0);
    // Reported at the value that overflows: the length against the offset, else the PSID against the length.
    const at = block.psid === undefined || block.psidOffset + block.psidLen > 16 ? 'psidLen' : 'psid';
    if (bad !== null) ctx.addIssue({ code: 'custom', path: [at], message: `lw4o6: ${bad}` });
  })
  .transform(
    (block): StaticLw4o6 => ({
      ipv4: block.ipv4!,
      psidOffset: block.psidOffset,
      psidLen: block.psidLen!,
      psid: block.psid ?? 0,
      bindPrefix: block.bindPrefix ?? null,
      aftr: block.aftr!,
      dns: block.dns ?? null,
    }),
  );

const ipipSchema = z
  .object({
    local: unicastIpv6Schema('ipip local').optional(),
    remote: unicastIpv6Schema('ipip remote').optional(),
    ipv4: ipv4AddressOrPrefixSchema('ipip ipv4').optional(),
  })
  .superRefine((block, ctx) => {
    for (const keyword of ['local', 'remote', 'ipv4'] as const) {
      if (block[keyword] === undefined) ctx.addIssue({ code: 'custom', path: [], message: `ipip block without ${keyword}` });
    }
    if (block.local !== undefined && block.local === block.remote) {
      ctx.addIssue({ code: 'custom', path: ['remote'], message: 'ipip: remote is the local address' });
    }
    if (block.ipv4 !== undefined && block.ipv4.length < 8) {
      ctx.addIssue({ code: 'custom', path: ['ipv4'], message: `ipip ipv4: /${block.ipv4.length} is not a fixed address (at most /8)` });
    }
  })
  .transform((block): StaticIpip => ({ local: block.local!, remote: block.remote!, ipv4: block.ipv4! }));

const dsliteSchema = z
  .object({ aftr: aftrSchema('dslite aftr').optional(), dns: dnsServerSchema('dslite dns').optional() })
  .superRefine((block, ctx) => {
    if (block.aftr === undefined) ctx.addIssue({ code: 'custom', path: [], message: 'dslite block without aftr' });
  })
  .transform((block): StaticDslite => ({ aftr: block.aftr!, dns: block.dns ?? null }));


const wordOf = (keyword: string, pattern: RegExp, what: string) =>
  z.string().regex(pattern, { error: (iss) => `provision ${keyword}: "${String(iss.input)}" ${what}` });

const provisionSchema = z
  .object({
    url: z
      .string()
      .superRefine((text, ctx) => {
        const url = parseServerUrl(text);
        if (!url.ok) ctx.addIssue({ code: 'custom', message: `provision ${url.error}` });
      })
      .optional(),
    dns: z
      .string()
      .superRefine((text, ctx) => {
        const problem = dnsServerProblem('provision dns', text);
        if (problem !== null) ctx.addIssue({ code: 'custom', message: problem });
      })
      .optional(),
    vendorid: wordOf('vendorid', VENDORID_PATTERN, 'is not an OUI of 6 hex digits, optionally "-" and up to 24 of [0-9A-Za-z_]').optional(),
    product: wordOf('product', WORD_PATTERN, 'is not 1-32 of [0-9A-Za-z_-]'),
    user: wordOf('user', WORD_PATTERN, 'is not 1-32 of [0-9A-Za-z_-]').optional(),
    password: wordOf('password', WORD_PATTERN, 'is not 1-32 of [0-9A-Za-z_-]').optional(),
    serverName: z
      .string()
      .regex(/^(\[[0-9A-Fa-f:.]+\]|[0-9A-Za-z.-]{1,253})$/, { error: (iss) => `provision server-name: "${String(iss.input)}" is not a host name` })
      .optional(),
    caFile: absolutePath('provision ca-file').optional(),
  })
  .superRefine((p, ctx) => {
    // v6mig-prov §3.3: pass is sent with user and never without it.
    if ((p.user === undefined) !== (p.password === undefined)) {
      ctx.addIssue({ code: 'custom', path: [p.user === undefined ? 'password' : 'user'], message: 'provision: user and password go together' });
    }
    if (p.serverName !== undefined && p.user === undefined) {
      ctx.addIssue({ code: 'custom', path: ['serverName'], message: 'provision server-name: only used with user and password' });
    }
  })
  .transform(
    (p): ProvisionConfig => ({
      url: p.url ?? null,
      dns: p.dns ?? null,
      vendorid: p.vendorid ?? null,
      product: p.product,
      user: p.user ?? null,
      password: p.password ?? null,
      serverName: p.serverName ?? null,
      caFile: p.caFile ?? null,
    }),
  );

export const mapedConfigSchema = z
  .object({
    wan: interfaceNameSchema('wan'),
    leaseFile: absolutePath('lease file'),
    prefix: z.enum(['lease', 'autoconf']),
    tunnel: z.object({ interface: tunnelInterfaceSchema, mtu: mtuSchema, peer: peerSchema.nullable(), routePriority: routePrioritySchema }),
    natFrom: z.array(ipv4PrefixSchema('nat from')),
    pf: z.object({ anchor: anchorSchema, portset: z.enum(['auto', 'kernel', 'stock']) }),
    interfaceId: z.enum(['rfc7597', 'draft03']),
    softwire: z.enum(['auto', ...SOFTWIRE_KINDS]),
    rules: z.array(staticRuleSchema),
    lw4o6: lw4o6Schema.nullable(),
    ipip: ipipSchema.nullable(),
    dslite: dsliteSchema.nullable(),
    provision: provisionSchema.nullable(),
    onExit: z.enum(['keep', 'teardown']),
    forwards: z.array(forwardSchema).max(MAX_FORWARDS, { error: `forward: more than ${MAX_FORWARDS} forwards` }),
    metrics: z.boolean(),
    tools: z.object({
      ifconfig: absolutePath('tool ifconfig'),
      route: absolutePath('tool route'),
      pfctl: absolutePath('tool pfctl'),
      dhcp6leasectl: absolutePath('tool dhcp6leasectl'),
      sysctl: absolutePath('tool sysctl'),
      logger: absolutePath('tool logger'),
    }),
    stateDir: absolutePath('state-dir'),
    // A login name as useradd(8) takes it (at most 31 characters, LOGIN_NAME_MAX 32 in sys/syslimits.h); never root.
    user: z
      .string()
      .regex(/^[A-Za-z_][A-Za-z0-9_.-]{0,30}$/, { error: (iss) => `user: "${String(iss.input).slice(0, 40)}" is not a user name` })
      .refine((name) => name !== 'root', { error: 'user: the unprivileged part of maped cannot run as root' }),
  })
  .superRefine((config, ctx) => {
    // Reported at "wan" (the tunnel may be the unwritten default gif0), or at
    // the tunnel line when that one comes second: the parser blames the later.
    if (config.tunnel.interface === config.wan) {
      ctx.addIssue({
        code: 'custom',
        path: ['wan'],
        message: `wan: ${config.wan} is also the tunnel interface`,
        params: { conflict: { path: ['tunnel', 'interface'], message: `tunnel: ${config.wan} is also the wan interface` } },
      });
    }
    // `auto` takes what the lease carries, else the one static kind there is: two would be a guess.
    const statics = [
      ['rule', config.rules.length > 0],
      ['lw4o6', config.lw4o6 !== null],
      ['ipip', config.ipip !== null],
      ['dslite', config.dslite !== null],
    ] as const;
    const given = statics.filter(([, present]) => present).map(([name]) => name);
    if (config.softwire === 'auto' && given.length > 1) {
      const second = given[1]!;
      ctx.addIssue({
        code: 'custom',
        path: second === 'rule' ? ['rules', 0] : [second],
        message: `softwire auto: both ${given[0]} and ${second} blocks are given; choose one with softwire ${given[0] === 'rule' ? 'map-e' : given[0]} or ${second}`,
      });
    }
    // IPIP and DS-Lite come only from their blocks here (no DHCPv6 option carries them).
    for (const kind of ['ipip', 'dslite'] as const) {
      if (config.softwire === kind && config[kind] === null) {
        ctx.addIssue({ code: 'custom', path: ['softwire'], message: `softwire ${kind}: no ${kind} block` });
      }
    }
    const seen = new Set<string>();
    config.natFrom.forEach((prefix, index) => {
      const text = formatIpv4Prefix(prefix);
      if (seen.has(text)) ctx.addIssue({ code: 'custom', path: ['natFrom', index], message: `nat from: duplicate ${text}` });
      seen.add(text);
    });
    config.forwards.forEach((forward, index) => {
      for (const earlier of config.forwards.slice(0, index)) {
        const port = forwardOverlap(earlier, forward);
        if (port !== null) {
          ctx.addIssue({ code: 'custom', path: ['forwards', index], message: `forward: port ${port} is already forwarded` });
          return;
        }
      }
    });
  }) satisfies z.ZodType<MapedConfig, RawConfig>;
