/**
 * maped's metrics: counted around the driver, read from the status and the
 * latest port-usage sample, printed in the Prometheus text format by
 * `mapedctl metrics` and, with `metrics yes` in maped.conf, written to
 * `<state-dir>/maped.prom` for node_exporter's textfile collector.
 *
 * The file is replaced by rename, so a collector never reads half of it.
 * It is rewritten after every apply and once a minute, when the port usage
 * is sampled; never more often than that, so metrics cost an idle maped one
 * `pfctl -ss` a minute and nothing when they are off.
 */
import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { Logger } from 'pino';
import { replaceFile } from '../atomic-file.js';
import { DAEMON_STATES, type Status } from '../control/protocol.js';
import { renderPrometheusText, type MetricFamily } from '../control/prometheus-text.js';
import { FETCH_OUTCOMES, type FetchCounters } from '../provision/hb46pp-client.js';
import type { Driver } from './driver.js';
import type { UsageMonitor, UsageReport } from './usage-monitor.js';

export const METRICS_FILE = 'maped.prom';
/** How often the port usage is sampled and the file rewritten while metrics are on. */
export const METRICS_INTERVAL_MS = 60_000;

export interface ApplyCounters {
  ok: number;
  failed: number;
  /** State-changing commands run by applies (or planned, in a dry run). */
  commands: number;
  lastDurationSeconds: number | null;
}

export const newApplyCounters = (): ApplyCounters => ({ ok: 0, failed: 0, commands: 0, lastDurationSeconds: null });

/**
 * The same driver, counting each convergence into `counters`. `after` runs
 * on the next turn of the event loop: the engine takes the report in (state,
 * mapping, last apply) synchronously once `converge` resolves, so by then
 * its status tells the outcome rather than "applying".
 */
export function countingDriver(driver: Driver, counters: ApplyCounters, after: () => void): Driver {
  return {
    ...driver,
    async converge(mapping, config, options) {
      const started = process.hrtime.bigint();
      const report = await driver.converge(mapping, config, options);
      counters.lastDurationSeconds = Number(process.hrtime.bigint() - started) / 1e9;
      if (report.ok) counters.ok++;
      else counters.failed++;
      counters.commands += report.commands.length;
      setImmediate(after);
      return report;
    },
  };
}

const seconds = (iso: string | null | undefined): number | null => {
  if (iso === null || iso === undefined) return null;
  const ms = Date.parse(iso);
  return Number.isNaN(ms) ? null : ms / 1000;
};

const one = (value: number | null, labels?: Record<string, string>): { value: number; labels?: Record<string, string> }[] =>
  value === null ? [] : [{ value, ...(labels === undefined ? {} : { labels }) }];

/**
 * The metric families of one moment: pure, from the status, the counters,
 * the latest usage sample and, with a provision block, the HB46PP fetches.
 */
export function metricFamilies(
  status: Status,
  counters: ApplyCounters,
  usage: UsageReport | null,
  fetches: FetchCounters | null = null,
): MetricFamily[] {
  return [
    { name: 'maped_info', help: 'maped version; always 1.', type: 'gauge', samples: [{ value: 1, labels: { version: status.version } }] },
    {
      name: 'maped_state',
      help: 'The daemon state: 1 for the current one, 0 for the others (mapedctl status).',
      type: 'gauge',
      samples: DAEMON_STATES.map((state) => ({ value: state === status.state ? 1 : 0, labels: { state } })),
    },
    {
      name: 'maped_applies_total',
      help: 'Convergences of the system to a new plan or to removal, by result.',
      type: 'counter',
      samples: [
        { value: counters.ok, labels: { result: 'ok' } },
        { value: counters.failed, labels: { result: 'failed' } },
      ],
    },
    { name: 'maped_commands_total', help: 'State-changing ifconfig, route and pfctl commands run by applies.', type: 'counter', samples: [{ value: counters.commands }] },
    { name: 'maped_last_apply_duration_seconds', help: 'How long the last apply took.', type: 'gauge', samples: one(counters.lastDurationSeconds) },
    { name: 'maped_last_apply_timestamp_seconds', help: 'When the last apply ended, in seconds since the epoch.', type: 'gauge', samples: one(seconds(status.lastApply?.at)) },
    { name: 'maped_lease_expiry_timestamp_seconds', help: 'When the delegated prefix lease expires, in seconds since the epoch.', type: 'gauge', samples: one(seconds(status.lease?.expiresAt)) },
    { name: 'maped_warnings', help: 'Warnings shown by mapedctl status.', type: 'gauge', samples: [{ value: status.warnings.length }] },
    {
      name: 'maped_forwards',
      help: 'Forwards of maped.conf by whether they are in force (their ports in the port set).',
      type: 'gauge',
      samples: [
        { value: status.forwards.filter((f) => f.active).length, labels: { state: 'active' } },
        { value: status.forwards.filter((f) => !f.active).length, labels: { state: 'inactive' } },
      ],
    },
    { name: 'maped_port_set_ports', help: 'Ports in the port set of the MAP-E address.', type: 'gauge', samples: one(status.map?.portCount ?? null) },
    { name: 'maped_ports_in_use', help: 'Ports of the set held by pf states at the last sample (mapedctl show usage).', type: 'gauge', samples: one(usage?.inUse ?? null) },
    { name: 'maped_ports_in_use_peak', help: 'The most ports of the set in use at one sample since the port set took effect.', type: 'gauge', samples: one(usage?.peak ?? null) },
    { name: 'maped_port_usage_timestamp_seconds', help: 'When the port usage was last sampled, in seconds since the epoch.', type: 'gauge', samples: one(seconds(usage?.at)) },
    {
      name: 'maped_provisioning_fetches_total',
      help: 'HB46PP provisioning fetches (DNS discovery and HTTP request), by result (mapedctl show provisioning).',
      type: 'counter',
      samples: fetches === null ? [] : FETCH_OUTCOMES.map((result) => ({ value: fetches.byOutcome[result], labels: { result } })),
    },
    {
      name: 'maped_provisioning_last_success_timestamp_seconds',
      help: 'When an HB46PP fetch last gave valid data, in seconds since the epoch.',
      type: 'gauge',
      samples: one(fetches?.lastValidAt == null ? null : fetches.lastValidAt / 1000),
    },
  ];
}

export interface MetricsPublisherOptions {
  readonly status: () => Status;
  readonly counters: ApplyCounters;
  readonly usage: UsageMonitor;
  readonly log: Logger;
  /** The HB46PP fetch counters while maped.conf has a provision block, else null. */
  readonly provisioning?: () => FetchCounters | null;
}

/** Keeps `<state-dir>/maped.prom` current while metrics are on. */
export class MetricsPublisher {
  private readonly options: MetricsPublisherOptions;
  private path: string | null = null;
  private timer: NodeJS.Timeout | null = null;
  private failureSaid = false;
  /** When the last sample was started (ms since the epoch), to keep to one a minute. */
  private sampledAt = -Infinity;

  constructor(options: MetricsPublisherOptions) {
    this.options = options;
  }

  text(): string {
    const fetches = this.options.provisioning?.() ?? null;
    return renderPrometheusText(metricFamilies(this.options.status(), this.options.counters, this.options.usage.latest(), fetches));
  }

  /** Turns the file on (in `stateDir`) or off (null); on takes a first sample at once. */
  configure(stateDir: string | null): void {
    const path = stateDir === null ? null : join(stateDir, METRICS_FILE);
    if (path === this.path) return;
    this.stop();
    this.path = path;
    if (path === null) return;
    this.timer = setInterval(() => void this.tick(), METRICS_INTERVAL_MS);
    this.timer.unref();
    void this.tick();
  }

  stop(): void {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
  }

  /**
   * After an apply: rewrites the file, with a usage sample first when the
   * port set in force has none yet (a new address or set) and the last
   * sample is a minute old. A no-op while metrics are off.
   */
  afterApply(): void {
    if (this.path === null) return;
    if (this.options.usage.latest() === null && Date.now() - this.sampledAt >= METRICS_INTERVAL_MS) void this.tick();
    else this.publish();
  }

  /** Rewrites the file; a no-op while metrics are off. */
  publish(): void {
    if (this.path === null) return;
    try {
      // state-dir/child: made by the privileged parent for its child, or here the first time.
      mkdirSync(dirname(this.path), { recursive: true, mode: 0o755 });
      replaceFile(this.path, this.text(), { mode: 0o644 });
      this.failureSaid = false;
    } catch (e) {
      // Said once until a write succeeds again: a full disk must not flood the log.
      if (!this.failureSaid) this.options.log.warn(`metrics: cannot write ${this.path}: ${(e as Error).message}`);
      this.failureSaid = true;
    }
  }

  private async tick(): Promise<void> {
    // No address, no usage: the rest of the metrics are still worth writing.
    if (this.options.status().map !== null) {
      this.sampledAt = Date.now();
      const sampled = await this.options.usage.sample();
      if (!sampled.ok) this.options.log.debug(`metrics: port usage not sampled: ${sampled.error}`);
    }
    this.publish();
  }
}
