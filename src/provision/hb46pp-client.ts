/**
 * The HB46PP client (v6mig-prov 1.1): discovery, request, reply, timers and
 * cache, following the access sequence of §3.6. It knows nothing of the
 * OpenBSD side: it publishes what the server provisioned (a snapshot) and
 * calls `onChange`; the daemon's engine reads the snapshot when it
 * converges. No network I/O happens on the engine's apply path.
 */
import { readFileSync, statSync } from 'node:fs';
import { isIPv6 } from 'node:net';
import { parseIpv6, shown } from '../map/index.js';
import { notUnicast } from '../softwire/index.js';
import { DISCOVERY_NAME, parseDiscoveryRecords, parseServerUrl, type CertificateCheck } from './discovery-record.js';
import { makeDnsAsker, type DnsAsker, type TxtLookup } from './dns-lookup.js';
import { DEFAULT_HTTP_LIMITS, httpGet, type HttpLimits } from './http-get.js';
import { chooseKind, parseReply, type KindChoice, type ProvisionedSoftwire, type Reply } from './reply.js';
import { readCachedReply, removeCachedReply, writeCachedReply } from './reply-cache.js';
import { hostOf, requestUrl, type Credentials, type RequestIdentity } from './request.js';
import { nextAttemptDelayMs, type FetchOutcome } from './schedule.js';

/** What `provision hb46pp { … }` says, resolved (defaults filled in by the caller). */
export interface Hb46ppSettings {
  /** Skips discovery when set. */
  readonly url: string | null;
  /** `ADDR` or `[ADDR]:PORT`; null: the system's resolvers. */
  readonly dns: string | null;
  readonly identity: RequestIdentity;
  readonly credentials: Credentials | null;
  readonly caFile: string | null;
}

/** Redirects (307, §3.3) followed for one request before giving up. */
export const MAX_REDIRECTS = 5;
/** A CA file is a few certificates. */
const MAX_CA_FILE_BYTES = 1024 * 1024;

export interface ProvisioningSnapshot {
  readonly softwire: ProvisionedSoftwire | null;
  /** Where the data in force came from: this run's server reply or the state-dir cache. */
  readonly from: 'server' | 'cache' | null;
  /** Why there is none, or why this one. */
  readonly reason: string;
}

export type ProvisioningState = 'starting' | 'fetching' | 'active' | 'cached' | 'withdrawn' | 'failing';

export interface ProvisioningStatus {
  state: ProvisioningState;
  url: string | null;
  found: 'config' | 'dns' | null;
  t: CertificateCheck | null;
  lastFetch: { at: string; httpStatus: number | null; outcome: FetchOutcome['kind']; error: string | null } | null;
  enablerName: string | null;
  serviceName: string | null;
  ispName: string | null;
  ttl: number | null;
  token: boolean;
  auth: string | null;
  credentials: string;
  order: string[] | null;
  kind: ProvisionedSoftwire['kind'] | null;
  why: string | null;
  interfaceId: 'rfc7597' | 'draft03' | null;
  data: 'server' | 'cache' | null;
  savedAt: string | null;
  nextRefreshAt: string | null;
}

/** The kinds of outcome a fetch has (§3.6 c.2, c.3, f.2, h.2 and valid data), in the order metrics print them. */
export const FETCH_OUTCOMES = ['valid', 'no-record', 'dns-failure', 'no-answer', 'bad-data'] as const satisfies readonly FetchOutcome['kind'][];

/**
 * Fetches by outcome and the time of the last valid reply, for maped's
 * metrics. The caller keeps them, so that they outlive a client replaced by
 * a reload (a Prometheus counter only goes up while the process lives).
 */
export interface FetchCounters {
  readonly byOutcome: Record<FetchOutcome['kind'], number>;
  /** ms since the epoch; null until a fetch gave valid data. */
  lastValidAt: number | null;
}

export const newFetchCounters = (): FetchCounters => ({
  byOutcome: { valid: 0, 'no-record': 0, 'dns-failure': 0, 'no-answer': 0, 'bad-data': 0 },
  lastValidAt: null,
});

export interface ProvisionLog {
  info(message: string): void;
  warn(message: string): void;
}

export interface Hb46ppClientOptions {
  readonly settings: Hb46ppSettings;
  readonly stateDir: string;
  readonly onChange: () => void;
  readonly log: ProvisionLog;
  readonly userAgent: string;
  /** Injected for tests; default: node:dns with `settings.dns`. */
  readonly dns?: DnsAsker;
  readonly limits?: HttpLimits;
  readonly now?: () => number;
  readonly random?: () => number;
  /** Counted into; default: counters of the client's own. */
  readonly counters?: FetchCounters;
  /**
   * Why an address cannot be that of a server found by DNS or a redirect, or
   * null; default notUnicast (loopback, link-local, unspecified, multicast,
   * IPv4-mapped). Injected for tests, whose servers listen on ::1.
   */
  readonly notServerAddress?: (address: bigint) => string | null;
}

interface Fetched {
  readonly outcome: FetchOutcome;
  readonly httpStatus: number | null;
  readonly error: string | null;
  readonly reply?: Reply;
  readonly choice?: KindChoice;
  readonly url?: string;
  /** The reply's token, valid data or not (§3.4 token). */
  readonly token?: string;
}

export class Hb46ppClient {
  private readonly options: Hb46ppClientOptions;
  private readonly dns: DnsAsker;
  private readonly now: () => number;
  private readonly random: () => number;
  private readonly notServerAddress: (address: bigint) => string | null;
  /** Aborted by stop(): the lookup or request in flight ends at once. */
  private readonly aborter = new AbortController();
  /**
   * Bumped by forget(): a fetch begun before is dropped when it ends (no
   * token kept, no cache written, nothing published), since it may carry
   * the token and data just forgotten.
   */
  private generation = 0;
  readonly counters: FetchCounters;

  private snapshotValue: ProvisioningSnapshot = { softwire: null, from: null, reason: 'not fetched yet' };
  private reply: Reply | null = null;
  private choice: KindChoice | null = null;
  private savedAt: string | null = null;
  private token: string | null = null;
  private location: { url: URL; t: CertificateCheck; found: 'config' | 'dns' } | null = null;
  private lastFetch: ProvisioningStatus['lastFetch'] = null;
  private credentialsWhy = 'no user configured';
  private state: ProvisioningState = 'starting';

  private timer: NodeJS.Timeout | null = null;
  private nextAt: number | null = null;
  private running: Promise<void> | null = null;
  private again = false;
  private stopped = false;
  private prefix: string | null = null;
  private prefixAtFetch: string | null = null;

  constructor(options: Hb46ppClientOptions) {
    this.options = options;
    this.dns = options.dns ?? makeDnsAsker(options.settings.dns);
    this.now = options.now ?? Date.now;
    this.random = options.random ?? Math.random;
    this.notServerAddress = options.notServerAddress ?? notUnicast;
    this.counters = options.counters ?? newFetchCounters();
  }

  /** Publishes the cached reply, if any, then asks the server. */
  start(): void {
    const cached = readCachedReply(this.options.stateDir);
    if (cached.kind === 'bad') this.options.log.warn(`HB46PP cache ignored: ${cached.error}`);
    if (cached.kind === 'ok') {
      const choice = chooseKind(cached.cached.reply);
      if (choice.ok) {
        this.reply = cached.cached.reply;
        this.choice = choice.value;
        this.savedAt = cached.cached.savedAt;
        this.token = cached.cached.reply.token ?? null;
        this.state = 'cached';
        this.publish({ softwire: choice.value.softwire, from: 'cache', reason: `cached reply of ${cached.cached.savedAt} from ${cached.cached.url}` });
      }
    }
    void this.refresh('start');
  }

  snapshot(): ProvisioningSnapshot {
    return this.snapshotValue;
  }

  /** Asks the server now (`mapedctl provision refresh`, a prefix change, a timer). */
  refresh(why: string): Promise<void> {
    if (this.stopped) return Promise.resolve();
    if (this.running !== null) {
      this.again = true;
      return this.running;
    }
    this.cancelTimer();
    this.running = (async () => {
      do {
        this.again = false;
        await this.cycle(why);
      } while (this.again && !this.stopped);
      this.running = null;
    })();
    return this.running;
  }

  /**
   * §3.6 k.1/k.2 and the SHOULD after them: a change of the CE's IPv6
   * prefix means asking again, since the server answers by source address.
   */
  prefixChanged(prefix: string | null): void {
    this.prefix = prefix;
    if (prefix === null || this.stopped || prefix === this.prefixAtFetch) return;
    // The first prefix the daemon learns, while the first request is under way
    // or after one that succeeded, is the address that request went out from.
    if (this.prefixAtFetch === null && (this.running !== null || this.lastFetch?.outcome === 'valid')) {
      this.prefixAtFetch = prefix;
      return;
    }
    void this.refresh(`prefix now ${prefix}`);
  }

  /** §3.5 SHOULD: erase the stored data; forget the token; ask again. */
  forget(): Promise<void> {
    this.generation++;
    this.token = null;
    this.erase('provisioning data forgotten');
    return this.refresh('forget');
  }

  /** The stored data gone, from state-dir and from memory, and no softwire published. */
  private erase(reason: string): void {
    try {
      removeCachedReply(this.options.stateDir);
    } catch (e) {
      this.options.log.warn(`HB46PP: cannot erase the cached reply in state-dir: ${(e as Error).message}`);
    }
    this.reply = null;
    this.choice = null;
    this.savedAt = null;
    this.publish({ softwire: null, from: null, reason });
  }

  /**
   * Stops for good: the lookup or request in flight is aborted, not waited
   * for (a reload or SIGTERM must not wait on a slow server), and its
   * result dropped. Resolves once the cycle has seen the abort.
   */
  async stop(): Promise<void> {
    this.stopped = true;
    this.cancelTimer();
    this.aborter.abort();
    if (this.running) await this.running;
  }

  private cancelTimer(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.nextAt = null;
  }

  private publish(next: ProvisioningSnapshot): void {
    const before = JSON.stringify(this.snapshotValue, bigintText);
    this.snapshotValue = next;
    if (JSON.stringify(next, bigintText) !== before) this.options.onChange();
  }

  private schedule(outcome: FetchOutcome): void {
    if (this.stopped) return;
    const delay = nextAttemptDelayMs(outcome, this.random);
    this.nextAt = this.now() + delay;
    // setTimeout holds at most 2^31-1 ms (~24.8 days); the longest wait here is 7 days.
    this.timer = setTimeout(() => {
      this.timer = null;
      void this.refresh('timer');
    }, delay);
    this.timer.unref?.();
  }

  private async cycle(why: string): Promise<void> {
    this.cancelTimer();
    this.prefixAtFetch = this.prefix;
    const previous = this.state;
    this.state = 'fetching';
    this.options.log.info(`HB46PP: asking the provisioning server (${why})`);
    const generation = this.generation;
    const fetched = await this.fetch();
    // Stopped: the fetch was aborted, and is neither counted nor kept.
    if (this.stopped) return;
    if (generation !== this.generation) {
      // forget() ran meanwhile and asked again; that fetch follows at once.
      this.options.log.info('HB46PP: answer dropped: the provisioning data was forgotten while it was asked for');
      return;
    }
    if (fetched.token !== undefined) this.token = fetched.token;
    this.lastFetch = {
      at: new Date(this.now()).toISOString(),
      httpStatus: fetched.httpStatus,
      outcome: fetched.outcome.kind,
      error: fetched.error,
    };
    this.counters.byOutcome[fetched.outcome.kind]++;
    if (fetched.outcome.kind === 'valid') this.counters.lastValidAt = this.now();
    const outcome = fetched.outcome;
    if (outcome.kind === 'valid' && fetched.reply && fetched.choice) {
      this.reply = fetched.reply;
      this.choice = fetched.choice;
      this.savedAt = new Date(this.now()).toISOString();
      try {
        writeCachedReply(this.options.stateDir, { savedAt: this.savedAt, url: fetched.url ?? '', reply: fetched.reply });
      } catch (e) {
        this.options.log.warn(`HB46PP: cannot keep the reply in state-dir: ${(e as Error).message}`);
      }
      this.state = 'active';
      this.publish({ softwire: fetched.choice.softwire, from: 'server', reason: fetched.choice.why });
    } else if (outcome.kind === 'no-record') {
      // §3.6 c.2: no discovery record means no service here: stop the softwire,
      // and erase the cache, or the next start would bring the service back from it.
      this.options.log.warn(`HB46PP: ${fetched.error ?? 'no discovery record'}; withdrawing`);
      this.state = 'withdrawn';
      this.erase(fetched.error ?? 'no discovery record');
    } else {
      // §3.5: the last good data stays in use while the server cannot give better.
      this.options.log.warn(`HB46PP: ${fetched.error ?? outcome.kind}`);
      this.state = this.choice !== null ? (previous === 'active' ? 'active' : 'cached') : 'failing';
      if (this.choice === null) this.publish({ softwire: null, from: null, reason: fetched.error ?? outcome.kind });
    }
    this.schedule(outcome);
  }

  /** Why `address` cannot be that of a server found by DNS or a redirect, as a phrase naming it; null if it can. */
  private addressRefused(address: string): string | null {
    const parsed = parseIpv6(address);
    const why = parsed.ok ? this.notServerAddress(parsed.value) : 'not an IPv6 address';
    return why === null ? null : `${shown(address)} is ${why}`;
  }

  /** {@link addressRefused} for a URL whose host is an IPv6 address; null for a host name. */
  private hostRefused(url: URL): string | null {
    const host = hostOf(url);
    return isIPv6(host) ? this.addressRefused(host) : null;
  }

  /** The IPv6 addresses of `host`; when `checked`, those a server found by DNS or a redirect may not have left out. */
  private async serverAddresses(host: string, checked: boolean): Promise<string[]> {
    const signal = this.aborter.signal;
    // The lookups end with the client's signal themselves (dns-lookup.ts).
    const found = await this.dns.ipv6(host, signal);
    if (!checked) return found;
    const usable = found.filter((address) => this.addressRefused(address) === null);
    const first = found[0];
    if (usable.length === 0 && first !== undefined) throw new Error(`${shown(host)}: ${this.addressRefused(first)}; refused for a server found by DNS or a redirect`);
    return usable;
  }

  private async locate(): Promise<{ ok: true } | { ok: false; outcome: FetchOutcome; error: string }> {
    const { settings } = this.options;
    if (settings.url !== null) {
      const url = parseServerUrl(settings.url);
      if (!url.ok) return { ok: false, outcome: { kind: 'bad-data' }, error: url.error };
      // A configured https URL is checked like t=b; plain http has nothing to check (t=a, §3.1).
      this.location = { url: url.value, t: url.value.protocol === 'https:' ? 'b' : 'a', found: 'config' };
      return { ok: true };
    }
    const signal = this.aborter.signal;
    let txt: TxtLookup;
    try {
      txt = await this.dns.txt(DISCOVERY_NAME, signal);
    } catch (e) {
      return { ok: false, outcome: { kind: 'dns-failure' }, error: `${DISCOVERY_NAME}: ${(e as Error).message}` };
    }
    if (!txt.ok) {
      return { ok: false, outcome: { kind: txt.kind === 'no-record' ? 'no-record' : 'dns-failure' }, error: txt.error };
    }
    const found = parseDiscoveryRecords(txt.records);
    // §3.6 c.3: a record that does not give a server is a failure other than NODATA/NXDOMAIN.
    if (!found.ok) return { ok: false, outcome: { kind: 'dns-failure' }, error: found.error };
    // Nor does one that points the CE at itself, its link or a multicast group.
    const refused = this.hostRefused(found.value.url);
    if (refused !== null) return { ok: false, outcome: { kind: 'dns-failure' }, error: `TXT record: url host ${refused}, refused` };
    this.location = { url: found.value.url, t: found.value.t, found: 'dns' };
    return { ok: true };
  }

  private readCa(): string | null {
    const file = this.options.settings.caFile;
    if (file === null) return null;
    if (statSync(file).size > MAX_CA_FILE_BYTES) throw new Error(`ca-file ${file}: larger than ${MAX_CA_FILE_BYTES} bytes`);
    return readFileSync(file, 'utf8');
  }

  private async fetch(): Promise<Fetched> {
    const located = await this.locate();
    if (!located.ok) return { outcome: located.outcome, httpStatus: null, error: located.error };
    const location = this.location;
    if (location === null) return { outcome: { kind: 'bad-data' }, httpStatus: null, error: 'no server' };
    let caPem: string | null;
    try {
      caPem = this.readCa();
    } catch (e) {
      return { outcome: { kind: 'no-answer' }, httpStatus: null, error: (e as Error).message };
    }
    const { settings } = this.options;
    let url = location.url;
    for (let hop = 0; hop <= MAX_REDIRECTS; hop++) {
      const request = requestUrl(url, settings.identity, this.token, settings.credentials, location.t);
      this.credentialsWhy = request.credentialsWhy;
      // The configured URL is the administrator's; a server named by DNS or a redirect is checked.
      const checked = location.found === 'dns' || hop > 0;
      const got = await httpGet({
        url: request.url,
        t: location.t,
        caPem,
        resolveIpv6: (host) => this.serverAddresses(host, checked),
        limits: this.options.limits ?? DEFAULT_HTTP_LIMITS,
        userAgent: this.options.userAgent,
        signal: this.aborter.signal,
      });
      if (!got.ok) return { outcome: { kind: 'no-answer' }, httpStatus: null, error: got.error };
      const { status, location: next, body } = got.answer;
      if (status === 307) {
        if (next === null) return { outcome: { kind: 'bad-data' }, httpStatus: status, error: '307 without Location' };
        let target: URL;
        try {
          target = new URL(next, url);
        } catch {
          return { outcome: { kind: 'bad-data' }, httpStatus: status, error: `307 to a bad Location ${JSON.stringify(next.slice(0, 200))}` };
        }
        const parsed = parseServerUrl(target.href);
        if (!parsed.ok) return { outcome: { kind: 'bad-data' }, httpStatus: status, error: `307: ${parsed.error}` };
        // t=b is a certificate check, and plain HTTP has no certificate to check.
        if (url.protocol === 'https:' && parsed.value.protocol === 'http:') {
          return { outcome: { kind: 'bad-data' }, httpStatus: status, error: `307 from https to ${shown(parsed.value.href)} refused: a redirect may not leave https` };
        }
        const refused = this.hostRefused(parsed.value);
        if (refused !== null) return { outcome: { kind: 'bad-data' }, httpStatus: status, error: `307 to ${shown(parsed.value.href)} refused: ${refused}` };
        url = parsed.value;
        continue;
      }
      // §3.3: "the CPE may treat status codes other than 200 and 307 as errors".
      if (status !== 200) return { outcome: { kind: 'bad-data' }, httpStatus: status, error: `HTTP ${status} from ${url.host}` };
      const reply = parseReply(body.toString('utf8'));
      if (!reply.ok) return { outcome: { kind: 'bad-data' }, httpStatus: status, error: reply.error };
      // A token identifies this CE whatever else the reply says (§3.4 token); cycle() keeps it.
      const token = reply.value.token === undefined ? {} : { token: reply.value.token };
      const choice = chooseKind(reply.value);
      if (!choice.ok) return { outcome: { kind: 'bad-data' }, httpStatus: status, error: choice.error, ...token };
      return {
        ...token,
        outcome: { kind: 'valid', ttlSeconds: reply.value.ttl ?? null },
        httpStatus: status,
        error: null,
        reply: reply.value,
        choice: choice.value,
        url: url.href,
      };
    }
    return { outcome: { kind: 'bad-data' }, httpStatus: 307, error: `more than ${MAX_REDIRECTS} redirects` };
  }

  status(): ProvisioningStatus {
    const reply = this.reply;
    const softwire = this.choice?.softwire ?? null;
    return {
      state: this.state,
      url: this.location?.url.href ?? this.options.settings.url,
      found: this.location?.found ?? null,
      t: this.location?.t ?? null,
      lastFetch: this.lastFetch,
      enablerName: reply?.enabler_name ?? null,
      serviceName: reply?.service_name ?? null,
      ispName: reply?.isp_name ?? null,
      ttl: reply?.ttl ?? null,
      token: this.token !== null,
      auth: reply?.auth || null,
      credentials: this.credentialsWhy,
      order: reply ? [...reply.order] : null,
      kind: softwire?.kind ?? null,
      why: this.choice?.why ?? null,
      interfaceId: softwire?.kind === 'map-e' ? softwire.interfaceId : null,
      data: this.snapshotValue.from,
      savedAt: this.savedAt,
      nextRefreshAt: this.nextAt === null ? null : new Date(this.nextAt).toISOString(),
    };
  }
}

function bigintText(_key: string, value: unknown): unknown {
  return typeof value === 'bigint' ? value.toString(16) : value;
}
