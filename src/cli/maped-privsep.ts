/**
 * maped as two processes (docs/architecture.md §5): this process stays root
 * and only reads maped.conf, follows and reads the lease file, runs checked
 * commands and keeps the ownership record; a child under `user` does
 * everything else. Loaded by maped.ts only when it splits.
 */
import { listenControlSocket } from '../control/server.js';
import { childCredentials, PrivsepParent } from '../daemon/privsep-parent.js';
import { VERSION } from '../version.js';
import type { DaemonStart, StartedDaemon } from './maped-daemon.js';

export async function startPrivsep(
  start: DaemonStart,
  options: {
    /** MAPED_PRIVSEP=split: the split without the uid change. */
    readonly splitOnly: boolean;
    /** The child's entry file, beside maped's own (.ts under tsx, .js built). */
    readonly childEntry: string;
    /** Of the whole stop: the child is given it less a margin for its teardown, run through this process. */
    readonly shutdownDeadlineMs: number;
  },
): Promise<StartedDaemon> {
  const { config, log, configPath } = start;
  const credentials = childCredentials(config, process.getuid?.(), options.splitOnly);
  if (!credentials.ok) throw new Error(credentials.error);
  const parent = new PrivsepParent({
    configPath,
    config,
    log,
    childEntry: options.childEntry,
    childArgs: { configPath, verbose: start.verbose, json: start.json, syslog: start.syslog },
    credentials: credentials.value,
  });
  const server = await listenControlSocket(start.socketPath, (socket) => parent.connection(socket)).catch((e: Error) => {
    throw new Error(`control socket ${start.socketPath}: ${e.message}`);
  });
  return {
    server,
    daemon: {
      async start() {
        log.info(`maped ${VERSION} starting: wan ${config.wan}, lease ${config.leaseFile}; the unprivileged part as ${credentials.value?.user ?? 'this user'}`);
        parent.start();
      },
      reload: () => parent.reload(),
      stop: (teardown, inFlightDone) => parent.stop(teardown, options.shutdownDeadlineMs - 500, inFlightDone),
      config: () => parent.currentConfig(),
      waitForConnections: false,
    },
  };
}
