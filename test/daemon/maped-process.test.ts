/**
 * maped as a real process, end to end: real lease files renamed into place
 * as dhcp6leased(8) does, the real control socket, real signals, and fake
 * ifconfig/route/pfctl/dhcp6leasectl that keep state like the real ones.
 */
import { execFile } from 'node:child_process';
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { StatusSchema } from '../../src/control/protocol.js';
import { parseIpv6 } from '../../src/map/index.js';
import { argv, systemCheckCommands, type Command } from '../../src/openbsd/index.js';
import { createFakeOpenBSD, isMutation, type FakeOpenBSD } from '../support/fake-openbsd/index.js';
import { MAPEDCTL_ENTRY, startMaped, type MapedProcess } from '../support/daemon-process.js';
import { REPO_ROOT } from '../support/vectors.js';

const run = promisify(execFile);
const S46 = readFileSync(join(REPO_ROOT, 'examples', 'lease', 'em0'), 'utf8')
  .split('\n')
  .find((line) => line.startsWith('s46 '))!;

interface Rig {
  fake: FakeOpenBSD;
  dir: string;
  configPath: string;
  socket: string;
  writeConfig(extra?: string, onExit?: 'keep' | 'teardown', tunnel?: string): void;
  /** Writes the lease as dhcp6leased does (mkstemp + rename) and what dhcp6leasectl -l says. */
  lease(prefix: string, options?: { s46?: string | null; lease?: string }): void;
  start(extraArgs?: string[]): MapedProcess;
}

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function rig(): Promise<Rig> {
  const fake = await createFakeOpenBSD({ kernelPortset: true });
  const dir = await mkdtemp(join(tmpdir(), 'maped-e2e-'));
  cleanups.push(() => fake.cleanup(), () => rm(dir, { recursive: true, force: true }));
  mkdirSync(join(dir, 'lease'));
  const configPath = join(dir, 'maped.conf');
  const socket = join(dir, 'maped.sock');
  const writeConfig = (extra = 'nat from { 192.168.1.0/24 }', onExit: 'keep' | 'teardown' = 'keep', tunnel = 'tunnel gif0 mtu auto'): void => {
    writeFileSync(
      configPath,
      [
        'wan em0',
        `lease file "${join(dir, 'lease', 'em0')}"`,
        tunnel,
        extra,
        'pf anchor "maped"',
        'pf portset auto',
        `on-exit ${onExit}`,
        ...(['ifconfig', 'route', 'pfctl', 'dhcp6leasectl', 'sysctl'] as const).map((t) => `tool ${t} "${fake.tools[t]}"`),
        `state-dir "${join(dir, 'state')}"`,
        '',
      ].join('\n'),
    );
  };
  writeConfig();
  let serial = 0;
  return {
    fake,
    dir,
    configPath,
    socket,
    writeConfig,
    lease(prefix, options = {}) {
      const [address, length] = prefix.split('/');
      const s46 = options.s46 === undefined ? S46 : options.s46;
      const temp = join(dir, 'lease', `tmp${String(serial++).padStart(7, '0')}`);
      writeFileSync(temp, `ia_pd 0 ${address} ${length}\n${s46 === null ? '' : `${s46}\n`}`);
      // dhcp6leasectl first: dhcp6leased binds, then writes the file. The other way round, maped
      // could read the new file against the old answer (the test held up between the two for as
      // long as maped takes to see the file), ask again, or withdraw.
      fake.setLeasectl('em0', `em0 [Bound]\n\tIA_PD 0: ${prefix}\n\t${options.lease ?? 'lease 7 days'}\n`);
      renameSync(temp, join(dir, 'lease', 'em0'));
    },
    start(extraArgs = []) {
      const maped = startMaped(configPath, socket, extraArgs);
      cleanups.push(async () => {
        if (maped.child.exitCode === null) {
          maped.signal('SIGKILL');
          await maped.exited;
        }
      });
      return maped;
    },
  };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const mutationLines = (fake: FakeOpenBSD) => fake.mutations().map((c) => c.join(' '));
/** A command as the fake logs it: the tool's name, then its arguments. */
const line = (command: Command): string => [command.tool, ...command.args].join(' ');
const CE_34 = '2001:db8:12:3400:0:c000:212:34';
const CE_56 = '2001:db8:12:5600:0:c000:212:56';

describe('maped, end to end', () => {
  it('first lease → active; identical renewal → no command; new prefix → re-applied', async () => {
    const r = await rig();
    r.lease('2001:db8:12:3400::/56');
    const maped = r.start();
    const status = await maped.waitFor((s) => s.state === 'active', 'active');
    expect(status.map).toMatchObject({
      ipv4: '192.0.2.18',
      psidOffset: 6,
      psidLen: 8,
      psid: 52,
      ceIPv6: '2001:db8:12:3400:0:c000:212:34',
      br: '2001:db8:ffff::1',
      portCount: 252,
    });
    expect(status.lease).toMatchObject({ source: 'file', interface: 'em0', endUserPrefix: '2001:db8:12:3400::/56', dhcpState: 'Bound' });
    expect(status.rule).toMatchObject({ ipv6Prefix: '2001:db8::/40', ipv4Prefix: '192.0.2.0/24', eaLen: 16, origin: 'dhcpv6' });
    expect(status.tunnel).toEqual({ interface: 'gif0', mtu: 1460 });
    expect(status.pf).toEqual({ anchor: 'maped', portset: 'kernel' });
    const applied = mutationLines(r.fake);
    expect(applied).toContain('ifconfig gif0 tunnel 2001:db8:12:3400:0:c000:212:34 2001:db8:ffff::1');
    expect(applied).toContain('pfctl -o none -a maped -f -');
    expect(r.fake.state().anchors['maped']?.join('\n')).toMatch(/map-e-portset 6\/8\/52/);

    // dhcp6leased rewrites the file on every renewal, same content: only the
    // lease is checked with dhcp6leasectl, the system is not even read.
    const before = r.fake.mutations().length;
    const callsBefore = r.fake.log().length;
    r.lease('2001:db8:12:3400::/56');
    await sleep(700);
    expect(r.fake.mutations().length).toBe(before);
    expect(r.fake.log().slice(callsBefore).filter(([tool]) => tool !== 'dhcp6leasectl')).toEqual([]);
    expect((await maped.status()).lastApply?.at).toBe(status.lastApply?.at);

    const callsAtMove = r.fake.log().length;
    const stale = r.fake.state().states.map((state) => line(argv.killStateId(state.id)));
    expect(stale.length).toBeGreaterThan(0);
    r.lease('2001:db8:12:5600::/56');
    const moved = await maped.waitFor((s) => s.map?.psid === 0x56 && s.lease?.dhcpState === 'Bound', 'the new prefix');
    expect(moved.map?.ceIPv6).toBe('2001:db8:12:5600:0:c000:212:56');
    expect(moved.state).toBe('active');
    // Every tool run of the change, and where it runs. The file dhcp6leased has
    // just rewritten names its MAP-E options: it is not held back for
    // dhcp6leasectl, asked once beside the reads (it may still be running when
    // the first command is). Before the first command: one look at each part of
    // the system. After the last: the verification's look and the system
    // checks, side by side.
    const sinceMove = r.fake.log().slice(callsAtMove).map((c) => c.join(' '));
    const leasectl = 'dhcp6leasectl -l em0';
    const reads = [argv.showInterfaces(), argv.showRoutes(), argv.showAnchor('maped')].map(line);
    const checks = [systemCheckCommands.mainRules(), systemCheckCommands.pfInfo(), systemCheckCommands.forwarding()].map(line);
    const [oldCe, newCe] = [CE_34, CE_56].map((ce) => {
      const parsed = parseIpv6(ce);
      if (!parsed.ok) throw new Error(parsed.error);
      return parsed.value;
    });
    const changes = [
      line(argv.wanAliasAdd('em0', newCe!)),
      `ifconfig gif0 tunnel ${CE_56} 2001:db8:ffff::1`,
      'pfctl -o none -a maped -f -',
      line(argv.showStatesWithIds()),
      ...stale,
      line(argv.wanAliasDelete('em0', oldCe!)),
    ];
    expect([...sinceMove].sort()).toEqual([leasectl, ...reads, ...changes, ...reads, ...checks].sort());
    expect(sinceMove).toHaveLength(1 + 3 + changes.length + 3 + 3);
    const withoutLeasectl = sinceMove.filter((call) => call !== leasectl);
    const first = withoutLeasectl.findIndex((call) => isMutation(call.split(' ')));
    const last = withoutLeasectl.length - 1 - [...withoutLeasectl].reverse().findIndex((call) => isMutation(call.split(' ')));
    expect(withoutLeasectl.slice(0, first).sort()).toEqual([...reads].sort());
    expect(withoutLeasectl.slice(last + 1).sort()).toEqual([...reads, ...checks].sort());
    const after = mutationLines(r.fake).slice(before);
    expect(after).toContain('ifconfig gif0 tunnel 2001:db8:12:5600:0:c000:212:56 2001:db8:ffff::1');
    expect(r.fake.state().interfaces['em0']?.inet6.map((a) => a.address)).toContain('2001:db8:12:5600:0:c000:212:56');
    expect(r.fake.state().interfaces['em0']?.inet6.map((a) => a.address)).not.toContain('2001:db8:12:3400:0:c000:212:34');
  });

  it('a malformed lease keeps the running configuration and says why', async () => {
    const r = await rig();
    r.lease('2001:db8:12:3400::/56');
    const maped = r.start();
    await maped.waitFor((s) => s.state === 'active', 'active');
    const before = r.fake.mutations().length;
    r.lease('2001:db8:12:3400::/56', { s46: 's46 94 00590015001018c0' });
    const status = await maped.waitFor((s) => s.reason !== null, 'a reason');
    expect(status.state).toBe('active');
    expect(status.reason).toMatch(/lease .*em0:2: /);
    expect(status.map?.ipv4).toBe('192.0.2.18');
    expect(r.fake.mutations().length).toBe(before);
    expect(maped.output()).toMatch(/em0:2: /);
  });

  it('lease expiry withdraws the configuration', async () => {
    const r = await rig();
    r.lease('2001:db8:12:3400::/56', { lease: 'lease 1 second' });
    const maped = r.start();
    await maped.waitFor((s) => s.state === 'active', 'active');
    expect(r.fake.state().routes).not.toEqual([]);
    r.fake.setLeasectl('em0', 'em0 [Init]\n');
    const status = await maped.waitFor((s) => s.state === 'withdrawn', 'withdrawn');
    expect(status.reason).toMatch(/not current \(dhcp6leased: Init\)/);
    expect(status.map).toBeNull();
    const state = r.fake.state();
    expect(state.routes).toEqual([]);
    expect(state.anchors['maped'] ?? []).toEqual([]);
    expect(state.interfaces['gif0']?.tunnel ?? null).toBeNull();
  });

  it('a failing pfctl leaves maped degraded with a retry, and it recovers', async () => {
    const r = await rig();
    r.lease('2001:db8:12:3400::/56');
    // pfctl fails until the test has seen maped degraded: a loaded machine
    // could otherwise miss the one second between the failure and the retry.
    r.fake.failNext('pfctl', '-f -', Infinity);
    const maped = r.start();
    const degraded = await maped.waitFor((s) => s.state === 'degraded', 'degraded');
    expect(degraded.lastApply?.ok).toBe(false);
    expect(degraded.lastApply?.error).toMatch(/^step \d+ \(pfctl -o none -a maped -f -\): pfctl: DIOCXCOMMIT: Device busy/);
    expect(degraded.nextRetryAt).not.toBeNull();
    r.fake.clearFailures();
    const recovered = await maped.waitFor((s) => s.state === 'active', 'recovery');
    expect(recovered.lastApply?.ok).toBe(true);
    expect(recovered.nextRetryAt).toBeNull();
  });

  it('pf portset auto with a patched pfctl on an unpatched kernel: degraded with the reason, nothing applied', async () => {
    const r = await rig();
    r.fake.editState((state) => {
      state.kernelPortset = false;
      state.pfctlPortset = true;
    });
    r.lease('2001:db8:12:3400::/56');
    const maped = r.start();
    const degraded = await maped.waitFor((s) => s.state === 'degraded', 'degraded');
    expect(degraded.lastApply?.ok).toBe(false);
    expect(degraded.lastApply?.error).toMatch(
      /^pf portset auto: pfctl has the map-e-portset patch but the running kernel does not take its rule ioctls \(pfctl -sr: Permission denied\)/,
    );
    expect(mutationLines(r.fake)).toEqual([]);
  });

  it('SIGHUP with a good config applies it; with a bad one keeps running the old', async () => {
    const r = await rig();
    r.lease('2001:db8:12:3400::/56');
    const maped = r.start();
    await maped.waitFor((s) => s.state === 'active', 'active');
    r.writeConfig('nat from { 10.1.0.0/16 }');
    maped.signal('SIGHUP');
    await maped.waitFor(() => (r.fake.state().anchors['maped'] ?? []).join('\n').includes('10.1.0.0/16'), 'the new nat source');
    r.writeConfig('tunel gif0');
    maped.signal('SIGHUP');
    // Wait for the refusal to be logged rather than a fixed time: a loaded machine may take seconds.
    const refused = /reload refused, keeping the running configuration: .*maped\.conf:\d+:\d+: /;
    for (const deadline = Date.now() + 60_000; !refused.test(maped.output()) && Date.now() < deadline; ) await sleep(50);
    expect(maped.child.exitCode).toBeNull();
    expect(maped.output()).toMatch(refused);
    // The good reload's apply may still be finishing: it ends active, on the old configuration.
    const after = await maped.waitFor((s) => s.state === 'active', 'active after the refused reload');
    expect(after.lastApply?.ok).toBe(true);
  });

  it('routes through the tunnel peer and at the priority maped.conf gives, beside a PPPoE default, and moves the route on SIGHUP', async () => {
    const r = await rig();
    // pppoe(4)'s usual default: 0.0.0.1 at the static priority 8.
    r.fake.editState((s) => {
      s.interfaces.pppoe0 = {
        flags: ['UP', 'POINTOPOINT', 'RUNNING'], mtu: 1492, index: 8, groups: ['egress'], tunnel: null,
        inet: [{ address: '198.51.100.7', peer: '0.0.0.1', netmask: '0xffffffff' }], inet6: [],
      };
      s.routes.push({ gateway: '0.0.0.1', interface: 'pppoe0', ifa: '198.51.100.7', label: null, priority: 8, mpath: false });
    });
    r.writeConfig(undefined, 'keep', 'tunnel gif0 mtu auto peer 10.255.255.1 route-priority 20');
    r.lease('2001:db8:12:3400::/56');
    const maped = r.start();
    await maped.waitFor((s) => s.state === 'active', 'active');
    const routes = () => r.fake.state().routes.map((x) => `${x.interface} ${x.gateway} ${x.priority}`);
    expect(r.fake.state().interfaces.gif0?.inet).toEqual([{ address: '192.0.2.18', peer: '10.255.255.1', netmask: '0xffffffff' }]);
    // Behind the PPPoE default, which stays the one in use.
    expect(routes()).toEqual(['pppoe0 0.0.0.1 8', 'gif0 10.255.255.1 20']);
    r.writeConfig(undefined, 'keep', 'tunnel gif0 mtu auto route-priority 5');
    maped.signal('SIGHUP');
    await maped.waitFor(() => routes().join(',') === 'gif0 0.0.0.1 5,pppoe0 0.0.0.1 8', 'the route moved ahead of the PPPoE default');
    expect(mutationLines(r.fake)).toContain('route -n delete -inet default 10.255.255.1 -ifp gif0 -priority 20');
  });

  it('an anchor nothing calls, pf disabled and no forwarding: active, each a warning in status, logged once; checked again after an apply and a reload', async () => {
    const r = await rig();
    r.fake.editState((s) => {
      s.mainRules = ['block return all', 'pass all flags S/SA'];
      s.pfEnabled = false;
      s.sysctl['net.inet.ip.forwarding'] = '0';
    });
    r.lease('2001:db8:12:3400::/56');
    const maped = r.start();
    const problem = /pf is not enabled|does not call anchor|net\.inet\.ip\.forwarding/;
    const status = await maped.waitFor((s) => s.state === 'active' && s.warnings.some((w) => problem.test(w)), 'active with the warnings');
    const problems = status.warnings.filter((w) => problem.test(w));
    expect(problems).toEqual([
      'pf is not enabled: nothing is translated; enable it with pfctl -e (pf=YES in rc.conf.local, the default)',
      'the main pf ruleset does not call anchor "maped": add it to /etc/pf.conf after your nat-to rules and before your filter rules',
      'net.inet.ip.forwarding is 0, not 1: the LANs cannot reach the tunnel; set net.inet.ip.forwarding=1 (and in /etc/sysctl.conf)',
    ]);
    // Read once, side by side, after the apply.
    const checks = r.fake.log().filter((c) => c.join(' ') === 'pfctl -sr' || c.join(' ') === 'pfctl -si' || c[0] === 'sysctl');
    expect(checks.map((c) => c.join(' ')).sort()).toEqual(['pfctl -si', 'pfctl -sr', 'sysctl net.inet.ip.forwarding']);

    // A new prefix is applied and checked again; the warnings, still true, are not logged again.
    r.lease('2001:db8:12:5600::/56');
    const moved = await maped.waitFor((s) => s.map?.ceIPv6 === '2001:db8:12:5600:0:c000:212:56' && s.state === 'active', 'the new prefix');
    expect(moved.warnings.filter((w) => problem.test(w))).toEqual(problems);
    expect(r.fake.log().filter((c) => c.join(' ') === 'pfctl -si')).toHaveLength(2);
    for (const warning of problems) expect(maped.output().split(warning).length - 1).toBe(1);

    // The admin fixes pf.conf, pf and sysctl.conf, then reloads maped: checked at once, no warnings left.
    r.fake.editState((s) => {
      s.mainRules = ['block return all', 'pass all flags S/SA', 'anchor "maped" all'];
      s.pfEnabled = true;
      s.sysctl['net.inet.ip.forwarding'] = '1';
    });
    maped.signal('SIGHUP');
    const fixed = await maped.waitFor((s) => s.state === 'active' && !s.warnings.some((w) => problem.test(w)), 'no warnings after the reload');
    expect(fixed.warnings.filter((w) => problem.test(w))).toEqual([]);
  });

  it('SIGTERM with on-exit keep leaves the tunnel; with teardown removes it', async () => {
    const keep = await rig();
    keep.lease('2001:db8:12:3400::/56');
    let maped = keep.start();
    await maped.waitFor((s) => s.state === 'active', 'active');
    maped.signal('SIGTERM');
    expect(await maped.exited).toBe(0);
    expect(keep.fake.state().routes).not.toEqual([]);
    expect(keep.fake.state().interfaces['gif0']?.tunnel).not.toBeNull();

    const teardown = await rig();
    teardown.writeConfig(undefined, 'teardown');
    teardown.lease('2001:db8:12:3400::/56');
    maped = teardown.start();
    await maped.waitFor((s) => s.state === 'active', 'active');
    maped.signal('SIGTERM');
    expect(await maped.exited).toBe(0);
    const state = teardown.fake.state();
    expect(state.routes).toEqual([]);
    expect(state.anchors['maped'] ?? []).toEqual([]);
    expect(state.interfaces['em0']?.inet6.map((a) => a.address)).not.toContain('2001:db8:12:3400:0:c000:212:34');
  });

  it('kill -9 and restart converges with no command; a second instance is refused', async () => {
    const r = await rig();
    r.lease('2001:db8:12:3400::/56');
    let maped = r.start();
    await maped.waitFor((s) => s.state === 'active', 'active');

    const second = r.start(['-s', join(r.dir, 'other.sock')]);
    expect(await second.exited).toBe(1);
    expect(second.output()).toMatch(/maped: already running \(pid \d+/);

    maped.signal('SIGKILL');
    await maped.exited;
    r.fake.clearLog();
    maped = r.start();
    const status = await maped.waitFor((s) => s.state === 'active', 'active again');
    expect(r.fake.mutations()).toEqual([]);
    expect(status.map?.ipv4).toBe('192.0.2.18');
  });

  it('mapedctl status, show ports and errors', async () => {
    const r = await rig();
    r.lease('2001:db8:12:3400::/56');
    const maped = r.start();
    await maped.waitFor((s) => s.state === 'active', 'active');
    const ctl = (...args: string[]) => run(process.execPath, ['--import', 'tsx', MAPEDCTL_ENTRY, '-s', r.socket, ...args], { cwd: REPO_ROOT });

    const json = StatusSchema.parse(JSON.parse((await ctl('status', '--json')).stdout));
    expect(Object.keys(json).sort()).toEqual(
      ['forwards', 'lastApply', 'lease', 'map', 'nextRetryAt', 'origin', 'pf', 'pid', 'reason', 'rule', 'softwire', 'state', 'tunnel', 'version', 'warnings'].sort(),
    );
    expect(json).toMatchObject({ softwire: 'map-e', origin: 'dhcpv6' });
    expect(json.pid).toBe(maped.child.pid);
    const human = (await ctl('status')).stdout;
    expect(human).toMatch(/^state: +active$/m);
    expect(human).toMatch(/^softwire: +map-e \(dhcpv6\)$/m);
    expect(human).toMatch(/^PSID: +52\/8 offset 6 \(6\/8\/52\)$/m);
    expect(human).toMatch(/^CE IPv6: +2001:db8:12:3400:0:c000:212:34$/m);
    const ports = (await ctl('show', 'ports')).stdout.trim().split('\n');
    expect(ports).toHaveLength(63);
    expect(ports[0]).toBe('1232-1235');
    expect((await ctl('log', 'verbose')).stdout).toBe('logging verbose\n');
    expect((await ctl('show', 'rules')).stdout).toBe(
      'dhcpv6 2001:db8::/40 192.0.2.0/24 ea-len 16 psid-offset 6 psid-len 8 (from EA bits) br 2001:db8:ffff::1\n',
    );
    expect(JSON.parse((await ctl('show', 'rules', '--json')).stdout).rules[0]).toMatchObject({ origin: 'dhcpv6', fmr: false });
    expect((await ctl('reload')).stdout).toBe('configuration reloaded\n');

    const missing = join(r.dir, 'nothing.sock');
    await expect(run(process.execPath, ['--import', 'tsx', MAPEDCTL_ENTRY, '-s', missing, 'status'], { cwd: REPO_ROOT })).rejects.toMatchObject({
      code: 1,
      stderr: `mapedctl: connect ${missing}: No such file or directory (is maped running?)\n`,
    });
  });
});
