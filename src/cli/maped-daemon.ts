/**
 * The running maped as maped.ts drives it, whichever way it runs: in one
 * process (maped-one-process.ts) or as a privileged parent with an
 * unprivileged child (maped-privsep.ts, docs/architecture.md §5). maped.ts
 * loads only the module of the way it runs, so that the privileged parent
 * never loads the daemon core its child runs (scripts/bundle.mjs).
 */
import type { Server } from 'node:net';
import type { Logger } from 'pino';
import type { MapedConfig } from '../config/index.js';

export interface Daemon {
  /** The first convergence (in one process) or the child started (in two). */
  start(): Promise<void>;
  /** SIGHUP. */
  reload(): void;
  /**
   * SIGTERM and SIGINT: what on-exit asks for; the caller exits after it.
   * `inFlightDone` is called once the apply in flight at the signal is over.
   */
  stop(teardown: boolean, inFlightDone: () => void): Promise<void>;
  /** The configuration in force (a reload may have replaced the first). */
  config(): MapedConfig;
  /**
   * Whether stopControlServer waits for the control connections still open:
   * not when another process answered them (the privsep child, stopped by then).
   */
  readonly waitForConnections: boolean;
}

/** What maped.ts knows when it starts the daemon. */
export interface DaemonStart {
  readonly configPath: string;
  readonly config: MapedConfig;
  readonly socketPath: string;
  readonly log: Logger;
  readonly verbose: boolean;
  readonly json: boolean;
  /** logger(1)'s path when maped logs to syslogd(8); null: stderr. */
  readonly syslog: string | null;
}

/** The daemon and its listening control socket; a failure throws with one line saying why. */
export interface StartedDaemon {
  readonly daemon: Daemon;
  readonly server: Server;
}
