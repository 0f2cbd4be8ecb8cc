/**
 * maped in one process: the daemon core (src/daemon/daemon-core.ts) with the
 * tools run here, as maped runs unprivileged, with --dry-run, or with
 * MAPED_PRIVSEP=one (maped(8) ENVIRONMENT); and the one-shot --dry-run
 * report. Loaded by maped.ts only when it does not split.
 */
import { loadConfig, type MapedConfig } from '../config/index.js';
import { startControlServer } from '../control/server.js';
import { startDaemonCore } from '../daemon/daemon-core.js';
import { dryRunReport } from '../daemon/dry-run.js';
import { systemLeaseSources } from '../daemon/lease-reading.js';
import { createOpenBSDDriver } from '../daemon/openbsd-driver.js';
import { followPrefix } from '../daemon/prefix-follower.js';
import type { Logger } from 'pino';
import { VERSION } from '../version.js';
import type { DaemonStart, StartedDaemon } from './maped-daemon.js';

export async function startOneProcess(start: DaemonStart, dryRun: boolean): Promise<StartedDaemon> {
  const { config, log, configPath } = start;
  const core = startDaemonCore({
    config,
    log,
    driver: createOpenBSDDriver(log),
    leaseSources: systemLeaseSources,
    dryRun,
    follow: followPrefix,
    loadConfig: async () => loadConfig(configPath),
  });
  const server = await startControlServer(start.socketPath, core.handle).catch((e: Error) => {
    throw new Error(`control socket ${start.socketPath}: ${e.message}`);
  });
  return {
    server,
    daemon: {
      async start() {
        log.info(`maped ${VERSION} starting: wan ${config.wan}, lease ${config.leaseFile}${dryRun ? ', dry run' : ''}`);
        await core.start();
      },
      reload: () => void Promise.resolve(core.handle('reload')).catch(() => undefined),
      stop: (teardown, inFlightDone) => core.stop(teardown, inFlightDone),
      config: () => core.config(),
      waitForConnections: true,
    },
  };
}

/** `maped --dry-run` without -d: one look, one plan, for a person; nothing runs. */
export function dryRunOnce(config: MapedConfig, log: Logger): Promise<{ ok: boolean; report: string }> {
  return dryRunReport(config, systemLeaseSources, createOpenBSDDriver(log));
}
