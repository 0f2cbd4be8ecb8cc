/**
 * The reconcile loop. Every input event (lease file changed, lease expiry,
 * reload, retry timer) leads to one thing: recompute the whole pipeline from
 * the inputs and converge the system to it. Nothing is replayed; a result
 * equal to what is applied runs no command (docs/architecture.md §1, §4).
 *
 * Last good wins: a lease or option that does not parse keeps the applied
 * configuration and only sets `reason`. Only a lease that is gone or expired
 * withdraws it.
 */
import type { Logger } from 'pino';
import type { MapedConfig } from '../config/index.js';
import type { DaemonState, ForwardView, RuleView, Status } from '../control/protocol.js';
import { formatIpv4, formatIpv4Prefix, formatIpv6, formatIpv6Prefix } from '../map/index.js';
import { describeSoftwire, type Softwire } from '../softwire/index.js';
import type { ProvisioningSnapshot } from '../provision/hb46pp-client.js';
import { forwardScope, forwardStates, type ForwardState } from '../openbsd/index.js';
import { VERSION } from '../version.js';
import { ForwardNotices } from './forward-notices.js';
import type { Driver, DriverReport, LookAhead } from './driver.js';
import { setLongTimeout, type LongTimer } from './long-timer.js';
import { readLease, type LeaseSources, type LeaseReading } from './lease-reading.js';
import { AftrResolver, selectResolving } from './aftr-resolver.js';
import { selectSoftwire, staticRuleViews } from './select-mapping.js';
import { retryDelayMs } from './retry-delay.js';

/**
 * A rule source with its own timers (the HB46PP client): the engine reads its
 * snapshot when it converges and tells it the end-user prefix it sees; the
 * source wakes the engine when its snapshot changes.
 */
export interface ProvisioningSource {
  snapshot(): ProvisioningSnapshot;
  prefixChanged(prefix: string | null): void;
}

export interface EngineOptions {
  config: MapedConfig;
  driver: Driver;
  log: Logger;
  leaseSources: LeaseSources;
  provisioning?: ProvisioningSource | null;
  dryRun?: boolean;
  /** Where AFTR names are resolved; default: a resolver of its own with the standard TTL bounds. */
  aftrResolver?: AftrResolver;
  /** The pid status shows: maped's, the privileged parent's in a privilege-separated maped; default this process. */
  pid?: number;
}

export class Engine {
  private config: MapedConfig;
  private readonly driver: Driver;
  private readonly log: Logger;
  private readonly sources: LeaseSources;
  private readonly dryRun: boolean;
  private readonly pid: number;
  private provisioning: ProvisioningSource | null;
  /** Why the MAP-E rule in force was chosen (status rule.why). */
  private why = '';

  private state: DaemonState = 'starting';
  private reason: string | null = null;
  private reading: LeaseReading | null = null;
  private readonly forwardNotices = new ForwardNotices();
  private softwire: Softwire | null = null;
  private readonly resolver: AftrResolver;
  private ttlTimer: LongTimer | null = null;
  private rules: readonly RuleView[] = [];
  /** The rules known when the softwire in force was applied: its CE address may be adopted after a lost record. */
  private appliedRules: readonly RuleView[] = [];
  private appliedKey: string | null = null;
  private lastReport: { at: Date; report: DriverReport } | null = null;
  private warnings: readonly string[] = [];
  /** The lease warnings last logged, so a repeated one is said once. */
  private leaseWarnings = '';
  /** The lease file's text at the last reading, to tell a change from a renewal; undefined before the first. */
  private leaseText: string | undefined;

  private running: Promise<void> | null = null;
  private again = false;
  private stopped = false;
  private attempt = 0;
  private retryTimer: NodeJS.Timeout | null = null;
  private retryAt: Date | null = null;
  private expiryTimer: LongTimer | null = null;

  constructor(options: EngineOptions) {
    this.config = options.config;
    this.driver = options.driver;
    this.log = options.log;
    this.sources = options.leaseSources;
    this.dryRun = options.dryRun ?? false;
    this.pid = options.pid ?? process.pid;
    this.resolver = options.aftrResolver ?? new AftrResolver();
    this.provisioning = options.provisioning ?? null;
    this.rules = staticRuleViews(this.config.rules);
  }

  /** Asks for a convergence; calls while one runs coalesce into one more run. */
  wake(why: string): Promise<void> {
    if (this.stopped) return Promise.resolve();
    this.log.debug(`wake: ${why}`);
    if (this.running !== null) {
      this.again = true;
      return this.running;
    }
    this.running = (async () => {
      do {
        this.again = false;
        await this.convergeOnce();
      } while (this.again && !this.stopped);
      this.running = null;
    })();
    return this.running;
  }

  /** SIGHUP: the caller parsed the new file; a bad one never reaches here. */
  reload(config: MapedConfig, provisioning?: ProvisioningSource | null): Promise<void> {
    this.config = config;
    if (provisioning !== undefined) this.provisioning = provisioning;
    this.appliedKey = null;
    this.log.info('configuration reloaded');
    return this.wake('reload');
  }

  /**
   * Stops timers; with `teardown`, removes what maped configured.
   * `inFlightDone` is called once the convergence running at the call (if
   * any) is over, before the teardown starts.
   */
  async stop(teardown: boolean, inFlightDone?: () => void): Promise<void> {
    this.stopped = true;
    this.clearTimers();
    if (this.running) await this.running;
    inFlightDone?.();
    if (teardown && this.appliedKey !== null) {
      const report = await this.driver.converge(null, this.config, { dryRun: this.dryRun });
      this.log.info(report.ok ? 'on-exit teardown done' : `on-exit teardown failed: ${report.error}`);
    }
  }

  private clearTimers(): void {
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.expiryTimer?.cancel();
    this.ttlTimer?.cancel();
    this.retryTimer = this.expiryTimer = this.ttlTimer = null;
    this.retryAt = null;
  }

  private setState(state: DaemonState, reason: string | null): void {
    if (state !== this.state || reason !== this.reason) {
      const text = reason === null ? state : `${state}: ${reason}`;
      if (state === 'degraded' || state === 'error') this.log.warn(`state ${text}`);
      else if (state === 'applying') this.log.debug(`state ${text}`);
      else this.log.info(`state ${text}`);
    }
    this.state = state;
    this.reason = reason;
    // A retry time belongs to the degraded state only; it stays shown until the retry moves on.
    if (state !== 'degraded') this.retryAt = null;
  }

  private async convergeOnce(): Promise<void> {
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = null;

    // A lease file that changed will most likely be applied: read the system
    // meanwhile, beside dhcp6leasectl, rather than after it. Not for a
    // renewal with the same text, which usually changes nothing.
    let lookAhead: LookAhead | undefined;
    const before = this.leaseText;
    const reading = await readLease(this.sources, this.config, new Date(), {
      onFileText: (text) => {
        if (text !== this.leaseText && !this.dryRun) lookAhead = this.driver.lookAhead?.(this.config);
        this.leaseText = text;
      },
      // Rewritten while maped watched (not the file found at start, which may
      // be from before a reboot): dhcp6leased has just bound it; applied
      // while dhcp6leasectl is asked, confirmed below.
      fresh: (text) => before !== undefined && text !== before && !this.dryRun,
    });
    await this.convergeOn(reading, lookAhead);
    if (reading.kind === 'lease' && reading.confirmation !== undefined) await this.confirm(reading, reading.confirmation);
  }

  /**
   * dhcp6leasectl's answer about a lease applied on the file's word: the
   * lease as it says (its state, its time, the expiry timer), or, when it
   * does not list the file's prefix, one more convergence, which asks it
   * again before anything is applied and withdraws if the file still
   * disagrees (readLease).
   */
  private async confirm(taken: LeaseReading, confirmation: Promise<LeaseReading>): Promise<void> {
    const checked = await confirmation;
    if (this.stopped || this.reading !== taken) return;
    if (checked.kind !== 'lease') {
      this.log.debug(`lease check after the apply: ${checked.kind === 'none' ? checked.reason : checked.error}; looking again`);
      this.again = true;
      return;
    }
    this.reading = checked;
    this.scheduleExpiry(checked);
    this.sayLeaseWarnings(checked);
    this.warnings = [...checked.warnings.filter((w) => !this.warnings.includes(w)), ...this.warnings];
  }

  private sayLeaseWarnings(reading: Extract<LeaseReading, { kind: 'lease' }>): void {
    const said = reading.warnings.join('\n');
    if (said !== this.leaseWarnings) for (const warning of reading.warnings) this.log.warn(warning);
    this.leaseWarnings = said;
  }

  private async convergeOn(reading: LeaseReading, lookAhead: LookAhead | undefined): Promise<void> {
    if (reading.kind === 'unreadable') {
      // Last good wins: keep what is applied, say why we do not move.
      this.log.warn(reading.error);
      this.holdOn(reading.error);
      return;
    }
    this.reading = reading;
    this.scheduleExpiry(reading);
    // A reading still to be confirmed has no warnings of its own yet (confirm says them).
    if (reading.kind === 'lease' && reading.confirmation === undefined) this.sayLeaseWarnings(reading);

    if (reading.kind === 'none') {
      await this.withdraw(reading.reason);
      return;
    }

    // v6mig-prov §3.6: the provisioning server answers by the CE's address; a new prefix means asking again.
    this.provisioning?.prefixChanged(formatIpv6Prefix(reading.endUserPrefix));
    const provisioned = this.provisioning?.snapshot() ?? null;
    const lease = {
      interface: this.config.wan,
      endUserPrefix: reading.endUserPrefix,
      wanAddress: reading.wanAddress,
      s46: reading.s46,
      provisioned: provisioned?.softwire ?? null,
    };
    const config = this.config;
    const selection = await selectResolving((lookup) => selectSoftwire(config, lease, lookup), this.resolver);
    this.rules = selection.rules;
    if (!selection.ok && this.softwire?.origin === 'provisioning' && provisioned !== null && provisioned.softwire === null) {
      // v6mig-prov §3.6 c.2: no discovery record (or the data was forgotten): the softwire stops.
      await this.withdraw(`provisioning withdrawn: ${provisioned.reason}`);
      return;
    }
    if (!selection.ok) {
      // An AFTR name that does not resolve now may later: degraded, asked again with backoff.
      if (selection.retry === true) {
        this.scheduleRetry(selection.reason);
        return;
      }
      this.log.warn(selection.reason);
      this.holdOn(selection.reason);
      return;
    }
    const mapping = selection.softwire;
    this.scheduleReresolve(mapping);
    const key = mappingKey(mapping, this.config);
    const why = selection.why ?? '';
    if (key === this.appliedKey && this.lastReport?.report.ok) {
      // The same parameters from another source (or for another reason) need no command.
      this.softwire = mapping;
      this.why = why;
      this.setState('active', null);
      return;
    }
    for (const warning of mapping.warnings) this.log.warn(warning);
    this.setState('applying', null);
    const report = await this.driver.converge(mapping, this.config, {
      dryRun: this.dryRun,
      ...(lookAhead === undefined ? {} : { lookAhead }),
      knownRules: [...this.rules, ...this.appliedRules],
      knownSoftwires: this.softwire === null ? [mapping] : [mapping, this.softwire],
    });
    this.lastReport = { at: new Date(), report };
    // What the plan warns about (stock pf leaves ICMP echo ids unconfined, …)
    // is said once, when it first applies, and stays in status meanwhile.
    for (const warning of report.warnings) if (!this.warnings.includes(warning)) this.log.warn(warning);
    this.warnings = [...(reading.kind === 'lease' ? reading.warnings : []), ...mapping.warnings, ...report.warnings];
    // A real run logs each command as it starts (`run:`, reconcile.ts); a dry run starts none.
    if (this.dryRun) for (const argv of report.commands) this.log.debug(`dry run: ${argv.join(' ')}`);
    if (!report.ok) {
      // The tunnel did not come up: an AFTR that moved is asked for again on the retry.
      if (mapping.remoteName !== null) this.resolver.forget();
      this.scheduleRetry(report.error ?? 'apply failed');
      return;
    }
    this.attempt = 0;
    this.softwire = mapping;
    this.why = why;
    this.appliedKey = key;
    this.appliedRules = selection.rules;
    if (report.commands.length > 0) this.log.info(`${mapping.kind} active: ${describeSoftwire(mapping)}`);
    const said = this.forwardNotices.update(this.forwardStates());
    for (const line of said.warnings) this.log.warn(line);
    for (const line of said.notices) this.log.info(line);
    this.setState('active', null);
  }

  private async withdraw(reason: string): Promise<void> {
    if (this.appliedKey === null && this.state !== 'active' && this.state !== 'degraded') {
      this.setState(this.state === 'withdrawn' ? 'withdrawn' : 'waiting', reason);
      return;
    }
    this.setState('applying', reason);
    const report = await this.driver.converge(null, this.config, { dryRun: this.dryRun });
    this.lastReport = { at: new Date(), report };
    if (!report.ok) {
      this.scheduleRetry(`withdrawing: ${report.error ?? 'failed'}`);
      return;
    }
    this.attempt = 0;
    this.appliedKey = null;
    this.softwire = null;
    // Said once (stale states not killed, say); then, about a configuration that is gone, no longer shown.
    for (const warning of report.warnings) this.log.warn(warning);
    this.warnings = [];
    this.log.info(`softwire withdrawn: ${reason}`);
    this.setState('withdrawn', reason);
  }

  /**
   * Nothing to apply from the inputs now. A degraded system still has a
   * failed apply to finish: keep a retry scheduled (the one this run
   * cancelled), else it would wait for the next lease event, forever.
   */
  private holdOn(reason: string): void {
    if (this.state === 'degraded') this.scheduleRetry(reason);
    else this.setState(this.appliedKey !== null ? this.state : 'error', reason);
  }

  private scheduleRetry(error: string): void {
    const delay = retryDelayMs(this.attempt++);
    this.retryAt = new Date(Date.now() + delay);
    this.setState('degraded', `${error}; retry in ${Math.round(delay / 1000)} s`);
    this.retryTimer = setTimeout(() => void this.wake('retry'), delay);
    this.retryTimer.unref?.();
  }

  /** Wakes when the first AFTR answer's TTL runs out, so the name is asked again (and followed if it moved). */
  private scheduleReresolve(softwire: Softwire): void {
    this.ttlTimer?.cancel();
    this.ttlTimer = null;
    // Only a softwire whose far end was named has an answer to follow.
    const at = softwire.remoteName === null ? null : this.resolver.nextExpiry();
    if (at === null || this.stopped) return;
    // A TTL may be up to 2^31 - 1 seconds (RFC 2181 §8): longer than one setTimeout holds.
    this.ttlTimer = setLongTimeout(() => void this.wake('AFTR TTL'), Math.max(0, at - Date.now()) + 50);
  }

  private scheduleExpiry(reading: LeaseReading): void {
    this.expiryTimer?.cancel();
    this.expiryTimer = null;
    if (reading.kind !== 'lease' || reading.remainingMs === null) return;
    // Re-ask dhcp6leasectl just after the lease would run out: a renewal that
    // rewrote the file with the same content is only visible there. Leases
    // run for weeks: longer than one setTimeout can wait.
    this.expiryTimer = setLongTimeout(() => void this.wake('lease expiry'), reading.remainingMs + 1000);
  }

  status(): Status {
    const reading = this.reading?.kind === 'lease' ? this.reading : null;
    const softwire = this.softwire;
    const report = this.lastReport;
    const nat = softwire?.nat;
    const ports = nat?.into === 'portset' ? nat : null;
    return {
      state: this.state,
      reason: this.reason,
      softwire: softwire?.kind ?? null,
      origin: softwire?.origin ?? null,
      lease:
        reading === null
          ? null
          : {
              source: reading.source,
              interface: this.config.wan,
              endUserPrefix: formatIpv6Prefix(reading.endUserPrefix),
              dhcpState: reading.dhcpState,
              expiresAt: reading.expiresAt?.toISOString() ?? null,
            },
      rule: softwire === null || softwire.rule === null ? null : { ...softwire.rule, origin: softwire.origin, why: this.why },
      map:
        softwire === null
          ? null
          : {
              ipv4: formatIpv4(softwire.ipv4.address),
              ipv4PrefixLen: softwire.ipv4.prefixLen,
              // A MAP-E address that is not shared has PSID length 0 (RFC 7597 §5.2); other kinds have no PSID.
              psidOffset: ports?.psidOffset ?? (softwire.kind === 'map-e' ? 0 : null),
              psidLen: ports?.psidLen ?? (softwire.kind === 'map-e' ? 0 : null),
              psid: ports?.psid ?? (softwire.kind === 'map-e' ? 0 : null),
              ceIPv6: formatIpv6(softwire.tunnel.source),
              br: formatIpv6(softwire.tunnel.remote),
              portSets: ports?.portSets.map(([first, last]) => [first, last] as [number, number]) ?? [],
              portCount: ports?.portCount ?? (nat?.into === 'address' ? 65536 : null),
            },
      tunnel:
        softwire === null ? null : { interface: this.config.tunnel.interface, mtu: report?.report.mtu ?? null },
      pf: { anchor: this.config.pf.anchor, portset: softwire === null ? null : report?.report.portset ?? null },
      lastApply:
        report === null
          ? null
          : {
              at: report.at.toISOString(),
              ok: report.report.ok,
              commands: report.report.commands.length,
              error: report.report.error,
            },
      nextRetryAt: this.retryAt?.toISOString() ?? null,
      warnings: [...this.warnings],
      forwards: this.forwardStates().map(forwardView),
      pid: this.pid,
      version: VERSION,
    };
  }

  showRules(): { rules: RuleView[] } {
    return { rules: [...this.rules] };
  }

  showPorts(): { psidOffset: number | null; psidLen: number | null; psid: number | null; portSets: [number, number][]; forwards: ForwardView[] } {
    const nat = this.softwire?.nat;
    const p = nat?.into === 'portset' ? nat : null;
    return {
      psidOffset: p?.psidOffset ?? null,
      psidLen: p?.psidLen ?? null,
      psid: p?.psid ?? null,
      portSets: p?.portSets.map(([first, last]) => [first, last] as [number, number]) ?? [],
      forwards: this.forwardStates().map(forwardView),
    };
  }

  /**
   * The configured forwards against the ports in force: the port set of a
   * shared address, every port of one that is not, none without a softwire
   * or without an address of its own (DS-Lite).
   */
  private forwardStates(): ForwardState[] {
    const softwire = this.softwire;
    return forwardStates(this.config.forwards, forwardScope(softwire?.nat ?? null, softwire?.kind ?? null));
  }
}

function forwardView(state: ForwardState): ForwardView {
  const f = state.forward;
  return { proto: f.proto, ports: [f.ports[0], f.ports[1]], to: formatIpv4(f.to), toPort: f.toPort, active: state.active, reason: state.reason };
}

/** What must be equal for two results to need no command: everything the plan is made of. */
function mappingKey(softwire: Softwire, config: MapedConfig): string {
  return JSON.stringify([
    softwire.kind,
    formatIpv4(softwire.ipv4.address),
    softwire.ipv4.prefixLen,
    formatIpv4(softwire.ipv4.peer),
    softwire.nat,
    formatIpv6(softwire.tunnel.source),
    formatIpv6(softwire.tunnel.remote),
    config.wan,
    config.tunnel,
    config.natFrom.map(formatIpv4Prefix),
    config.pf,
    config.forwards,
  ]);
}

