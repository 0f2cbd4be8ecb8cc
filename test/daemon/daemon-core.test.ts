/**
 * The daemon core (src/daemon/daemon-core.ts) with its HB46PP client against
 * a provisioning server on ::1 started here, a driver that does nothing, and no
 * lease: reloads that change the provision block replace the client one at a
 * time, none starts one after stop, and neither a reload nor stop waits on a
 * slow server.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { MapedConfig } from '../../src/config/index.js';
import { startDaemonCore, type DaemonCore } from '../../src/daemon/daemon-core.js';
import type { Driver } from '../../src/daemon/driver.js';
import { ok } from '../../src/map/index.js';
import { configFrom } from '../support/config.js';
import { V6PLUS_REPLY } from '../provision/v6plus-reply.js';

let server: ReturnType<typeof createServer>;
let port = 0;
let handler: (req: IncomingMessage, res: ServerResponse) => void;
const paths: string[] = [];
let dir: string;
let core: DaemonCore | null = null;

beforeAll(async () => {
  server = createServer((req, res) => {
    paths.push(new URL(req.url ?? '/', 'http://x').pathname);
    handler(req, res);
  });
  await new Promise<void>((resolve) => server.listen(0, '::1', resolve));
  port = (server.address() as AddressInfo).port;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'maped-core-'));
  paths.length = 0;
  handler = (_req, res) => {
    res.writeHead(200, { 'Content-Type': 'application/json' });
    res.end(JSON.stringify(V6PLUS_REPLY));
  };
});

afterEach(async () => {
  await core?.stop(false);
  core = null;
  server.closeAllConnections();
  rmSync(dir, { recursive: true, force: true });
});

/** maped.conf with a provision block asking `/<path>` of the server here (vendorid given: no ifconfig to run). */
const provisioned = (path: string): MapedConfig =>
  configFrom(`wan em0\nstate-dir "${join(dir, 'state')}"\nprovision hb46pp {\n\turl "http://[::1]:${port}/${path}"\n\tvendorid acde48\n}\n`);

const driver: Driver = {
  async converge() {
    return { ok: true, commands: [], anchorText: null, error: null, mtu: null, portset: null, warnings: [] };
  },
};

function startCore(config: MapedConfig, next: () => MapedConfig = () => config): DaemonCore {
  core = startDaemonCore({
    config,
    log: pino({ level: 'silent' }),
    driver,
    leaseSources: { readFile: async () => null, leasectl: async () => null },
    dryRun: false,
    loadConfig: async () => ok(next()),
    follow: null,
  });
  return core;
}

/** Polls `done` every 10 ms, for at most 5 s. */
async function until(done: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 5000;
  while (!done()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; requests: ${paths.join(' ')}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

const asked = (path: string): number => paths.filter((p) => p === `/${path}`).length;
const settle = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('daemon core with provision hb46pp', () => {
  it('two overlapping reloads that change the provision block leave one client, the last asked for', async () => {
    const running = startCore(provisioned('c1'));
    await running.start();
    await until(() => asked('c1') === 1, 'the first request');
    // As a SIGHUP in the parent does it (privsep-child.ts): a second before the first is over.
    await Promise.all([running.apply(provisioned('c2')), running.apply(provisioned('c3'))]);
    await until(() => asked('c3') >= 1, 'a request of the last configuration');
    await settle(300);
    // One client started for c3, not two (the first of which would run on unseen).
    expect(asked('c3')).toBe(1);
    // The client in force is that one: a refresh asks once more, and only it.
    await running.handle('provision refresh');
    await until(() => asked('c3') === 2, 'the refresh');
    await settle(300);
    expect(asked('c3')).toBe(2);
    expect(paths.filter((p) => p !== '/c1' && p !== '/c2' && p !== '/c3')).toEqual([]);
  });

  it('a reload still to run when stop is called starts no client after it', async () => {
    const running = startCore(provisioned('c1'));
    await running.start();
    await until(() => asked('c1') === 1, 'the first request');
    const reloading = running.apply(provisioned('c2'));
    await running.stop(false);
    core = null;
    await reloading;
    await settle(300);
    expect(paths).toEqual(['/c1']);
  });

  it('a reload and a stop while the server sends a byte and then nothing: neither waits for it', async () => {
    handler = (_req, res) => {
      res.writeHead(200);
      res.write('{');
    };
    let config = provisioned('slow1');
    const running = startCore(config, () => config);
    await running.start();
    await until(() => asked('slow1') === 1, 'the first request');
    config = provisioned('slow2');
    let started = Date.now();
    expect(await running.handle('reload')).toEqual({ message: 'configuration reloaded' });
    expect(Date.now() - started).toBeLessThan(1000);
    await until(() => asked('slow2') === 1, 'the request of the new client');
    started = Date.now();
    await running.stop(false);
    expect(Date.now() - started).toBeLessThan(1000);
    core = null;
    // The fetches aborted are not counted as failures.
    const { text } = (await running.handle('metrics')) as { text: string };
    expect(text).toMatch(/^maped_provisioning_fetches_total\{result="no-answer"\} 0$/m);
  }, 40_000);
});
