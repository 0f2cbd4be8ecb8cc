/**
 * Port usage over time: samples pf's state table when asked (`mapedctl show
 * usage`, the once-a-minute metrics tick), keeps the peak, and logs one
 * warning each time usage rises above 80 % of the port set.
 *
 * Nothing here polls by itself: whoever wants a sample asks for one. The
 * peak and the warning belong to one port set; a new address or set starts
 * them afresh.
 */
import type { Logger } from 'pino';
import { err, ok, shown, type PortRange, type Result } from '../map/index.js';
import { portUsage, usageCrossing, USAGE_WARN_FRACTION, type PortUsage, type StateListing } from '../openbsd/index.js';

/** What `show usage --json` answers (mapedctl(8)). */
export interface UsageReport extends PortUsage {
  readonly at: string;
  readonly peak: number;
}

export interface UsageSubject {
  readonly ipv4: string;
  readonly portSets: readonly PortRange[];
}

export interface UsageMonitorOptions {
  /** The MAP-E address and port set in force, or null when there is none (or no port set to speak of). */
  readonly subject: () => UsageSubject | null;
  readonly readStates: () => Promise<Result<StateListing>>;
  readonly log: Logger;
  readonly now?: () => Date;
}

export class UsageMonitor {
  private readonly options: UsageMonitorOptions;
  private subjectKey: string | null = null;
  private peak = 0;
  private above = false;
  private last: UsageReport | null = null;
  private sampling: Promise<Result<UsageReport>> | null = null;
  private unknownLinesSaid = false;

  constructor(options: UsageMonitorOptions) {
    this.options = options;
  }

  /** The latest sample, if it still describes the port set in force. */
  latest(): UsageReport | null {
    const subject = this.options.subject();
    return subject !== null && this.last !== null && keyOf(subject) === this.subjectKey ? this.last : null;
  }

  /** Reads the state table now; concurrent callers share one reading. */
  sample(): Promise<Result<UsageReport>> {
    this.sampling ??= this.sampleOnce().finally(() => {
      this.sampling = null;
    });
    return this.sampling;
  }

  private async sampleOnce(): Promise<Result<UsageReport>> {
    const subject = this.options.subject();
    if (subject === null) return err('no IPv4 address with a port set is in use: no port usage to show');
    const read = await this.options.readStates();
    if (!read.ok) return err(read.error);
    if (read.value.unrecognisedCount > 0 && !this.unknownLinesSaid) {
      this.unknownLinesSaid = true;
      this.options.log.warn(`pfctl -ss: ${read.value.unrecognisedCount} lines not understood and not counted, e.g. "${shown(read.value.unrecognised[0] ?? '')}"`);
    }
    // The set may have changed while pfctl ran: count against the one in force now.
    const now = this.options.subject();
    if (now === null || keyOf(now) !== keyOf(subject)) return err('the port set changed while reading pf states; ask again');
    const key = keyOf(subject);
    if (key !== this.subjectKey) {
      this.subjectKey = key;
      this.peak = 0;
      this.above = false;
    }
    const usage = portUsage(read.value.states, subject.ipv4, subject.portSets);
    this.peak = Math.max(this.peak, usage.inUse);
    const crossing = usageCrossing(this.above, usage);
    this.above = crossing.above;
    if (crossing.warn) {
      this.options.log.warn(
        `port usage above ${USAGE_WARN_FRACTION * 100} %: ${usage.inUse} of ${usage.total} ports of ${usage.ipv4} in use; new connections may fail to find a source port`,
      );
    }
    const report: UsageReport = { at: (this.options.now?.() ?? new Date()).toISOString(), ...usage, peak: this.peak };
    this.last = report;
    return ok(report);
  }
}

function keyOf(subject: UsageSubject): string {
  return `${subject.ipv4} ${subject.portSets.map(([a, b]) => `${a}-${b}`).join(',')}`;
}
