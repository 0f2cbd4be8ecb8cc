/**
 * Everything of the daemon that needs no privilege (docs/architecture.md
 * §5): the engine, port usage, metrics, HB46PP provisioning and the answers
 * to the control socket's requests. maped runs it in its one process, or in
 * the unprivileged child of a privilege-separated maped, where the tools,
 * the lease file and the ownership record are reached through the parent
 * (src/daemon/privsep-child.ts).
 */
import type { Logger } from 'pino';
import { childFilesDir, type MapedConfig } from '../config/index.js';
import type { CommandHandler } from '../control/server.js';
import { newFetchCounters, type Hb46ppClient } from '../provision/index.js';
import type { Result } from '../map/index.js';
import type { Driver } from './driver.js';
import { Engine } from './engine.js';
import type { LeaseSources } from './lease-reading.js';
import { countingDriver, MetricsPublisher, newApplyCounters } from './metrics.js';
import { memoryUseLine } from './memory-use.js';
import type { followPrefix } from './prefix-follower.js';
import { followedBy, type Follower } from './prefix-source.js';
import { hb46ppSettings, startHb46pp } from './provisioning.js';
import { UsageMonitor } from './usage-monitor.js';

export interface DaemonCoreOptions {
  readonly config: MapedConfig;
  readonly log: Logger;
  readonly driver: Driver;
  readonly leaseSources: LeaseSources;
  readonly dryRun: boolean;
  /** Reads maped.conf again (mapedctl reload): the configuration, or why not (a line each). */
  readonly loadConfig: () => Promise<Result<MapedConfig>>;
  /**
   * How this process follows the prefix itself (prefix-follower.ts); none in
   * the child, whose privileged parent follows it. Passed in, so that a child
   * does not load the lease watch and route monitor it never runs.
   */
  readonly follow: typeof followPrefix | null;
  /** The pid status shows (maped's: the privileged parent's when there is one); default this process. */
  readonly pid?: number;
  /** Which of maped's processes runs the core, for its memory line (memory-use.ts); default "maped". */
  readonly who?: string;
  /** mapedctl log verbose|brief changed the level: the privileged parent follows it. */
  readonly logLevelChanged?: (verbose: boolean) => void;
}

export interface DaemonCore {
  /** The control socket's requests. */
  readonly handle: CommandHandler;
  /** Something the prefix depends on changed. */
  wake(why: string): void;
  /** The first convergence; resolves when it has run. */
  start(): Promise<void>;
  /** A configuration read and checked elsewhere (SIGHUP in the parent) takes effect. */
  apply(next: MapedConfig): Promise<void>;
  /** What on-exit asks for; the caller exits after it. `inFlightDone`: the apply in flight at the call is over. */
  stop(teardown: boolean, inFlightDone?: () => void): Promise<void>;
  config(): MapedConfig;
}

export function startDaemonCore(options: DaemonCoreOptions): DaemonCore {
  const { log, driver } = options;
  let config = options.config;
  const counters = newApplyCounters();
  // Built before the engine it reads from; `publish` is only called once both exist.
  let metrics: MetricsPublisher | null = null;
  const engine = new Engine({
    config,
    driver: countingDriver(driver, counters, () => metrics?.afterApply()),
    log,
    leaseSources: options.leaseSources,
    dryRun: options.dryRun,
    ...(options.pid === undefined ? {} : { pid: options.pid }),
  });
  const wake = (why: string): void => void engine.wake(why);
  const usage = new UsageMonitor({
    subject: () => {
      // An address that is not shared (ipip, MAP-E with psid-len 0) has every
      // port; DS-Lite has no address of its own and so no ports to count.
      const map = engine.status().map;
      if (map === null) return null;
      if (map.portSets.length > 0) return { ipv4: map.ipv4, portSets: map.portSets };
      return map.portCount === 65536 ? { ipv4: map.ipv4, portSets: [[0, 65535]] } : null;
    },
    readStates: () => driver.readStates?.(config) ?? Promise.resolve({ ok: false, error: 'pf states cannot be read' }),
    log,
  });
  /** The HB46PP client, while maped.conf has a provision block; it wakes the engine when its data changes. */
  let provisioner: Hb46ppClient | null = null;
  /** HB46PP fetches, counted across the clients that reloads replace. */
  const fetches = newFetchCounters();
  metrics = new MetricsPublisher({ status: () => engine.status(), counters, usage, log, provisioning: () => (provisioner === null ? null : fetches) });
  metrics.configure(config.metrics ? childFilesDir(config.stateDir) : null);

  /** Set by stop(): no client is started after it (an apply in flight at the call may still get that far). */
  let stopping = false;

  async function startProvisioning(next: MapedConfig): Promise<Hb46ppClient | null> {
    const settings = await hb46ppSettings(next, log);
    if (settings === null || stopping) return null;
    return startHb46pp(settings, next, log, () => wake('provisioning data changed'), fetches);
  }

  /**
   * Reloads and applies, one at a time in the order asked: two that
   * overlapped would both stop the same client and both start one, and the
   * first of those would run on unseen (double requests, double counts).
   */
  let queue: Promise<unknown> = Promise.resolve();
  function inTurn<T>(task: () => Promise<T>): Promise<T> {
    const turn = queue.then(task);
    queue = turn.catch(() => undefined);
    return turn;
  }

  const follow = options.follow;
  let watcher: Follower | null = follow === null ? null : follow(config, wake, log);

  async function applyNow(next: MapedConfig): Promise<void> {
    if (stopping) return;
    if (follow !== null && watcher !== null && followedBy(next) !== followedBy(config)) {
      await watcher.close();
      watcher = follow(next, wake, log);
    }
    const provisionChanged = JSON.stringify(next.provision) !== JSON.stringify(config.provision) || next.stateDir !== config.stateDir;
    config = next;
    metrics?.configure(config.metrics ? childFilesDir(config.stateDir) : null);
    if (provisionChanged) {
      // The client replaced is the one running now; its stop aborts a fetch in flight rather than wait for it.
      const replaced = provisioner;
      await replaced?.stop();
      const started = await startProvisioning(next);
      if (stopping) {
        await started?.stop();
        return;
      }
      provisioner = started;
      await engine.reload(next, started);
    } else {
      await engine.reload(next);
    }
  }

  const apply = (next: MapedConfig): Promise<void> => inTurn(() => applyNow(next));

  const reload = (): Promise<string> => inTurn(reloadNow);

  async function reloadNow(): Promise<string> {
    const next = await options.loadConfig();
    if (!next.ok) {
      const [first, ...more] = next.error.split('\n');
      const summary = `${first}${more.length === 0 ? '' : ` (and ${more.length} more: maped -n shows them)`}`;
      log.warn(`reload refused, keeping the running configuration: ${summary}`);
      throw new Error(`reload refused: ${summary}`);
    }
    await applyNow(next.value);
    return 'configuration reloaded';
  }

  const handle: CommandHandler = async (command) => {
    switch (command) {
      case 'status':
        return engine.status();
      case 'show rules':
        return engine.showRules();
      case 'show ports':
        return engine.showPorts();
      case 'show usage': {
        const sampled = await usage.sample();
        if (!sampled.ok) throw new Error(sampled.error);
        metrics?.publish();
        return sampled.value;
      }
      case 'metrics':
        return { text: metrics?.text() ?? '' };
      case 'show provisioning':
        return { provisioning: provisioner?.status() ?? null };
      case 'provision refresh':
      case 'provision forget': {
        if (provisioner === null) throw new Error('no provision block in maped.conf');
        // Answered at once; the request goes on in the background, bounded by its own timeouts.
        void (command === 'provision refresh' ? provisioner.refresh('mapedctl provision refresh') : provisioner.forget());
        return { message: command === 'provision refresh' ? 'provisioning refresh started' : 'provisioning data forgotten; asking again' };
      }
      case 'reload':
        return { message: await reload() };
      case 'log verbose':
        log.level = 'debug';
        log.debug(memoryUseLine(options.who ?? 'maped'));
        options.logLevelChanged?.(true);
        return { message: 'logging verbose' };
      case 'log brief':
        log.level = 'info';
        options.logLevelChanged?.(false);
        return { message: 'logging brief' };
    }
  };

  return {
    handle,
    wake,
    async start() {
      await watcher?.ready;
      // In turn with the reloads asked for meanwhile (the control socket is open already);
      // one of them that changed the provision block has started the client already.
      await inTurn(async () => {
        if (provisioner !== null) return;
        provisioner = await startProvisioning(config);
        if (provisioner !== null) await engine.reload(config, provisioner);
      });
      await engine.wake('start');
    },
    apply,
    async stop(teardown, inFlightDone) {
      stopping = true;
      await watcher?.close();
      metrics?.stop();
      // Aborts the client's lookup or request: no network wait before the engine stops (and tears down).
      await provisioner?.stop();
      await engine.stop(teardown, inFlightDone);
    },
    config: () => config,
  };
}
