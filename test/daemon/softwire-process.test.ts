/**
 * Every softwire kind end to end: maped as a real process with real lease
 * files, its control socket, a real DNS server and the fake OpenBSD tools.
 * A lease with DHCPv6 option 96 brings up lw4o6 confined to its PSID; static
 * ipip and dslite blocks bring up their tunnels; a lease that switches from
 * MAP-E to lw4o6 and back leaves one alias, one tunnel and the right anchor.
 */
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createFakeOpenBSD, type FakeOpenBSD } from '../support/fake-openbsd/index.js';
import { fakeRouterConfig, startMaped, type MapedProcess } from '../support/daemon-process.js';
import { startDnsServer, type DnsServer } from '../support/dns-server.js';
import { readJsonLines, REPO_ROOT } from '../support/vectors.js';
import { expectInApplyOrder, firstApplyCommands } from '../support/first-apply.js';

/** The MAP-E lease line of the bundled example (RFC 7597 Appendix A Example 1). */
const MAPE_S46 = readFileSync(join(REPO_ROOT, 'examples', 'lease', 'em0'), 'utf8')
  .split('\n')
  .find((line) => line.startsWith('s46 '))!;
/** A real lw4o6 reply (Kea): option 96 as the patched dhcp6leased writes it, code then payload. */
const LW4O6_HEX = readJsonLines<{ name: string; optionsHex: string }>('s46.jsonl').find((v) => v.name === 'lw4o6-bind56-psid8')!.optionsHex;
const LW4O6_S46 = `s46 96 ${LW4O6_HEX.slice(8)}`;

interface Rig {
  fake: FakeOpenBSD;
  dir: string;
  lease(prefix: string, s46?: string | null): void;
  start(config: string): MapedProcess;
}

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function rig(): Promise<Rig> {
  const fake = await createFakeOpenBSD({ kernelPortset: true });
  const dir = await mkdtemp(join(tmpdir(), 'maped-softwire-'));
  cleanups.push(() => fake.cleanup(), () => rm(dir, { recursive: true, force: true }));
  mkdirSync(join(dir, 'lease'));
  let serial = 0;
  return {
    fake,
    dir,
    lease(prefix, s46 = null) {
      const [address, length] = prefix.split('/');
      const temp = join(dir, 'lease', `tmp${serial++}`);
      writeFileSync(temp, `ia_pd 0 ${address} ${length}\n${s46 === null ? '' : `${s46}\n`}`);
      // dhcp6leasectl first, as dhcp6leased binds before it writes the file: never the new file against the old answer.
      fake.setLeasectl('em0', `em0 [Bound]\n\tIA_PD 0: ${prefix}\n\tlease 7 days\n`);
      renameSync(temp, join(dir, 'lease', 'em0'));
    },
    start(extra) {
      const path = join(dir, 'maped.conf');
      writeFileSync(path, `${fakeRouterConfig(fake.tools, dir)}${extra}`);
      const maped = startMaped(path, join(dir, 'maped.sock'));
      cleanups.push(async () => {
        maped.signal('SIGTERM');
        await maped.exited;
      });
      return maped;
    },
  };
}

/** A loaded machine (the CI runs many daemons at once) can take seconds per apply: wait generously, never sleep. */
const WAIT_MS = 90_000;

const mutationLines = (fake: FakeOpenBSD): string[] => fake.mutations().map((c) => c.join(' '));

/** What of maped's is on the machine (the anchor as `pfctl -sr` prints it: an interface pool is round-robin): the WAN's /128 aliases, the gif tunnel and address, the route, the anchor. */
function system(fake: FakeOpenBSD) {
  const state = fake.state();
  const gif = state.interfaces['gif0'];
  return {
    aliases: state.interfaces['em0']!.inet6.filter((a) => a.prefixlen === 128).map((a) => a.address),
    tunnel: gif?.tunnel ?? null,
    inet: gif?.inet ?? [],
    route: state.routes.length === 0 ? null : { gateway: state.routes[0]!.gateway, interface: state.routes[0]!.interface },
    nat: (state.anchors['maped'] ?? []).filter((rule) => rule.includes('nat-to')),
  };
}

describe('softwire kinds, end to end', { timeout: 240_000 }, () => {
  it('a lease with option 96 → active lw4o6, NAT confined to PSID 52', async () => {
    const r = await rig();
    r.lease('2001:db8:ce00:4200::/56', LW4O6_S46);
    const maped = r.start('');
    const status = await maped.waitFor((s) => s.state === 'active', 'active', WAIT_MS);
    expect(status).toMatchObject({ softwire: 'lw4o6', origin: 'dhcpv6', rule: null });
    expect(status.map).toMatchObject({
      ipv4: '192.0.2.33',
      psidOffset: 0,
      psidLen: 8,
      psid: 52,
      ceIPv6: '2001:db8:ce00:4200:0:c000:221:34',
      br: '2001:db8:ffff::1',
      portSets: [[13312, 13567]],
      portCount: 256,
    });
    // The kernel patch takes offset 0 too: the PSID's one block, never port 0.
    expect(status.pf.portset).toBe('kernel');
    expect(system(r.fake)).toEqual({
      aliases: ['2001:db8:ce00:4200:0:c000:221:34'],
      tunnel: { source: '2001:db8:ce00:4200:0:c000:221:34', destination: '2001:db8:ffff::1' },
      inet: [{ address: '192.0.2.33', peer: '0.0.0.1', netmask: '0xffffffff' }],
      route: { gateway: '0.0.0.1', interface: 'gif0' },
      nat: [
        'match out on gif0 inet from (gif0) to any label "maped" nat-to (gif0) round-robin map-e-portset 0/8/52',
        'match out on gif0 inet from 192.168.1.0/24 to any label "maped" nat-to (gif0) round-robin map-e-portset 0/8/52',
      ],
    });
  });

  it('a static ipip block → active with its tunnel, the fixed address and nat-to over every port', async () => {
    const r = await rig();
    r.lease('2001:db8:7:100::/56');
    const maped = r.start('ipip {\n\tlocal 2001:db8:7:100::7\n\tremote 2001:db8:7::1\n\tipv4 203.0.113.1\n}\n');
    const status = await maped.waitFor((s) => s.state === 'active', 'active', WAIT_MS);
    expect(status).toMatchObject({ softwire: 'ipip', origin: 'static', rule: null, pf: { portset: 'unrestricted' } });
    expect(status.map).toMatchObject({ ipv4: '203.0.113.1', psid: null, psidLen: null, portSets: [], portCount: 65536 });
    expectInApplyOrder(mutationLines(r.fake), firstApplyCommands({ source: '2001:db8:7:100::7', remote: '2001:db8:7::1', ipv4: '203.0.113.1' }));
    expect(system(r.fake).nat).toEqual([
      'match out on gif0 inet from (gif0) to any label "maped" nat-to (gif0) round-robin',
      'match out on gif0 inet from 192.168.1.0/24 to any label "maped" nat-to (gif0) round-robin',
    ]);
  });

  it('a static dslite block with the AFTR by name → resolved, 192.0.0.2 → 192.0.0.1, no NAT; an unknown name → degraded', async () => {
    const dns: DnsServer = await startDnsServer('127.0.0.1');
    dns.set('aftr.example.net', 'AAAA', ['2001:db8:ffff::2'], 3600);
    cleanups.push(() => dns.close());
    const r = await rig();
    r.lease('2001:db8:12:3400::/56');
    const maped = r.start(`dslite { aftr "aftr.example.net" dns "${dns.endpoint}" }\n`);
    const status = await maped.waitFor((s) => s.state === 'active', 'active', WAIT_MS);
    expect(status).toMatchObject({ softwire: 'dslite', origin: 'static', rule: null, pf: { portset: null } });
    expect(status.map).toMatchObject({ ipv4: '192.0.0.2', br: '2001:db8:ffff::2', psid: null, portCount: null, portSets: [] });
    expectInApplyOrder(
      mutationLines(r.fake),
      firstApplyCommands({ source: '2001:db8:12:3400:0:c000:2:0', remote: '2001:db8:ffff::2', ipv4: '192.0.0.2', peer: '192.0.0.1' }),
    );
    expect(system(r.fake).nat).toEqual([]);
    expect(r.fake.state().anchors['maped']).toContain('match on gif0 inet proto tcp all flags S/SA scrub (max-mss 1420) label "maped"');
    expect(dns.queries).toEqual([{ name: 'aftr.example.net', type: 'AAAA' }]);

    const r2 = await rig();
    r2.lease('2001:db8:12:3400::/56');
    const failing = r2.start(`dslite { aftr "gone.example.net" dns "${dns.endpoint}" }\n`);
    const degraded = await failing.waitFor((s) => s.state === 'degraded', 'degraded', WAIT_MS);
    expect(degraded.reason).toMatch(new RegExp(`^dslite: AFTR gone\\.example\\.net does not resolve \\(ENOTFOUND from ${dns.endpoint.replace(/[.[\]]/g, '\\$&')}\\); retry in 1 s$`));
    expect(degraded.nextRetryAt).not.toBeNull();
    expect(mutationLines(r2.fake)).toEqual([]);
  });

  it('MAP-E → lw4o6 → MAP-E: each time one alias, one tunnel, the right anchor', async () => {
    const r = await rig();
    const mapE = {
      aliases: ['2001:db8:12:3400:0:c000:212:34'],
      tunnel: { source: '2001:db8:12:3400:0:c000:212:34', destination: '2001:db8:ffff::1' },
      inet: [{ address: '192.0.2.18', peer: '0.0.0.1', netmask: '0xffffffff' }],
      route: { gateway: '0.0.0.1', interface: 'gif0' },
      nat: [
        'match out on gif0 inet from (gif0) to any label "maped" nat-to (gif0) round-robin map-e-portset 6/8/52',
        'match out on gif0 inet from 192.168.1.0/24 to any label "maped" nat-to (gif0) round-robin map-e-portset 6/8/52',
      ],
    };
    r.lease('2001:db8:12:3400::/56', MAPE_S46);
    const maped = r.start('');
    let status = await maped.waitFor((s) => s.state === 'active' && s.softwire === 'map-e', 'MAP-E active', WAIT_MS);
    expect(system(r.fake)).toEqual(mapE);

    // The same delegated prefix, now with an lw4o6 binding inside it.
    const at = status.lastApply?.at;
    r.fake.clearLog();
    r.lease('2001:db8:12:3400::/56', LW4O6_S46.replace('20010db8ce0042', '20010db8001234'));
    status = await maped.waitFor((s) => s.state === 'active' && s.softwire === 'lw4o6' && s.lastApply?.at !== at, 'lw4o6 active', WAIT_MS);
    expect(system(r.fake)).toEqual({
      aliases: ['2001:db8:12:3400:0:c000:221:34'],
      tunnel: { source: '2001:db8:12:3400:0:c000:221:34', destination: '2001:db8:ffff::1' },
      inet: [{ address: '192.0.2.33', peer: '0.0.0.1', netmask: '0xffffffff' }],
      route: { gateway: '0.0.0.1', interface: 'gif0' },
      nat: [
        'match out on gif0 inet from (gif0) to any label "maped" nat-to (gif0) round-robin map-e-portset 0/8/52',
        'match out on gif0 inet from 192.168.1.0/24 to any label "maped" nat-to (gif0) round-robin map-e-portset 0/8/52',
      ],
    });
    // Converged like a prefix change: no new gif; the old alias removed, beside the kills of the
    // old address's states, once the tunnel and the anchor have moved.
    const switched = mutationLines(r.fake);
    expect(switched).not.toContain('ifconfig gif0 create');
    const [tunnel, anchor, removed] = [
      'ifconfig gif0 tunnel 2001:db8:12:3400:0:c000:221:34 2001:db8:ffff::1',
      'pfctl -o none -a maped -f -',
      'ifconfig em0 inet6 2001:db8:12:3400:0:c000:212:34 delete',
    ].map((line) => switched.indexOf(line));
    expect(tunnel).toBeGreaterThan(-1);
    expect(anchor).toBeGreaterThan(tunnel!);
    expect(removed).toBeGreaterThan(anchor!);
    expect(switched.some((line) => line.startsWith('pfctl -k'))).toBe(true);

    const lwAt = status.lastApply?.at;
    r.lease('2001:db8:12:3400::/56', MAPE_S46);
    await maped.waitFor((s) => s.state === 'active' && s.softwire === 'map-e' && s.lastApply?.at !== lwAt, 'MAP-E again', WAIT_MS);
    expect(system(r.fake)).toEqual(mapE);
  });
});
