/**
 * The daemon's side of HB46PP: turns `provision hb46pp { … }` into the
 * client's settings, filling in what depends on the system (the vendorid's
 * OUI comes from the WAN's link-layer address, v6mig-prov 1.1 §3.3), and
 * starts the client. The client itself (src/provision) knows nothing of
 * OpenBSD.
 */
import { runTool } from '../apply/tool-process.js';
import type { Logger } from 'pino';
import { childFilesDir, type MapedConfig } from '../config/index.js';
import { parseLladdr, toolEnvironment } from '../openbsd/index.js';
import { CAPABILITY, Hb46ppClient, vendoridFromLladdr, versionParameter, type FetchCounters, type Hb46ppSettings } from '../provision/index.js';
import { VERSION } from '../version.js';

/** Without a readable lladdr the OUI is unknown: all zeros says so plainly. */
const UNKNOWN_VENDORID = '000000-maped';

async function defaultVendorid(config: MapedConfig, log: Logger): Promise<string> {
  const run = await runTool(config.tools.ifconfig, [config.wan], {
    timeoutMs: 10_000,
    maxOutput: 1024 * 1024,
    env: toolEnvironment(process.env.PATH),
  });
  const lladdr = run.ok ? parseLladdr(run.stdout) : null;
  const vendorid = lladdr === null ? null : vendoridFromLladdr(lladdr);
  if (vendorid === null || !vendorid.ok) {
    log.warn(`HB46PP: no link-layer address on ${config.wan}; vendorid ${UNKNOWN_VENDORID} (set vendorid in maped.conf)`);
    return UNKNOWN_VENDORID;
  }
  return vendorid.value;
}

export async function hb46ppSettings(config: MapedConfig, log: Logger): Promise<Hb46ppSettings | null> {
  const p = config.provision;
  if (p === null) return null;
  return {
    url: p.url,
    dns: p.dns,
    identity: {
      vendorid: p.vendorid ?? (await defaultVendorid(config, log)),
      product: p.product,
      version: versionParameter(VERSION),
      capability: CAPABILITY,
    },
    credentials: p.user !== null && p.password !== null ? { user: p.user, password: p.password, serverName: p.serverName } : null,
    caFile: p.caFile,
  };
}

export function startHb46pp(settings: Hb46ppSettings, config: MapedConfig, log: Logger, onChange: () => void, counters?: FetchCounters): Hb46ppClient {
  const client = new Hb46ppClient({
    settings,
    ...(counters === undefined ? {} : { counters }),
    stateDir: childFilesDir(config.stateDir),
    onChange,
    log: { info: (m) => log.info(m), warn: (m) => log.warn(m) },
    userAgent: `maped/${VERSION}`,
  });
  client.start();
  return client;
}
