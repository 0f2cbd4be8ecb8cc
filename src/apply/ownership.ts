/**
 * The ownership record: what maped itself created on this machine, so that it
 * never removes a default route, alias, tunnel or anchor it does not own, and
 * so that a restart can converge from the live state without flapping.
 * What maped creates is written here before the command that creates it.
 * A JSON file in state-dir, replaced atomically (write a temporary file in the
 * same directory, then rename(2)); read through a zod schema because the file
 * is outside our control once written.
 */
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { replaceFileDurably } from '../atomic-file.js';
import {
  formatIpv4,
  formatIpv4Prefix,
  formatIpv6,
  parseIpv4,
  parseIpv4Prefix,
  parseIpv6,
  type Ipv4Prefix,
  type PortRange,
} from '../map/index.js';
import {
  anchorNameProblem,
  GIF_PEER,
  gifNameProblem,
  interfaceNameProblem,
  labelProblem,
  mtuProblem,
  psidProblem,
  routePriorityProblem,
  RTP_STATIC,
  type DesiredState,
} from '../openbsd/index.js';
import { SOFTWIRE_KINDS } from '../softwire/index.js';

export const OWNERSHIP_FILE = 'ownership.json';

/** The names and bounds maped.conf accepts (src/openbsd/names.ts): a record maped wrote always reads back. */
const checked = (problem: (value: string) => string | null) =>
  z.string().superRefine((value, ctx) => {
    const why = problem(value);
    if (why !== null) ctx.addIssue({ code: 'custom', message: why });
  });
const ifName = checked(interfaceNameProblem);
const gifName = checked(gifNameProblem);
const anchorName = checked(anchorNameProblem);
const labelName = checked(labelProblem);
const ipv6Text = z.string().refine((s) => parseIpv6(s).ok, 'not an IPv6 address');
const ipv4Text = z.string().refine((s) => parseIpv4(s).ok, 'not an IPv4 address');
const port = z.number().int().min(0).max(65535);

const desiredSchema = z.object({
  // Records written before softwire kinds were MAP-E's, with the placeholder peer.
  softwire: z.enum(SOFTWIRE_KINDS).default('map-e'),
  wan: ifName,
  tunnel: gifName,
  mtu: z.number().refine((mtu) => mtuProblem(mtu) === null, 'not a gif(4) mtu'),
  maxMss: z.number().int().positive(),
  ceIPv6: ipv6Text,
  br: ipv6Text,
  ipv4: ipv4Text,
  ipv4PrefixLen: z.number().int().min(0).max(32),
  ipv4Peer: ipv4Text.default(GIF_PEER),
  // Records written before route-priority existed: maped added its route without
  // -priority, which the kernel makes RTP_STATIC (sys/net/route.c 1.450 rtrequest).
  routePriority: z.number().refine((p) => routePriorityProblem(p) === null, 'not a route priority').default(RTP_STATIC),
  psidOffset: z.number().int().min(0).max(16),
  psidLen: z.number().int().min(0).max(16),
  psid: z.number().int().min(0).max(65535),
  portSets: z.array(z.tuple([port, port])),
  // Absent in records written before forwards existed: none then.
  forwards: z
    .array(z.object({ proto: z.enum(['tcp', 'udp', 'tcp-udp']), ports: z.tuple([port, port]), to: ipv4Text, toPort: port.nullable() }))
    .max(1024)
    .default([]),
  natFrom: z.array(z.string().refine((s) => parseIpv4Prefix(s).ok, 'not an IPv4 prefix')),
  anchor: anchorName,
  label: labelName,
  portset: z.enum(['kernel', 'stock', 'unrestricted', 'none']),
  warnings: z.array(z.string()),
}).refine((d) => psidProblem(d.psidOffset, d.psidLen, d.psid) === null, 'psid does not fit its offset and length');

/** The record's format; a record of another version is not read but adopted from the live state (reconcile.ts). */
export const OWNERSHIP_VERSION = 1;

const ownershipSchema = z.object({
  version: z.literal(OWNERSHIP_VERSION),
  /** maped ran `ifconfig <tunnel> create`: teardown destroys it. */
  gifCreated: z.boolean(),
  /** maped set the tunnel and address on it: teardown clears them (when it did not create it). */
  gifConfigured: z.boolean(),
  /**
   * The CE /128 addresses maped added on the WAN. Like every fact that makes
   * maped own something, written before the command that creates it
   * (recordedBefore in plan.ts), so it may name one the command never added.
   */
  aliases: z.array(ipv6Text),
  /** maped added the default route (labelled with `label`). */
  route: z.boolean(),
  /** maped loaded the anchor. */
  anchorLoaded: z.boolean(),
  /** Names the facts above refer to (they may change in maped.conf between runs). */
  wan: ifName.nullable(),
  tunnel: gifName.nullable(),
  anchor: anchorName.nullable(),
  label: labelName.nullable(),
  /** The last state applied and verified: the rollback target. */
  applied: desiredSchema.nullable(),
});

export type SerializedDesired = z.infer<typeof desiredSchema>;

export interface Ownership {
  readonly gifCreated: boolean;
  readonly gifConfigured: boolean;
  readonly aliases: readonly bigint[];
  readonly route: boolean;
  readonly anchorLoaded: boolean;
  readonly wan: string | null;
  readonly tunnel: string | null;
  readonly anchor: string | null;
  readonly label: string | null;
  readonly applied: DesiredState | null;
}

export const NOTHING_OWNED: Ownership = {
  gifCreated: false,
  gifConfigured: false,
  aliases: [],
  route: false,
  anchorLoaded: false,
  wan: null,
  tunnel: null,
  anchor: null,
  label: null,
  applied: null,
};

export function ownsAnything(o: Ownership): boolean {
  return o.gifCreated || o.gifConfigured || o.aliases.length > 0 || o.route || o.anchorLoaded;
}

export function serializeDesired(d: DesiredState): SerializedDesired {
  return {
    softwire: d.softwire,
    wan: d.wan,
    tunnel: d.tunnel,
    mtu: d.mtu,
    maxMss: d.maxMss,
    ceIPv6: formatIpv6(d.ceIPv6),
    br: formatIpv6(d.br),
    ipv4: formatIpv4(d.ipv4),
    ipv4PrefixLen: d.ipv4PrefixLen,
    ipv4Peer: formatIpv4(d.ipv4Peer),
    routePriority: d.routePriority,
    psidOffset: d.psidOffset,
    psidLen: d.psidLen,
    psid: d.psid,
    portSets: d.portSets.map(([a, b]) => [a, b] as [number, number]),
    forwards: d.forwards.map((f) => ({ proto: f.proto, ports: [f.ports[0], f.ports[1]], to: formatIpv4(f.to), toPort: f.toPort })),
    natFrom: d.natFrom.map(formatIpv4Prefix),
    anchor: d.anchor,
    label: d.label,
    portset: d.portset,
    warnings: [...d.warnings],
  };
}

const must = <T>(r: { ok: true; value: T } | { ok: false; error: string }): T => {
  // The schema refinements above already parsed these; a failure here is a bug.
  if (!r.ok) throw new Error(r.error);
  return r.value;
};

export function deserializeDesired(s: SerializedDesired): DesiredState {
  return {
    ...s,
    ceIPv6: must(parseIpv6(s.ceIPv6)),
    br: must(parseIpv6(s.br)),
    ipv4: must(parseIpv4(s.ipv4)),
    ipv4Peer: must(parseIpv4(s.ipv4Peer)),
    portSets: s.portSets.map(([a, b]) => [a, b] as PortRange),
    forwards: s.forwards.map((f) => ({ ...f, to: must(parseIpv4(f.to)) })),
    natFrom: s.natFrom.map((p) => must(parseIpv4Prefix(p)) as Ipv4Prefix),
  };
}

export function serializeOwnership(o: Ownership): string {
  const record: z.infer<typeof ownershipSchema> = {
    version: OWNERSHIP_VERSION,
    gifCreated: o.gifCreated,
    gifConfigured: o.gifConfigured,
    aliases: o.aliases.map(formatIpv6),
    route: o.route,
    anchorLoaded: o.anchorLoaded,
    wan: o.wan,
    tunnel: o.tunnel,
    anchor: o.anchor,
    label: o.label,
    applied: o.applied === null ? null : serializeDesired(o.applied),
  };
  return JSON.stringify(record, null, 2) + '\n';
}

export type OwnershipRead = {
  readonly ownership: Ownership;
  readonly problem: string | null;
  /** There is no record: a first start, or one deleted with the state directory (the caller adopts from the live state). */
  readonly missing?: boolean;
};

/*
 * The record is read at every reconcile and written before the steps that
 * create something, so it sits on the path from a lease change to the
 * applied configuration. It is a few hundred bytes in maped's own state
 * directory: read and written synchronously, each takes tens of
 * microseconds, where the promise API's open/stat/read/close round trips
 * through the thread pool took ~0.5 ms a write and ~1.5 ms a read (npm run
 * bench). Only the two fsyncs of a write are waited for in the thread pool
 * (replaceFileDurably): each takes milliseconds to tens of milliseconds.
 */

/** Where the record's text is kept: the state directory, or (the unprivileged child) the privileged parent's. */
export interface OwnershipFiles {
  /** The record's text; null when there is none. Throws on other errors. */
  read(stateDir: string): Promise<string | null>;
  /** Replaces the record durably; throws on any failure, leaving the previous one. */
  write(stateDir: string, text: string): Promise<void>;
}

export const localOwnershipFiles: OwnershipFiles = {
  async read(stateDir) {
    try {
      return readFileSync(join(stateDir, OWNERSHIP_FILE), 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw e;
    }
  },
  async write(stateDir, text) {
    const path = join(stateDir, OWNERSHIP_FILE);
    const options = { mode: 0o600 };
    try {
      await replaceFileDurably(path, text, options);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
      // The first write ever: the state directory is made on demand.
      mkdirSync(stateDir, { recursive: true, mode: 0o700 });
      await replaceFileDurably(path, text, options);
    }
  },
};

let files: OwnershipFiles = localOwnershipFiles;

/** The unprivileged child keeps the record through its parent (src/daemon/privsep-child.ts). */
export function useOwnershipFiles(next: OwnershipFiles): void {
  files = next;
}

/**
 * A missing file means nothing is on record (`missing`). One that cannot be
 * read, is cut short, or is of another version comes back as nothing owned
 * with the reason: the caller warns. Either way the caller adopts from the
 * live state what it shows to be maped's.
 */
export async function readOwnership(stateDir: string): Promise<OwnershipRead> {
  const path = join(stateDir, OWNERSHIP_FILE);
  let text: string | null;
  try {
    text = await files.read(stateDir);
  } catch (e) {
    return { ownership: NOTHING_OWNED, problem: `${path}: ${(e as Error).message}` };
  }
  if (text === null) return { ownership: NOTHING_OWNED, problem: null, missing: true };
  return parseOwnership(text, path);
}

/** The record's text checked against its schema; `path` names it in the problem. */
export function parseOwnership(text: string, path: string): OwnershipRead {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return { ownership: NOTHING_OWNED, problem: `${path}: not JSON` };
  }
  const version = typeof json === 'object' && json !== null ? (json as { version?: unknown }).version : undefined;
  if (version !== OWNERSHIP_VERSION) {
    return { ownership: NOTHING_OWNED, problem: `${path}: version ${JSON.stringify(version ?? null)}, not ${OWNERSHIP_VERSION}` };
  }
  const parsed = ownershipSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    return { ownership: NOTHING_OWNED, problem: `${path}: ${issue?.path.join('.') ?? ''}: ${issue?.message ?? 'invalid'}` };
  }
  const r = parsed.data;
  return {
    ownership: {
      gifCreated: r.gifCreated,
      gifConfigured: r.gifConfigured,
      aliases: r.aliases.map((a) => must(parseIpv6(a))),
      route: r.route,
      anchorLoaded: r.anchorLoaded,
      wan: r.wan,
      tunnel: r.tunnel,
      anchor: r.anchor,
      label: r.label,
      applied: r.applied === null ? null : deserializeDesired(r.applied),
    },
    problem: null,
  };
}

/**
 * Replaces the record: a temporary file written and fsync'd, renamed over
 * the record, and the directory fsync'd, so that the step depending on it
 * runs only once the record is on disk. Throws on any failure (ENOSPC,
 * EROFS, EIO), leaving the previous record in place.
 */
export async function writeOwnership(stateDir: string, o: Ownership): Promise<void> {
  await files.write(stateDir, serializeOwnership(o));
}
