#!/usr/bin/env node
/**
 * maped(8): the MAP-E Customer Edge daemon.
 *
 *   maped [-dnv] [-f file] [-s socket] [--dry-run] [--log-json]
 */
import type { Server } from 'node:net';
import { dirname, extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { killRunningTools } from '../apply/tool-process.js';
import { DEFAULT_CONFIG_PATH, loadConfig, printConfig, type MapedConfig } from '../config/index.js';
import { DEFAULT_SOCKET_PATH } from '../control/protocol.js';
import { removeOwnSocket, socketPathProblem, stopControlServer } from '../control/server.js';
import { programProblem, startInBackground, takeReadiness } from '../daemon/detach.js';
import { createLogger } from '../daemon/log.js';
import { createSyslogSink } from '../daemon/syslog-sink.js';
import { acquirePidFile, releasePidFile } from '../daemon/pid-file.js';
import { VERSION } from '../version.js';
import type { Daemon, DaemonStart } from './maped-daemon.js';
import { exitWhenWritten } from './exit.js';
import { parseCommandLine, socketArgument, UsageLineCommand } from './usage-line.js';

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
  .option('-d', 'do not daemonize; log to stderr')
  .option('-n', 'check the configuration file and exit')
  .option('-v', 'verbose; with -n also print the configuration', (_value: string, previous: number) => previous + 1, 0)
  .option('-f <file>', 'configuration file', DEFAULT_CONFIG_PATH)
  .option('-s <socket>', 'control socket', socketArgument, DEFAULT_SOCKET_PATH)
  .option('--dry-run', 'compute and print the plan, run no command')
  .option('--log-json', 'log pino JSON lines instead of sentences')
  .helpOption('-h, --help');

await parseCommandLine(program, process.argv);
const flags = program.opts<Flags>();
const configPath = flags.f ?? DEFAULT_CONFIG_PATH;
const socketPath = flags.s ?? DEFAULT_SOCKET_PATH;
/** Set in the daemon a maped without -d started in the background (src/daemon/detach.ts). */
const readiness = takeReadiness();

/**
 * One line each: a configuration refused for several reasons lists them
 * all. The daemon in the background has no stderr: it tells the launcher,
 * which prints the same lines. Awaited, it never returns: maped exits
 * once the lines are written.
 */
function die(message: string): Promise<never> {
  if (readiness !== null) {
    readiness.failed(message);
    process.exit(1);
  }
  process.stderr.write(message.split('\n').map((line) => `maped: ${line}\n`).join(''));
  return exitWhenWritten(1);
}

const loaded = loadConfig(configPath);
const config: MapedConfig = loaded.ok ? loaded.value : await die(loaded.error);

if (flags.n) {
  if (flags.v > 0) process.stdout.write(printConfig(config));
  process.stderr.write('configuration OK\n');
  await exitWhenWritten(0);
}

/** --dry-run without -d: one plan printed, no daemon. */
const oneShot = flags.dryRun === true && !flags.d;
if (!oneShot) {
  const socketProblem = socketPathProblem(socketPath);
  if (socketProblem !== null) await die(`control socket ${socketPath}: ${socketProblem}`);
}

// Without -d maped puts itself in the background once what can be checked
// here is checked, and returns when the daemon is up or says why it is not
// (maped(8) -d).
if (!flags.d && !oneShot && readiness === null) {
  // In the background stderr is /dev/null: a logger that cannot run would leave maped mute.
  const loggerProblem = programProblem(config.tools.logger);
  if (loggerProblem !== null) await die(`tool logger ${config.tools.logger}: ${loggerProblem}; without -d maped logs through it`);
  const started = await startInBackground({ execPath: process.execPath, execArgv: process.execArgv, args: process.argv.slice(1), env: process.env });
  await (started.ok ? exitWhenWritten(0) : die(started.error));
}

// The daemon logs to syslogd(8) at each level's priority; -d, and the one-shot
// --dry-run an admin runs by hand, log to stderr (maped(8) -d).
const syslog = flags.d || oneShot ? undefined : createSyslogSink(config.tools.logger);
const log = createLogger({ verbose: flags.v > 0, json: flags.logJson === true, ...(syslog === undefined ? {} : { syslog }) });

if (oneShot) {
  // One look, one plan, printed; nothing runs. The README's first command.
  const { dryRunOnce } = await import('./maped-one-process.js');
  const text = await dryRunOnce(config, log);
  process.stdout.write(text.report);
  await exitWhenWritten(text.ok ? 0 : 1);
}

const acquired = acquirePidFile(config.stateDir);
const pidFile = acquired.ok ? acquired.value : await die(acquired.error);
process.title = 'maped';

/** Whether the launcher has been told the daemon is up. */
let announced = false;
if (readiness !== null) {
  // The daemon in the background has /dev/null for stderr, where node would
  // print a crash: it is told to the launcher before "ready", and logged at
  // crit (syslog) after it.
  process.on('uncaughtException', (e) => {
    releasePidFile(pidFile);
    if (!announced) return void die(`crashed: ${e.message}`);
    removeOwnSocket(socketPath);
    log.fatal(`crashed: ${e.stack ?? e.message}`);
    const exit = (): never => process.exit(1);
    setTimeout(exit, 2000).unref();
    void syslog?.close().then(exit);
  });
}

/**
 * How long a stop may take. An apply in flight is let finish for
 * STOP_GRACE_MS (healthy tools answer in milliseconds); a tool still running
 * then hangs, and is killed with its process group, so that the apply fails
 * and rolls back to the last good state before maped exits. Past the
 * deadline (a rollback that hangs too) maped kills what is left and exits
 * anyway, so that rc.d(8) sees it gone. The tools run in this process in
 * both modes (in two, for the child), so they are killed from here.
 */
const STOP_GRACE_MS = 1000;
const SHUTDOWN_DEADLINE_MS = 4000;

/**
 * Started as root (and not for a dry run), maped splits in two
 * (docs/architecture.md §5). MAPED_PRIVSEP=split splits without the uid
 * change, MAPED_PRIVSEP=one keeps one process even as root (maped(8)
 * ENVIRONMENT). Each way is a module of its own, loaded only when maped runs
 * that way: the privileged parent loads none of the daemon core.
 */
const splitOnly = process.env.MAPED_PRIVSEP === 'split';
const oneProcess = process.env.MAPED_PRIVSEP === 'one';
const start: DaemonStart = {
  configPath,
  config,
  socketPath,
  log,
  verbose: flags.v > 0,
  json: flags.logJson === true,
  syslog: syslog === undefined ? null : config.tools.logger,
};
async function startDaemon(): Promise<{ daemon: Daemon; server: Server }> {
  if (!flags.dryRun && !oneProcess && (splitOnly || process.getuid?.() === 0)) {
    // The child's entry is this file's sibling, found from here: the module
    // that starts it may be a chunk elsewhere in the bundle.
    const here = fileURLToPath(import.meta.url);
    const { startPrivsep } = await import('./maped-privsep.js');
    return startPrivsep(start, {
      splitOnly,
      childEntry: join(dirname(here), `maped-child${extname(here)}`),
      shutdownDeadlineMs: SHUTDOWN_DEADLINE_MS,
    });
  }
  const { startOneProcess } = await import('./maped-one-process.js');
  return startOneProcess(start, flags.dryRun === true);
}
const { daemon, server } = await startDaemon().catch((e: unknown) => {
  releasePidFile(pidFile);
  return die((e as Error).message);
});

let stopping = false;
async function shutdown(signal: string): Promise<void> {
  if (stopping) return;
  stopping = true;
  const started = performance.now();
  const onExit = daemon.config().onExit;
  log.info(`${signal}: stopping (on-exit ${onExit})`);
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
  await daemon.stop(onExit === 'teardown', () => clearTimeout(grace));
  await stopControlServer(server, socketPath, { waitForConnections: daemon.waitForConnections });
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
  daemon.reload();
});

// The pid file is written and the control socket listens: a launcher may return.
readiness?.ready();
announced = true;
await daemon.start();
