/**
 * maped with `provision hb46pp` as a real process: a provisioning server on
 * ::1 started here, the fake OpenBSD tools, the control socket. The rules
 * come from the server; DHCPv6 S46 options win over them; `mapedctl
 * provision forget` and a server that then refuses withdraw the softwire.
 * With `prefix autoconf` (a SLAAC /64, no lease file, the access networks
 * HB46PP was made for) the server's rules apply to the /64, a new prefix
 * is asked about again, and a server that switches to DS-Lite moves the
 * tunnel to the WAN's own address.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ProvisioningStatusSchema } from '../../src/control/protocol.js';
import { createFakeOpenBSD, type FakeOpenBSD } from '../support/fake-openbsd/index.js';
import { MAPEDCTL_ENTRY, fakeRouterConfig, startMaped, type MapedProcess } from '../support/daemon-process.js';
import { REPO_ROOT } from '../support/vectors.js';
import { V6PLUS_REPLY } from '../provision/v6plus-reply.js';

const run = promisify(execFile);
const S46 = readFileSync(join(REPO_ROOT, 'examples', 'lease', 'em0'), 'utf8')
  .split('\n')
  .find((line) => line.startsWith('s46 '))!;

let server: ReturnType<typeof createServer>;
let port = 0;
let handler: (req: IncomingMessage, res: ServerResponse) => void;
const requests: URL[] = [];
let fake: FakeOpenBSD;
let dir: string;
let maped: MapedProcess | null = null;

beforeAll(async () => {
  server = createServer((req, res) => {
    requests.push(new URL(req.url ?? '/', 'http://x'));
    handler(req, res);
  });
  await new Promise<void>((resolve) => server.listen(0, '::1', resolve));
  port = (server.address() as AddressInfo).port;
  fake = await createFakeOpenBSD({ kernelPortset: true });
  dir = await mkdtemp(join(tmpdir(), 'maped-hb46pp-e2e-'));
  mkdirSync(join(dir, 'lease'));
});

afterAll(async () => {
  if (maped !== null && maped.child.exitCode === null) {
    maped.signal('SIGKILL');
    await maped.exited;
  }
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  await fake.cleanup();
  await rm(dir, { recursive: true, force: true });
});

let serial = 0;
function lease(prefix: string, s46: string | null): void {
  const [address, length] = prefix.split('/');
  const temp = join(dir, 'lease', `tmp${serial++}`);
  writeFileSync(temp, `ia_pd 0 ${address} ${length}\n${s46 === null ? '' : `${s46}\n`}`);
  // dhcp6leasectl first, as dhcp6leased binds before it writes the file: never the new file against the old answer.
  fake.setLeasectl('em0', `em0 [Bound]\n\tIA_PD 0: ${prefix}\n\tlease 7 days\n`);
  renameSync(temp, join(dir, 'lease', 'em0'));
}

const ctl = (...args: string[]) => run(process.execPath, ['--import', 'tsx', MAPEDCTL_ENTRY, '-s', join(dir, 'maped.sock'), ...args], { cwd: REPO_ROOT });

describe('maped with provision hb46pp', () => {
  it('takes the rules from the server, yields to DHCPv6, and withdraws when the data is forgotten and refused', async () => {
    handler = (_req, res) => {
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify(V6PLUS_REPLY));
    };
    const configPath = join(dir, 'maped.conf');
    writeFileSync(configPath, `${fakeRouterConfig(fake.tools, dir)}provision hb46pp {\n\turl "http://[::1]:${port}/config"\n}\n`);
    const check = await run(process.execPath, ['--import', 'tsx', join(REPO_ROOT, 'src', 'cli', 'maped.ts'), '-nv', '-f', configPath], { cwd: REPO_ROOT });
    expect(check.stdout).toContain(`provision hb46pp {\n\turl "http://[::1]:${port}/config"\n\tproduct "maped"\n}\n`);

    lease('240b:10:3251:6400::/56', null);
    maped = startMaped(configPath, join(dir, 'maped.sock'));
    const active = await maped.waitFor((s) => s.state === 'active' && s.rule?.origin === 'provisioning', 'active from provisioning', 30_000);
    // The v6plus worked example, with the draft-03 interface id of map_e version 0.
    expect(active.map).toMatchObject({ ipv4: '106.72.50.81', psid: 100, psidLen: 8, psidOffset: 4, ceIPv6: '240b:10:3251:6400:6a:4832:5100:6400', br: '2404:9200:225:100::64' });
    expect(active.rule?.why).toMatch(/^HB46PP provisioning \(map_e version 0, draft-03 interface id\); BMR 240b:10::\/32/);
    // vendorid from the OUI of em0's lladdr (00:0c:29:…), version from maped's.
    expect(Object.fromEntries(requests[0]!.searchParams)).toEqual({ vendorid: '000c29-maped', product: 'maped', version: '0_1_0', capability: 'map_e,hubspoke,lw4o6,ipip,dslite' });
    expect(fake.state().interfaces.em0!.inet6.map((a) => a.address)).toContain('240b:10:3251:6400:6a:4832:5100:6400');

    const shown = ProvisioningStatusSchema.parse(JSON.parse((await ctl('show', 'provisioning', '--json')).stdout));
    expect(shown).toMatchObject({ state: 'active', found: 'config', t: 'a', enablerName: 'JPNE', serviceName: 'v6plus', ttl: 86400, order: ['map_e'], kind: 'map-e', interfaceId: 'draft03', data: 'server', token: true });
    expect((await ctl('show', 'provisioning')).stdout).toMatch(/service:\s+JPNE \/ v6plus/);

    // DHCPv6 S46 options come first.
    lease('2001:db8:12:3400::/56', S46);
    const dhcp = await maped.waitFor((s) => s.state === 'active' && s.rule?.origin === 'dhcpv6', 'active from dhcpv6', 30_000);
    expect(dhcp.map?.ipv4).toBe('192.0.2.18');
    // A new prefix made the client ask again (v6mig-prov §3.6).
    await maped.waitFor(() => requests.length >= 2, 'a second request after the prefix change', 30_000);

    lease('240b:10:3251:6400::/56', null);
    await maped.waitFor((s) => s.state === 'active' && s.rule?.origin === 'provisioning', 'provisioning again', 30_000);
    expect(existsSync(join(dir, 'state', 'child', 'hb46pp.json'))).toBe(true);

    handler = (_req, res) => {
      res.writeHead(403);
      res.end();
    };
    expect((await ctl('provision', 'forget')).stdout).toMatch(/forgotten/);
    // The state says "withdrawn" only until the next wake finds no softwire to apply; the log line stays.
    const withdrawnLine = /softwire withdrawn: provisioning withdrawn/;
    const running = maped;
    const withdrawn = await running.waitFor(() => withdrawnLine.test(running.output()), 'the withdrawal logged', 30_000);
    expect(withdrawn.map ?? null).toBeNull();
    expect(existsSync(join(dir, 'state', 'child', 'hb46pp.json'))).toBe(false);
    expect(fake.state().interfaces.em0!.inet6.map((a) => a.address)).not.toContain('240b:10:3251:6400:6a:4832:5100:6400');
    const failing = ProvisioningStatusSchema.parse(JSON.parse((await ctl('show', 'provisioning', '--json')).stdout));
    expect(failing).toMatchObject({ state: 'failing', lastFetch: { httpStatus: 403, outcome: 'bad-data' }, token: false });
  }, 120_000);
});

describe('maped with provision hb46pp and prefix autoconf (SLAAC, no lease file)', () => {
  it('applies the v6plus rules to the /64, asks again for a new prefix, follows the server to DS-Lite, and counts its fetches', async () => {
    const own = await createFakeOpenBSD({ kernelPortset: true });
    const home = await mkdtemp(join(tmpdir(), 'maped-hb46pp-slaac-'));
    let ce: MapedProcess | null = null;
    const slaac = (prefix64: string) => `${prefix64}:20c:29ff:fe4d:6e01`;
    const setSlaac = (address: string | null): void =>
      own.editState((state) => {
        const em0 = state.interfaces.em0!;
        em0.inet6 = [
          ...em0.inet6.filter((a) => !(a.extra ?? '').includes('autoconf')),
          ...(address === null ? [] : [{ address, prefixlen: 64, extra: 'autoconf pltime 604503 vltime 2591703' }]),
        ];
      });
    const aliases = (): string[] => own.state().interfaces.em0!.inet6.filter((a) => a.prefixlen === 128).map((a) => a.address);
    const seen = requests.length;
    let reply: unknown = V6PLUS_REPLY;
    handler = (_req, res) => {
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify(reply));
    };
    try {
      setSlaac(slaac('240b:10:3251:6400'));
      const configPath = join(home, 'maped.conf');
      writeFileSync(configPath, `${fakeRouterConfig(own.tools, home)}prefix autoconf\nprovision hb46pp {\n\turl "http://[::1]:${port}/config"\n}\n`);
      ce = startMaped(configPath, join(home, 'maped.sock'));
      const active = await ce.waitFor((s) => s.state === 'active' && s.origin === 'provisioning', 'active from provisioning', 60_000);
      // The issue's check: the v6plus rules on a SLAAC /64 give calc's answer with --iid draft03 (test/provision/reply.test.ts runs calc).
      expect(active).toMatchObject({ softwire: 'map-e', lease: { source: 'autoconf', endUserPrefix: '240b:10:3251:6400::/64' } });
      expect(active.map).toMatchObject({ ipv4: '106.72.50.81', psid: 100, ceIPv6: '240b:10:3251:6400:6a:4832:5100:6400', br: '2404:9200:225:100::64' });
      expect(aliases()).toEqual(['240b:10:3251:6400:6a:4832:5100:6400']);
      // Active says nothing of the monitor: a message sent before it reads its feed would be
      // missed (until maped's look once a minute).
      await ce.waitFor(() => own.routeMonitorPids().length === 1, 'route -n monitor started', 60_000);

      // A new SLAAC prefix: converged to it, and the server asked again for it (v6mig-prov §3.6).
      const before = requests.length;
      setSlaac(slaac('240b:10:1111:2200'));
      own.routeMessage('RTM_DELADDR', 'em0', slaac('240b:10:3251:6400'));
      own.routeMessage('RTM_NEWADDR', 'em0', slaac('240b:10:1111:2200'));
      const moved = await ce.waitFor((s) => s.state === 'active' && s.lease?.endUserPrefix === '240b:10:1111:2200::/64', 'the new prefix', 60_000);
      expect(moved.map?.ipv4).toBe('106.72.17.17');
      expect(aliases()).toEqual([moved.map!.ceIPv6]);
      await ce.waitFor(() => requests.length > before, 'a request for the new prefix', 60_000);

      // The server now hands out DS-Lite: the tunnel leaves from em0's own SLAAC address, the MAP-E alias goes.
      reply = { ttl: 86400, order: ['dslite', 'map_e'], dslite: { aftr: '2001:db8:ffff::2' }, map_e: V6PLUS_REPLY.map_e };
      const sock = join(home, 'maped.sock');
      const ctlHere = (...args: string[]) => run(process.execPath, ['--import', 'tsx', MAPEDCTL_ENTRY, '-s', sock, ...args], { cwd: REPO_ROOT });
      await ctlHere('provision', 'refresh');
      const dslite = await ce.waitFor((s) => s.state === 'active' && s.softwire === 'dslite', 'DS-Lite from provisioning', 60_000);
      expect(dslite).toMatchObject({ origin: 'provisioning', map: { ipv4: '192.0.0.2', ceIPv6: slaac('240b:10:1111:2200'), br: '2001:db8:ffff::2' } });
      expect(own.state().interfaces['gif0']?.tunnel).toEqual({ source: slaac('240b:10:1111:2200'), destination: '2001:db8:ffff::2' });
      expect(aliases()).toEqual([]);
      const shown = ProvisioningStatusSchema.parse(JSON.parse((await ctlHere('show', 'provisioning', '--json')).stdout));
      expect(shown).toMatchObject({ state: 'active', kind: 'dslite', interfaceId: null, order: ['dslite', 'map_e'] });

      // Every request was a valid fetch; the last success is the last of them.
      const metrics = (await ctlHere('metrics')).stdout;
      const valid = Number(/^maped_provisioning_fetches_total\{result="valid"\} ([0-9]+)$/m.exec(metrics)?.[1]);
      expect(valid).toBe(requests.length - seen);
      expect(metrics).toMatch(/^maped_provisioning_fetches_total\{result="bad-data"\} 0$/m);
      const last = Number(/^maped_provisioning_last_success_timestamp_seconds ([0-9.e+]+)$/m.exec(metrics)?.[1]);
      expect(Date.parse(shown.lastFetch!.at) / 1000).toBe(last);
    } finally {
      if (ce !== null && ce.child.exitCode === null) {
        ce.signal('SIGTERM');
        await ce.exited;
      }
      await own.cleanup();
      await rm(home, { recursive: true, force: true });
    }
  }, 180_000);
});

describe('maped with provision hb46pp and a server that sends a byte and then nothing', () => {
  it('answers mapedctl reload at once, and SIGTERM still tears down what it configured (on-exit teardown)', async () => {
    const own = await createFakeOpenBSD({ kernelPortset: true });
    const home = await mkdtemp(join(tmpdir(), 'maped-hb46pp-slow-'));
    let ce: MapedProcess | null = null;
    let slow = false;
    handler = (_req, res) => {
      if (slow) {
        res.writeHead(200);
        res.write('{');
        return;
      }
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify(V6PLUS_REPLY));
    };
    try {
      mkdirSync(join(home, 'lease'));
      writeFileSync(join(home, 'lease', 't'), 'ia_pd 0 240b:10:3251:6400:: 56\n');
      renameSync(join(home, 'lease', 't'), join(home, 'lease', 'em0'));
      own.setLeasectl('em0', 'em0 [Bound]\n\tIA_PD 0: 240b:10:3251:6400::/56\n\tlease 7 days\n');
      const configPath = join(home, 'maped.conf');
      const withUrl = (at: string) => `${fakeRouterConfig(own.tools, home)}on-exit teardown\nprovision hb46pp {\n\turl "http://[::1]:${port}/${at}"\n}\n`;
      writeFileSync(configPath, withUrl('slow-a'));
      const sock = join(home, 'maped.sock');
      const ctlHere = (...args: string[]) => run(process.execPath, ['--import', 'tsx', MAPEDCTL_ENTRY, '-s', sock, ...args], { cwd: REPO_ROOT });
      ce = startMaped(configPath, sock);
      const active = await ce.waitFor((s) => s.state === 'active' && s.origin === 'provisioning', 'active from provisioning', 60_000);
      expect(own.state().interfaces.em0!.inet6.map((a) => a.address)).toContain(active.map!.ceIPv6);

      // The server stalls in the middle of its answer (within the 30-second limit of a fetch).
      slow = true;
      const before = requests.length;
      await ctlHere('provision', 'refresh');
      await ce.waitFor(() => requests.length > before, 'the stalled request', 30_000);

      // A reload that replaces the client aborts its request rather than wait for it (mapedctl waits 5 s).
      writeFileSync(configPath, withUrl('slow-b'));
      expect((await ctlHere('reload')).stdout).toMatch(/configuration reloaded/);
      await ce.waitFor(() => requests.some((url) => url.pathname === '/slow-b'), 'the new client asking, and stalled too', 30_000);

      // SIGTERM: the stalled request is aborted, the engine stops and tears down before the parent's 3.5 s are up.
      ce.signal('SIGTERM');
      const code = await ce.exited;
      expect(code, ce.output()).toBe(0);
      expect(ce.output()).toMatch(/on-exit teardown done/);
      expect(own.state().interfaces['gif0']).toBeUndefined();
      expect(own.state().interfaces.em0!.inet6.filter((a) => a.prefixlen === 128)).toEqual([]);
    } finally {
      if (ce !== null && ce.child.exitCode === null) {
        ce.signal('SIGKILL');
        await ce.exited;
      }
      server.closeAllConnections();
      await own.cleanup();
      await rm(home, { recursive: true, force: true });
    }
  }, 180_000);
});
