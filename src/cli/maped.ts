#!/usr/bin/env node
/**
 * maped(8): the MAP-E Customer Edge daemon.
 *
 *   maped [-dnv] [-f file] [-s socket] [--dry-run] [--log-json]
 */
import type { Server } from 'node:net';
import { killRunningTools } from '../apply/tool-process.js';
import { DEFAULT_CONFIG_PATH, loadConfig, printConfig, type MapedConfig } from '../config/index.js';
import { DEFAULT_SOCKET_PATH } from '../control/protocol.js';
import { removeOwnSocket, socketPathProblem, startControlServer, stopControlServer } from '../control/server.js';
import { Engine } from '../daemon/engine.js';
import { followLease } from '../daemon/lease-follower.js';
import { monitorRoutes } from '../daemon/route-monitor.js';
import { createLogger } from '../daemon/log.js';
import { createSyslogSink } from '../daemon/syslog-sink.js';
import { createOpenBSDDriver } from '../daemon/openbsd-driver.js';
import { acquirePidFile, releasePidFile } from '../daemon/pid-file.js';
import { systemLeaseSources } from '../daemon/lease-reading.js';
import { hb46ppSettings, startHb46pp } from '../daemon/provisioning.js';
import type { Hb46ppClient } from '../provision/index.js';
import { dryRunReport } from '../daemon/dry-run.js';
import { countingDriver, MetricsPublisher, newApplyCounters } from '../daemon/metrics.js';
import { UsageMonitor } from '../daemon/usage-monitor.js';
import { VERSION } from '../version.js';
import { UsageLineCommand } from './usage-line.js';

interface Flags {
  d?: boolean;
  n?: boolean;
  v: number;
  f?: string;
  s?: string;
  dryRun?: boolean;
  logJson?: boolean;
}

const program = new UsageLineCommand('maped')
  .usage('[-dnv] [-f file] [-s socket] [--dry-run] [--log-json]')
  .description('MAP-E Customer Edge daemon (RFC 7597, RFC 7598)')
  .version(VERSION, '-V, --version')
  .option('-d', 'do not daemonize: stay in the foreground, log to stderr')
  .option('-n', 'check the configuration file and exit')
  .option('-v', 'verbose; with -n also print the configuration', (_value: string, previous: number) => previous + 1, 0)
  .option('-f <file>', 'configuration file', DEFAULT_CONFIG_PATH)
  .option('-s <socket>', 'control socket', DEFAULT_SOCKET_PATH)
  .option('--dry-run', 'compute and print the plan, run no command')
  .option('--log-json', 'log pino JSON lines instead of sentences')
  .helpOption('-h, --help');

program.parse(process.argv);
const flags = program.opts<Flags>();
const configPath = flags.f ?? DEFAULT_CONFIG_PATH;
const socketPath = flags.s ?? DEFAULT_SOCKET_PATH;

/** One line each: a configuration refused for several reasons lists them all. */
function die(message: string): never {
  process.stderr.write(message.split('\n').map((line) => `maped: ${line}\n`).join(''));
  process.exit(1);
}

const loaded = loadConfig(configPath);
if (!loaded.ok) die(loaded.error);
let config: MapedConfig = loaded.value;

if (flags.n) {
  if (flags.v > 0) process.stdout.write(printConfig(config));
  process.stderr.write('configuration OK\n');
  process.exit(0);
}

// The daemon logs to syslogd(8) at each level's priority; -d, and the one-shot
// --dry-run an admin runs by hand, log to stderr (maped(8) -d).
const syslog = flags.d || flags.dryRun ? undefined : createSyslogSink(config.tools.logger);
const log = createLogger({ verbose: flags.v > 0, json: flags.logJson === true, ...(syslog === undefined ? {} : { syslog }) });
const driver = createOpenBSDDriver(log);

if (flags.dryRun && !flags.d) {
  // One look, one plan, printed; nothing runs. The README's first command.
  const text = await dryRunReport(config, systemLeaseSources, driver);
  process.stdout.write(text.report);
  process.exit(text.ok ? 0 : 1);
}

const socketProblem = socketPathProblem(socketPath);
if (socketProblem !== null) die(`control socket ${socketPath}: ${socketProblem}`);

const acquired = acquirePidFile(config.stateDir);
if (!acquired.ok) die(acquired.error);
const pidFile = acquired.value;
process.title = 'maped';

const counters = newApplyCounters();
// Built before the engine it reads from; `publish` is only called once both exist.
let metrics: MetricsPublisher | null = null;
const engine = new Engine({
  config,
  driver: countingDriver(driver, counters, () => metrics?.afterApply()),
  log,
  leaseSources: systemLeaseSources,
  dryRun: flags.dryRun === true,
});
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
metrics = new MetricsPublisher({ status: () => engine.status(), counters, usage, log });
metrics.configure(config.metrics ? config.stateDir : null);

/** The HB46PP client, while maped.conf has a provision block; it wakes the engine when its data changes. */
let provisioner: Hb46ppClient | null = null;
async function startProvisioning(next: MapedConfig): Promise<Hb46ppClient | null> {
  const settings = await hb46ppSettings(next, log);
  if (settings === null) return null;
  return startHb46pp(settings, next, log, () => void engine.wake('provisioning data changed'));
}

/** `prefix autoconf`: the look that backs up the routing socket, never more often than this. */
const AUTOCONF_POLL_MS = 60_000;

/**
 * What tells the engine the prefix may have changed: the lease file's
 * directory watch, or with `prefix autoconf` the routing socket (route -n
 * monitor) and, in case a message is missed, a look once a minute.
 */
function follow(next: MapedConfig): { ready: Promise<void>; close(): Promise<void> } {
  if (next.prefix === 'lease') return followLease(next.leaseFile, () => void engine.wake('lease file changed'), log);
  const monitor = monitorRoutes(next.tools.route, next.wan, () => void engine.wake(`address change on ${next.wan}`), log);
  const poll = setInterval(() => void engine.wake('autoconf look'), AUTOCONF_POLL_MS);
  poll.unref();
  return {
    ready: Promise.resolve(),
    async close() {
      clearInterval(poll);
      await monitor.close();
    },
  };
}
const followed = (c: MapedConfig): string => JSON.stringify([c.prefix, c.leaseFile, c.wan, c.tools.route]);
let watcher = follow(config);

async function reload(): Promise<string> {
  const next = loadConfig(configPath);
  if (!next.ok) {
    const [first, ...more] = next.error.split('\n');
    const summary = `${first}${more.length === 0 ? '' : ` (and ${more.length} more: maped -n shows them)`}`;
    log.warn(`reload refused, keeping the running configuration: ${summary}`);
    throw new Error(`reload refused: ${summary}`);
  }
  if (followed(next.value) !== followed(config)) {
    await watcher.close();
    watcher = follow(next.value);
  }
  const provisionChanged = JSON.stringify(next.value.provision) !== JSON.stringify(config.provision) || next.value.stateDir !== config.stateDir;
  config = next.value;
  metrics?.configure(config.metrics ? config.stateDir : null);
  if (provisionChanged) {
    await provisioner?.stop();
    provisioner = await startProvisioning(config);
    await engine.reload(config, provisioner);
  } else {
    await engine.reload(config);
  }
  return 'configuration reloaded';
}

let server: Server;
try {
  server = await startControlServer(socketPath, async (command) => {
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
        return { message: 'logging verbose' };
      case 'log brief':
        log.level = 'info';
        return { message: 'logging brief' };
    }
  });
} catch (e) {
  releasePidFile(pidFile);
  die(`control socket ${socketPath}: ${(e as Error).message}`);
}

/**
 * How long a stop may take. An apply in flight is let finish for
 * STOP_GRACE_MS (healthy tools answer in milliseconds); a tool still running
 * then hangs, and is killed with its process group, so that the apply fails
 * and rolls back to the last good state before maped exits. Past the
 * deadline (a rollback that hangs too) maped kills what is left and exits
 * anyway, so that rc.d(8) sees it gone.
 */
const STOP_GRACE_MS = 1000;
const SHUTDOWN_DEADLINE_MS = 4000;

let stopping = false;
async function shutdown(signal: string): Promise<void> {
  if (stopping) return;
  stopping = true;
  const started = performance.now();
  log.info(`${signal}: stopping (on-exit ${config.onExit})`);
  // Only the apply in flight at the signal is cut short, never the on-exit teardown after it.
  const grace = setTimeout(() => {
    const killed = killRunningTools();
    if (killed > 0) log.warn(`${signal}: ${killed} tool runs still going after ${STOP_GRACE_MS} ms killed; rolling back`);
  }, STOP_GRACE_MS).unref();
  setTimeout(() => {
    const killed = killRunningTools();
    log.warn(`${signal}: not stopped within ${SHUTDOWN_DEADLINE_MS / 1000} s; exiting now (${killed} tool runs killed)`);
    removeOwnSocket(socketPath);
    releasePidFile(pidFile);
    process.exit(1);
  }, SHUTDOWN_DEADLINE_MS).unref();
  await watcher.close();
  metrics?.stop();
  await provisioner?.stop();
  await engine.stop(config.onExit === 'teardown', () => clearTimeout(grace));
  await stopControlServer(server, socketPath);
  releasePidFile(pidFile);
  // The daemon's own share of the stop, apart from the process exit (issue: within 200 ms when idle).
  log.info(`${signal}: stopped in ${Math.round(performance.now() - started)} ms`);
  await syslog?.close();
  process.exit(0);
}

process.on('SIGTERM', () => void shutdown('SIGTERM'));
process.on('SIGINT', () => void shutdown('SIGINT'));
process.on('SIGHUP', () => {
  log.info('SIGHUP: reloading configuration');
  reload().catch(() => undefined);
});

log.info(`maped ${VERSION} starting: wan ${config.wan}, lease ${config.leaseFile}${flags.dryRun ? ', dry run' : ''}`);
await watcher.ready;
provisioner = await startProvisioning(config);
if (provisioner !== null) await engine.reload(config, provisioner);
await engine.wake('start');
