/**
 * `prefix autoconf` with maped as a real process: the end-user prefix is the
 * /64 of em0's SLAAC address, as the fake ifconfig shows it; address changes
 * come through the fake `route -n monitor`, which maped keeps running (and
 * starts again when it ends) and kills with its process group on exit.
 */
import { writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createFakeOpenBSD, type FakeOpenBSD } from '../support/fake-openbsd/index.js';
import { fakeRouterConfig, startMaped, type MapedProcess } from '../support/daemon-process.js';
import { processAlive } from '../../src/daemon/pid-file.js';
import { expectInApplyOrder, firstApplyCommands } from '../support/first-apply.js';

let fake: FakeOpenBSD;
let dir: string;
let maped: MapedProcess | null = null;

beforeAll(async () => {
  fake = await createFakeOpenBSD({ kernelPortset: true });
  dir = await mkdtemp(join(tmpdir(), 'maped-autoconf-e2e-'));
});

afterAll(async () => {
  if (maped !== null && maped.child.exitCode === null) {
    maped.signal('SIGKILL');
    await maped.exited;
  }
  await fake.cleanup();
  await rm(dir, { recursive: true, force: true });
});

const SLAAC = (prefix64: string) => `${prefix64}:20c:29ff:fe4d:6e01`;

/** em0's global addresses: the SLAAC ones given, plus whatever maped added. */
function setSlaac(addresses: { address: string; extra: string }[], on: FakeOpenBSD = fake): void {
  on.editState((s) => {
    const em0 = s.interfaces.em0!;
    em0.inet6 = [
      ...em0.inet6.filter((a) => a.address.startsWith('fe80:') || !(a.extra ?? '').includes('autoconf')),
      ...addresses.map((a) => ({ address: a.address, prefixlen: 64, extra: a.extra })),
    ];
  });
}

const aliases = (on: FakeOpenBSD = fake): string[] =>
  on
    .state()
    .interfaces.em0!.inet6.filter((a) => a.prefixlen === 128)
    .map((a) => a.address);

describe('maped with prefix autoconf', () => {
  it('follows the SLAAC address through route -n monitor: appears → active, changes → one new alias, goes → withdrawn', async () => {
    setSlaac([]);
    const configPath = join(dir, 'maped.conf');
    // The v6plus rule as a static block, so the SLAAC prefix alone decides.
    writeFileSync(
      configPath,
      `${fakeRouterConfig(fake.tools, dir)}prefix autoconf\ninterface-id draft03\n` +
        'rule {\n\tipv6-prefix 240b:10::/32\n\tipv4-prefix 106.72.0.0/16\n\tea-len 24\n\tpsid-offset 4\n\tbr 2404:9200:225:100::64\n}\n',
    );
    maped = startMaped(configPath, join(dir, 'maped.sock'));
    const waiting = await maped.waitFor((s) => s.state === 'waiting', 'waiting without an address', 30_000);
    expect(waiting.reason).toBe('no autoconf address on em0');
    await maped.waitFor(() => fake.routeMonitorPids().length === 1, 'route -n monitor started', 30_000);
    expect(fake.log().some((argv) => argv.join(' ') === 'route -n monitor')).toBe(true);

    // A temporary (privacy) address and a deprecated one are not the prefix.
    setSlaac([
      { address: '240b:10:9999:9900:1:2:3:4', extra: 'autoconf temporary pltime 86400 vltime 604800' },
      { address: SLAAC('240b:10:8888:8800'), extra: 'autoconf deprecated pltime 0 vltime 7000' },
      { address: SLAAC('240b:10:3251:6400'), extra: 'autoconf pltime 604503 vltime 2591703' },
    ]);
    fake.routeMessage('RTM_NEWADDR', 'em0', SLAAC('240b:10:3251:6400'));
    const active = await maped.waitFor((s) => s.state === 'active', 'active', 30_000);
    expect(active.lease).toMatchObject({ source: 'autoconf', interface: 'em0', endUserPrefix: '240b:10:3251:6400::/64', dhcpState: null, expiresAt: null });
    expect(active.map).toMatchObject({ ipv4: '106.72.50.81', psid: 100, ceIPv6: '240b:10:3251:6400:6a:4832:5100:6400' });
    expect(aliases()).toEqual(['240b:10:3251:6400:6a:4832:5100:6400']);

    // A message about another interface changes nothing.
    const before = fake.log().length;
    fake.routeMessage('RTM_NEWADDR', 'em1', '2001:db8:1::1');
    await new Promise((r) => setTimeout(r, 500));
    expect(fake.log().slice(before).filter((argv) => argv[0] === 'ifconfig')).toEqual([]);

    // The monitor ends; maped starts it again and goes on following.
    const first = fake.routeMonitorPids()[0]!;
    await fake.endRouteMonitors();
    await maped.waitFor(() => fake.routeMonitorPids().length === 2 && processAlive(fake.routeMonitorPids()[1]!), 'route -n monitor started again', 30_000);
    expect(processAlive(first)).toBe(false);

    setSlaac([{ address: SLAAC('240b:10:1111:2200'), extra: 'autoconf pltime 604503 vltime 2591703' }]);
    fake.routeMessage('RTM_DELADDR', 'em0', SLAAC('240b:10:3251:6400'));
    fake.routeMessage('RTM_NEWADDR', 'em0', SLAAC('240b:10:1111:2200'));
    const moved = await maped.waitFor((s) => s.lease?.endUserPrefix === '240b:10:1111:2200::/64' && s.state === 'active', 'the new prefix', 30_000);
    expect(moved.map?.ipv4).toBe('106.72.17.17');
    expect(aliases()).toEqual([moved.map!.ceIPv6]);

    setSlaac([]);
    fake.routeMessage('RTM_DELADDR', 'em0', SLAAC('240b:10:1111:2200'));
    const withdrawn = await maped.waitFor((s) => s.state === 'withdrawn', 'withdrawn', 30_000);
    expect(withdrawn.reason).toBe('no autoconf address on em0');
    expect(aliases()).toEqual([]);

    // SIGTERM: maped stops and its monitor dies with it.
    const monitor = fake.routeMonitorPids()[1]!;
    maped.signal('SIGTERM');
    expect(await maped.exited).toBe(0);
    const deadline = Date.now() + 10_000;
    while (processAlive(monitor) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    expect(processAlive(monitor)).toBe(false);
  }, 180_000);
});

describe('DS-Lite with prefix autoconf (no delegated prefix)', () => {
  it("tunnels from the WAN's own SLAAC address, never adds or removes it, follows it when it changes, withdraws when it goes", async () => {
    const own = await createFakeOpenBSD({ kernelPortset: true });
    const home = await mkdtemp(join(tmpdir(), 'maped-autoconf-dslite-'));
    let b4: MapedProcess | null = null;
    try {
      const first = SLAAC('2001:db8:aa:bb00');
      setSlaac([{ address: first, extra: 'autoconf pltime 604503 vltime 2591703' }], own);
      const configPath = join(home, 'maped.conf');
      writeFileSync(configPath, `${fakeRouterConfig(own.tools, home)}prefix autoconf\ndslite { aftr 2001:db8:ffff::2 }\n`);
      b4 = startMaped(configPath, join(home, 'maped.sock'));
      const active = await b4.waitFor((s) => s.state === 'active', 'active', 60_000);
      expect(active).toMatchObject({ softwire: 'dslite', origin: 'static', lease: { source: 'autoconf', endUserPrefix: '2001:db8:aa:bb00::/64' } });
      expect(active.map).toMatchObject({ ipv4: '192.0.0.2', ceIPv6: first, br: '2001:db8:ffff::2' });
      expect(own.state().interfaces['gif0']?.tunnel).toEqual({ source: first, destination: '2001:db8:ffff::2' });
      const mutations = (): string[] => own.mutations().map((argv) => argv.join(' '));
      expectInApplyOrder(mutations(), firstApplyCommands({ source: first, remote: '2001:db8:ffff::2', ipv4: '192.0.0.2', peer: '192.0.0.1', onWan: true }));
      expect(aliases(own)).toEqual([]);
      // maped reads em0 at start whether or not its monitor is up yet: a message sent before the
      // monitor reads its feed would be missed (until the look once a minute).
      await b4.waitFor(() => own.routeMonitorPids().length === 1, 'route -n monitor started', 60_000);

      // slaacd replaces the address (a new prefix from the router): the tunnel follows it.
      const second = SLAAC('2001:db8:aa:cc00');
      own.clearLog();
      setSlaac([{ address: second, extra: 'autoconf pltime 604503 vltime 2591703' }], own);
      own.routeMessage('RTM_DELADDR', 'em0', first);
      own.routeMessage('RTM_NEWADDR', 'em0', second);
      const moved = await b4.waitFor((s) => s.state === 'active' && s.map?.ceIPv6 === second, 'the tunnel from the new address', 60_000);
      expect(moved.lease?.endUserPrefix).toBe('2001:db8:aa:cc00::/64');
      expect(own.state().interfaces['gif0']?.tunnel).toEqual({ source: second, destination: '2001:db8:ffff::2' });
      expect(mutations().filter((line) => line.startsWith('ifconfig em0'))).toEqual([]);
      expect(aliases(own)).toEqual([]);

      // The address goes: withdrawn, and maped touches nothing on em0 (it never owned that address).
      own.clearLog();
      setSlaac([], own);
      own.routeMessage('RTM_DELADDR', 'em0', second);
      const withdrawn = await b4.waitFor((s) => s.state === 'withdrawn', 'withdrawn', 60_000);
      expect(withdrawn.reason).toBe('no autoconf address on em0');
      expect(own.state().interfaces['gif0']).toBeUndefined();
      expect(own.state().routes).toEqual([]);
      expect(mutations().filter((line) => line.startsWith('ifconfig em0'))).toEqual([]);
    } finally {
      if (b4 !== null && b4.child.exitCode === null) {
        b4.signal('SIGTERM');
        await b4.exited;
      }
      await own.cleanup();
      await rm(home, { recursive: true, force: true });
    }
  }, 180_000);
});
