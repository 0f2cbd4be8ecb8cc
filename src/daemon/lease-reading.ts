/**
 * One look at the lease: the file dhcp6leased(8) writes, checked against
 * `dhcp6leasectl -l` because the file is never removed on expiry
 * (sbin/dhcp6leased/dhcp6leased.c 1.20: neither deconfigure_interfaces()
 * nor deprecate_interfaces() touches it). The result says whether there is
 * a lease, none, or one we cannot read — the last keeps the last good configuration in place.
 */
import { existsSync } from 'node:fs';
import { readRegularFile } from '../bounded-file.js';
import type { MapedConfig } from '../config/index.js';
import type { S46Options } from '../dhcpv6/index.js';
import { runTool } from '../apply/tool-process.js';
import { autoconfAddress, MAX_LEASE_FILE_BYTES, parseLeaseFile, queryLeasectl, type LeasectlStatus } from '../lease/index.js';
import { parseIfconfig, toolEnvironment } from '../openbsd/index.js';
import { formatIpv6Prefix, type Ipv6Prefix, type Result } from '../map/index.js';

export type LeaseReading =
  | {
      readonly kind: 'lease';
      /** The dhcp6leased lease file, or the WAN's SLAAC address (`prefix autoconf`). */
      readonly source: 'file' | 'autoconf';
      readonly endUserPrefix: Ipv6Prefix;
      /**
       * The WAN's own global address the prefix was taken from (`prefix
       * autoconf`): no prefix is delegated, so DS-Lite tunnels from it
       * (src/softwire/dslite.ts). Null with a delegated prefix.
       */
      readonly wanAddress: bigint | null;
      readonly s46: S46Options;
      readonly dhcpState: string | null;
      readonly expiresAt: Date | null;
      /** Until the lease runs out, as dhcp6leasectl counts; null when unknown. */
      readonly remainingMs: number | null;
      readonly warnings: readonly string[];
      /**
       * Taken from a file that has just changed, before dhcp6leasectl
       * answered (readLease's `fresh`): the same reading once it has, or
       * its verdict against the file. Never rejects.
       */
      readonly confirmation?: Promise<LeaseReading>;
    }
  | { readonly kind: 'none'; readonly reason: string }
  | { readonly kind: 'unreadable'; readonly error: string };

export interface LeaseSources {
  /** The file's text, or null when it does not exist. Throws on other errors. */
  readFile(path: string): Promise<string | null>;
  /** `dhcp6leasectl -l <if>`, or null when the tool is not installed. */
  leasectl(toolPath: string, iface: string): Promise<Result<LeasectlStatus> | null>;
  /** `ifconfig <if>`'s output (`prefix autoconf`); rejects with a one-line reason. */
  ifconfig?(toolPath: string, iface: string): Promise<string>;
}

export const systemLeaseSources: LeaseSources = {
  async readFile(path) {
    // Synchronously, as the lease watch reads it (src/lease/lease-watch.ts says why); as the
    // privileged parent reads it for its child: a regular file, at most MAX_LEASE_FILE_BYTES.
    const read = readRegularFile(path, MAX_LEASE_FILE_BYTES);
    if ('text' in read) return read.text;
    if (read.code === 'ENOENT' || read.code === 'ENOTDIR') return null;
    throw new Error(read.error);
  },
  async leasectl(toolPath, iface) {
    if (!existsSync(toolPath)) return null;
    return queryLeasectl(toolPath, iface);
  },
  async ifconfig(toolPath, iface) {
    const run = await runTool(toolPath, [iface], { timeoutMs: 10_000, maxOutput: 1024 * 1024, env: toolEnvironment(process.env.PATH) });
    if (!run.ok) throw new Error(run.failure ?? 'failed');
    return run.stdout;
  },
};

/** RFC 8415 §7.7: a lifetime of 0xffffffff seconds is infinite. */
const INFINITE_LIFETIME = 0xffffffff;

/**
 * `prefix autoconf`: the end-user prefix is the /64 of the WAN's SLAAC
 * address; there is no lease, so no S46 option and no expiry: the address
 * going away is what withdraws.
 */
async function readAutoconf(sources: LeaseSources, config: MapedConfig): Promise<LeaseReading> {
  if (sources.ifconfig === undefined) return { kind: 'unreadable', error: 'prefix autoconf: no way to read the interface' };
  let text: string;
  try {
    text = await sources.ifconfig(config.tools.ifconfig, config.wan);
  } catch (e) {
    return { kind: 'unreadable', error: `prefix autoconf: ifconfig ${config.wan}: ${(e as Error).message}` };
  }
  const status = parseIfconfig(text);
  if (!status.ok) return { kind: 'unreadable', error: `prefix autoconf: ${status.error}` };
  const slaac = autoconfAddress(status.value);
  if (slaac === null) return { kind: 'none', reason: `no autoconf address on ${config.wan}` };
  return {
    kind: 'lease',
    source: 'autoconf',
    endUserPrefix: slaac.prefix,
    wanAddress: slaac.address,
    s46: EMPTY_S46,
    dhcpState: null,
    expiresAt: null,
    remainingMs: null,
    warnings: [],
  };
}

const EMPTY_S46: S46Options = { mapE: [], mapT: [], lw4o6: [] };

export interface ReadLeaseOptions {
  /**
   * Hears the file's text once it is read and dhcp6leasectl has been
   * started, before its answer (the engine starts reading the system then).
   */
  readonly onFileText?: (text: string) => void;
  /**
   * Whether `text` is not what the file held at the last reading: then
   * dhcp6leased has just written it, and only from configure_interfaces()
   * (sbin/dhcp6leased/engine.c 1.34, the IMSG_WRITE_LEASE it sends once a
   * Reply's prefixes are bound), so it names the lease dhcp6leased holds
   * now. Such a file is taken at its word while dhcp6leasectl is asked,
   * when it names its MAP-E rules itself (dhcp6leasectl's are used only when
   * it does not); the reading's `confirmation` carries the answer.
   */
  readonly fresh?: (text: string) => boolean;
}

/**
 * How often a disagreement with dhcp6leasectl sends maped back to the file:
 * dhcp6leased writes the file and then answers for the new prefix, so a file
 * read just before a rewrite is judged against the newer answer.
 */
const REREADS_ON_DISAGREEMENT = 3;

export async function readLease(sources: LeaseSources, config: MapedConfig, now = new Date(), options: ReadLeaseOptions = {}): Promise<LeaseReading> {
  if (config.prefix === 'autoconf') return readAutoconf(sources, config);
  const judged = (r: OnceReading): string | undefined => ('readText' in r ? r.readText : undefined);
  const { onFileText, fresh } = options;
  let reading = await readLeaseOnce(sources, config, now, onFileText, fresh);
  // Taken before dhcp6leasectl answered: there is no disagreement to look into yet.
  if (reading.kind === 'lease' && reading.confirmation !== undefined) return reading;
  for (let tries = 0; tries < REREADS_ON_DISAGREEMENT && judged(reading) !== undefined; tries++) {
    // Never withdraw on a disagreement that a newer file explains (B read, C already leased).
    let again: string | null;
    try {
      again = await sources.readFile(config.leaseFile);
    } catch {
      break;
    }
    if (again === judged(reading)) break;
    reading = await readLeaseOnce(sources, config, now, onFileText);
  }
  if (reading.kind === 'none' && judged(reading) !== undefined) return { kind: 'none', reason: reading.reason };
  return reading;
}

type OnceReading = LeaseReading | { readonly kind: 'none'; readonly reason: string; readonly readText: string };

/** One reading; a `none` from dhcp6leasectl disagreeing with the file carries the file text it judged. */
async function readLeaseOnce(
  sources: LeaseSources,
  config: MapedConfig,
  now: Date,
  onFileText: ((text: string) => void) | undefined,
  fresh?: (text: string) => boolean,
): Promise<OnceReading> {
  let text: string | null;
  try {
    text = await sources.readFile(config.leaseFile);
  } catch (e) {
    return { kind: 'unreadable', error: `lease ${config.leaseFile}: ${(e as Error).message}` };
  }
  if (text === null) return { kind: 'none', reason: `no lease file ${config.leaseFile}` };
  const parsed = parseLeaseFile(text, config.leaseFile);
  if (!parsed.ok) return { kind: 'unreadable', error: `lease ${parsed.error}` };
  const first = [...parsed.value.prefixes].sort((a, b) => a.ia - b.ia)[0];
  if (first === undefined) return { kind: 'none', reason: `lease ${config.leaseFile} holds no delegated prefix` };
  const endUserPrefix = first.prefix;
  const s46 = parsed.value.s46 ?? EMPTY_S46;

  // Whichever the next step waits for is asked first (runs asked at once start one after
  // another): dhcp6leasectl's answer when it decides; the look-ahead's reads of the live
  // state when the file is applied on its own word and dhcp6leasectl only confirms it.
  const early = s46.mapE.length > 0 && fresh?.(text) === true;
  if (early) onFileText?.(text);
  const asked = sources.leasectl(config.tools.dhcp6leasectl, config.wan);
  if (!early) onFileText?.(text);
  const judge = (status: Result<LeasectlStatus> | null | undefined): OnceReading => judgeLease(config, text, endUserPrefix, s46, status, now);
  if (!early) return judge(await asked);
  const confirmation = asked.then(
    (status) => withoutReadText(judge(status)),
    (e: unknown): LeaseReading => ({ kind: 'unreadable', error: `dhcp6leasectl: ${(e as Error).message}` }),
  );
  return { ...(judge(undefined) as Extract<LeaseReading, { kind: 'lease' }>), confirmation };
}

const withoutReadText = (r: OnceReading): LeaseReading => (r.kind === 'none' ? { kind: 'none', reason: r.reason } : r);

/**
 * The file's reading (its text, the prefix and S46 options it names)
 * against dhcp6leasectl's answer: null when the tool is not installed,
 * undefined when the answer has not come yet (the file alone).
 */
function judgeLease(
  config: MapedConfig,
  text: string,
  endUserPrefix: Ipv6Prefix,
  fileS46: S46Options,
  status: Result<LeasectlStatus> | null | undefined,
  now: Date,
): OnceReading {
  let s46 = fileS46;
  const warnings: string[] = [];
  let dhcpState: string | null = null;
  let remainingMs: number | null = null;
  if (status === undefined) {
    // Not answered yet: the file's word (ReadLeaseOptions.fresh).
  } else if (status === null) {
    warnings.push(`${config.tools.dhcp6leasectl} not found: lease validity is not checked`);
  } else if (!status.ok) {
    // A failing tool is not an expired lease: keep going on the file alone.
    warnings.push(`dhcp6leasectl: ${status.error}`);
  } else {
    dhcpState = status.value.state;
    const listed = status.value.prefixes.some(
      (p) => p.length === endUserPrefix.length && p.address === endUserPrefix.address,
    );
    if (!listed || status.value.leaseSeconds === 0) {
      return {
        kind: 'none',
        reason: `lease for ${formatIpv6Prefix(endUserPrefix)} on ${config.wan} is not current (dhcp6leased: ${status.value.state})`,
        readText: text,
      };
    }
    // RFC 8415 §7.7: 0xffffffff is infinity; such a lease never runs out.
    if (status.value.leaseSeconds !== null && status.value.leaseSeconds !== INFINITE_LIFETIME) remainingMs = status.value.leaseSeconds * 1000;
    // The earlier Perl maped's dhcp6leased patch shows the MAP-E options only there.
    if (s46.mapE.length === 0 && status.value.s46 !== undefined) s46 = status.value.s46;
  }
  return {
    kind: 'lease',
    source: 'file',
    endUserPrefix,
    wanAddress: null,
    s46,
    dhcpState,
    expiresAt: remainingMs === null ? null : new Date(now.getTime() + remainingMs),
    remainingMs,
    warnings,
  };
}
