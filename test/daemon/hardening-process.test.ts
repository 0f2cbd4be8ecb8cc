/**
 * The fault matrix's process-level cells (test/apply/fault-matrix.test.ts
 * runs the in-process ones): the real maped, started as a child process,
 * under faults only a process meets — a file-descriptor limit reached
 * during an apply, SIGTERM while a tool hangs — and the stop of an idle
 * maped, which must take under 200 ms.
 */
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { readOwnership } from '../../src/apply/index.js';
import { formatIpv6 } from '../../src/map/index.js';
import { SOFTWIRE_KINDS, type SoftwireKind } from '../../src/softwire/index.js';
import { mkdtemp, rm } from 'node:fs/promises';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { fakeLeaser, fakeRouterConfig, startMaped, type MapedProcess } from '../support/daemon-process.js';
import { createFakeOpenBSD, type FakeOpenBSD } from '../support/fake-openbsd/index.js';
import { configuredSystem, wrapTools, type WrappedTools } from '../support/fault-wrapper.js';
import { processesNaming } from '../support/procfs.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

interface Router {
  readonly fake: FakeOpenBSD;
  readonly wrapped: WrappedTools;
  readonly dir: string;
  lease(hextet: string): void;
  start(through?: readonly string[], options?: { privsep?: 'one' }): MapedProcess;
}

/** A router of fake tools behind fault wrappers (test/support/fault-wrapper.ts), leasing like dhcp6leased. */
async function router(extraConfig: readonly string[] = []): Promise<Router> {
  const fake = await createFakeOpenBSD({ kernelPortset: true });
  const dir = await mkdtemp(join(tmpdir(), 'maped-hardening-'));
  cleanups.push(() => fake.cleanup(), () => rm(dir, { recursive: true, force: true }));
  const wrapped = await wrapTools(fake);
  const config = join(dir, 'maped.conf');
  writeFileSync(config, fakeRouterConfig(wrapped.tools, dir) + extraConfig.map((line) => `${line}\n`).join(''));
  return {
    fake,
    wrapped,
    dir,
    lease: fakeLeaser(fake, dir),
    start(through = [], options = {}) {
      const maped = startMaped(config, join(dir, 'maped.sock'), [], undefined, through, undefined, options);
      cleanups.push(async () => {
        if (maped.child.exitCode === null && maped.child.signalCode === null) {
          maped.signal('SIGKILL');
          await maped.exited;
        }
      });
      return maped;
    },
  };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until(condition: () => boolean | Promise<boolean>, what: string, timeoutMs = 60_000, everyMs = 25): Promise<void> {
  for (const deadline = Date.now() + timeoutMs; !(await condition()); await sleep(everyMs)) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
  }
}

/** A process that is gone or a zombie (it runs nothing any more; its parent has not reaped it yet). */
function gone(pid: number): boolean {
  try {
    return readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\) /s, '').startsWith('Z');
  } catch {
    return true;
  }
}

/** SIGTERM → exit, timed from this side. */
async function stopTimed(maped: MapedProcess): Promise<{ ms: number; code: number | null }> {
  const t = performance.now();
  maped.signal('SIGTERM');
  const code = await maped.exited;
  return { ms: performance.now() - t, code };
}

const CE_A = '2001:db8:12:3400:0:c000:212:34';
const CE_B = '2001:db8:12:5600:0:c000:212:56';
const wanAddresses = (fake: FakeOpenBSD): string[] => fake.state().interfaces['em0']?.inet6.map((a) => a.address) ?? [];
/** The /128s on the WAN: the CE addresses maped added (the fake's em0 has only its link-local and SLAAC addresses besides). */
const wanCeAddresses = (fake: FakeOpenBSD): string[] =>
  fake.state().interfaces['em0']?.inet6.filter((a) => a.prefixlen === 128).map((a) => a.address) ?? [];

describe('SIGTERM', () => {
  it('an idle maped stops within 200 ms of its own work, and its exit is no slower than a bare node process', async () => {
    const r = await router();
    r.lease('3400');
    const maped = r.start();
    await maped.waitFor((s) => s.state === 'active', 'active');
    // Nothing in flight: no tool called for half a second.
    let calls = -1;
    await until(() => {
      const now = r.fake.log().length;
      const quiet = now === calls;
      calls = now;
      return quiet;
    }, 'maped to be idle', 60_000, 500);

    // What the machine's load adds to any process's exit, measured the same way.
    const bare = spawn(process.execPath, ['-e', 'process.on("SIGTERM", () => process.exit(0)); setInterval(() => {}, 1 << 30); console.log("ready")'], {
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    await new Promise((ready) => bare.stdout.once('data', ready));
    const bareExited = new Promise((done) => bare.once('exit', done));
    const t = performance.now();
    bare.kill('SIGTERM');
    await bareExited;
    const bareMs = performance.now() - t;

    const { ms, code } = await stopTimed(maped);
    expect(code).toBe(0);
    const own = /SIGTERM: stopped in (\d+) ms/.exec(maped.output());
    expect(own, maped.output()).not.toBeNull();
    // The daemon's own work: closing the watcher, the socket, the pid file.
    expect(Number(own![1])).toBeLessThan(200);
    // From the signal to the exit as the parent sees it, beyond what a bare node needs.
    expect(ms - bareMs, `maped ${ms.toFixed(0)} ms, bare node ${bareMs.toFixed(0)} ms`).toBeLessThan(200);
  });

  it('while a tool hangs with a child holding its pipes: exits within 5 s, kills the group, leaves the last good state', async () => {
    const r = await router();
    r.lease('3400');
    const maped = r.start();
    await maped.waitFor((s) => s.state === 'active' && s.map?.ceIPv6 === CE_A, 'active on A');
    const lastGood = configuredSystem(r.fake.state());

    // The prefix moves to B and the anchor load hangs, ignoring SIGTERM, its child holding the pipes.
    await r.wrapped.setFault('pfctl -o none -a maped -f -', 'hang-child');
    r.lease('5600');
    // The new alias runs beside the anchor load (PlanStep.withNext): it is in once both have started.
    // Its run is over only once its process has exited, a moment after the fake changed the state:
    // still running at the stop's grace, it would be a second run killed there.
    const aliasRuns = (): number[] => processesNaming(`em0 inet6 ${CE_B} prefixlen 128 alias`);
    await until(
      async () => (await r.wrapped.hungPids()).length === 2 && wanAddresses(r.fake).includes(CE_B) && aliasRuns().length === 0,
      'the anchor load to hang beside the new alias, done',
    );

    const { ms, code } = await stopTimed(maped);
    expect(ms).toBeLessThan(5000);
    // The hung load was killed, the apply rolled back, and maped exited on its own (not at the deadline).
    expect(code, maped.output()).toBe(0);
    expect(maped.output()).toMatch(/SIGTERM: 1 tool runs still going after 1000 ms killed; rolling back/);
    expect(maped.output()).toMatch(/rolled back to the last good state/);
    const pids = await r.wrapped.hungPids();
    await until(() => pids.every(gone), `the hung pfctl and its child (${pids.join(' ')}) to be gone`, 10_000);
    expect(configuredSystem(r.fake.state())).toEqual(lastGood);
    expect(wanAddresses(r.fake)).not.toContain(CE_B);
  });
});

describe('out of file descriptors', () => {
  it('under ulimit -n, idle control connections fill the table: the apply fails naming the step, maped lives, and converges once they close', async () => {
    const r = await router();
    r.lease('3400');
    // The limit goes through sh's ulimit, node exec'd in its place (no shell word comes from outside).
    const LIMIT = 90;
    // One process: in two, the connections are the child's and the tools the parent's (maped.8
    // PRIVILEGE SEPARATION), so connections cannot take the descriptors a tool needs.
    const maped = r.start(['/bin/sh', '-c', `ulimit -n ${LIMIT} && exec "$@"`, 'sh'], { privsep: 'one' });
    await maped.waitFor((s) => s.state === 'active' && s.map?.ceIPv6 === CE_A, 'active on A');
    const pid = maped.child.pid!;
    expect(readFileSync(`/proc/${pid}/limits`, 'utf8')).toMatch(new RegExp(`Max open files +${LIMIT} +${LIMIT}`));
    const open = (): number => readdirSync(`/proc/${pid}/fd`).length;

    // Leave three descriptors free: enough to accept a status request, not
    // enough for a tool's /dev/null, two pipes and libuv's exec pipe.
    const clients: Socket[] = [];
    cleanups.push(() => clients.forEach((c) => c.destroy()));
    const target = LIMIT - 3;
    const connectOne = (): void => {
      const socket = connect(maped.socket);
      socket.on('error', () => undefined);
      clients.push(socket);
    };
    // One at a time near the end: maped's own descriptors come and go a little.
    await until(() => {
      if (open() >= target) return true;
      if (clients.length < 64) connectOne();
      return false;
    }, 'the connections to fill the descriptor table', 60_000, 50);
    expect(clients.length).toBeGreaterThan(10);

    r.lease('5600');
    await until(() => /EMFILE/.test(maped.output()), 'a tool run to fail with EMFILE');
    const degraded = await maped.waitFor((s) => s.state === 'degraded', 'degraded');
    expect(degraded.reason).toMatch(/EMFILE/);
    expect(degraded.nextRetryAt).not.toBeNull();
    expect(maped.child.exitCode).toBeNull();
    // Whatever the apply got to, nothing is half done: A's state, or B's whole.
    const ces = wanAddresses(r.fake).filter((a) => a === CE_A || a === CE_B);
    expect(ces).toHaveLength(1);

    for (const c of clients.splice(0)) c.destroy();
    const active = await maped.waitFor((s) => s.state === 'active' && s.map?.ceIPv6 === CE_B, 'active on B after the retry');
    expect(active.lastApply?.ok).toBe(true);
    expect(wanAddresses(r.fake).filter((a) => a === CE_A || a === CE_B)).toEqual([CE_B]);
    expect(r.fake.state().interfaces['gif0']?.tunnel?.source).toBe(CE_B);
  });
});

/**
 * Each softwire kind that adds an address to the WAN, as a static block
 * (MAP-E from the lease's S46 option), and its tunnel source under the
 * prefix 2001:db8:12:<hextet>::/56. DS-Lite on SLAAC adds none (its source
 * is the WAN's own address, never adopted: test/daemon/own-addresses.test.ts).
 */
interface KindCase {
  readonly config: readonly string[];
  readonly remote: string;
  ce(hextet: string): string;
}
const KINDS: Readonly<Record<SoftwireKind, KindCase>> = {
  // RFC 7597 Appendix A Example 1: the EA bits 0x34 give 192.0.2.18, PSID 0x34; the IID repeats them.
  'map-e': { config: [], remote: '2001:db8:ffff::1', ce: (h) => `2001:db8:12:${h}:0:c000:212:${h.slice(0, 2)}` },
  // RFC 7596 §5.1: 203.0.113.16 (cb00:7110) and PSID 3, in the delegated prefix's first /64.
  lw4o6: {
    config: ['softwire lw4o6', 'lw4o6 { ipv4 203.0.113.16 psid-offset 6 psid-len 8 psid 3 aftr 2001:db8:ffff::2 }'],
    remote: '2001:db8:ffff::2',
    ce: (h) => `2001:db8:12:${h}:0:cb00:7110:3`,
  },
  // 192.0.0.2 (RFC 6333 §5.7) as the interface identifier, in the delegated prefix's first /64.
  dslite: { config: ['softwire dslite', 'dslite { aftr 2001:db8:ffff::2 }'], remote: '2001:db8:ffff::2', ce: (h) => `2001:db8:12:${h}:0:c000:2:0` },
  // `local` as given: the same under every prefix.
  ipip: {
    config: ['softwire ipip', 'ipip { local 2001:db8:12:3400::7 remote 2001:db8:ffff::3 ipv4 203.0.113.1 }'],
    remote: '2001:db8:ffff::3',
    ce: () => '2001:db8:12:3400::7',
  },
};

describe('a lost ownership record, every softwire kind', () => {
  const RECORD = (r: Router) => join(r.dir, 'state', 'ownership.json');

  /** The next prefix change and `on-exit teardown` leave no old alias and no gif0. */
  async function convergesAndTearsDown(r: Router, maped: MapedProcess, ce: string): Promise<void> {
    await maped.waitFor((s) => s.state === 'active' && s.map?.ceIPv6 === ce, `active on ${ce}`);
    expect(wanCeAddresses(r.fake)).toEqual([ce]);
    expect(r.fake.state().interfaces['gif0']?.tunnel?.source).toBe(ce);
    const { code } = await stopTimed(maped);
    expect(code, maped.output()).toBe(0);
    expect(maped.output()).toMatch(/on-exit teardown done/);
    expect(wanCeAddresses(r.fake)).toEqual([]);
    expect(r.fake.state().interfaces['gif0']).toBeUndefined();
    expect(r.fake.state().routes.filter((route) => route.interface === 'gif0')).toEqual([]);
  }

  // IPIP's `local` does not follow the prefix: a prefix change adds no alias to be killed after.
  it.each((['map-e', 'lw4o6', 'dslite'] as const).map((kind) => [kind]))(
    '%s: kill -9 between the alias and the next step: the alias was recorded before it was added',
    async (kind) => {
      const k = KINDS[kind];
      const [ceA, ceB, ceC] = [k.ce('3400'), k.ce('5600'), k.ce('7800')];
      const r = await router(['on-exit teardown', ...k.config]);
      r.lease('3400');
      let maped = r.start();
      await maped.waitFor((s) => s.state === 'active' && s.map?.ceIPv6 === ceA, 'active on A');
      // The tunnel step, which runs beside the new alias (PlanStep.withNext), hangs; maped dies once the alias is in.
      await r.wrapped.setFault(`ifconfig gif0 tunnel ${ceB} ${k.remote}`, 'hang');
      r.lease('5600');
      await until(async () => (await r.wrapped.hungPids()).length === 1 && wanCeAddresses(r.fake).includes(ceB), 'the tunnel step to hang beside the new alias');
      expect(wanCeAddresses(r.fake).sort()).toEqual([ceA, ceB].sort());
      maped.signal('SIGKILL');
      await maped.exited;
      for (const pid of await r.wrapped.hungPids()) process.kill(-pid, 'SIGKILL');
      await r.wrapped.clearFault();
      const record = await readOwnership(join(r.dir, 'state'));
      expect(record.problem).toBeNull();
      expect(record.ownership.aliases.map(formatIpv6).sort()).toEqual([ceA, ceB].sort());

      r.lease('7800');
      maped = r.start();
      await convergesAndTearsDown(r, maped, ceC);
    },
  );

  const DAMAGES = {
    deleted: { damage: null, warning: (ceA: string) => `^warn: no ownership record; adopted from the live state: ${ceA}, gif0$` },
    'cut short by a crash': {
      damage: (text: string) => text.slice(0, Math.floor(text.length / 2)),
      warning: () => "^warn: ownership record lost: .*ownership\\.json: not JSON; adopting what the live state shows to be maped's$",
    },
    'written by another version': {
      damage: (text: string) => JSON.stringify({ ...JSON.parse(text), version: 0 }),
      warning: () => "^warn: ownership record lost: .*ownership\\.json: version 0, not 1; adopting what the live state shows to be maped's$",
    },
  } as const;
  type Damage = keyof typeof DAMAGES;
  const CASES: [SoftwireKind, Damage][] = [
    ...SOFTWIRE_KINDS.flatMap((kind) => [[kind, 'deleted'] as [SoftwireKind, Damage], [kind, 'cut short by a crash'] as [SoftwireKind, Damage]]),
    ['map-e', 'written by another version'],
  ];

  it.each(CASES)('%s, record %s: a warning, then what the live state shows to be ours is adopted', async (kind, what) => {
    const k = KINDS[kind];
    const { damage, warning } = DAMAGES[what];
    const [ceA, ceB] = [k.ce('3400'), k.ce('5600')];
    const r = await router(['on-exit teardown', ...k.config]);
    r.lease('3400');
    let maped = r.start();
    await maped.waitFor((s) => s.state === 'active' && s.map?.ceIPv6 === ceA, 'active on A');
    maped.signal('SIGKILL');
    await maped.exited;
    if (damage === null) rmSync(RECORD(r));
    else writeFileSync(RECORD(r), damage(readFileSync(RECORD(r), 'utf8')));

    r.lease('5600');
    maped = r.start();
    await maped.waitFor((s) => s.state === 'active' && s.map?.ceIPv6 === ceB, 'active on B');
    expect(maped.output()).toMatch(new RegExp(warning(ceA), 'm'));
    await convergesAndTearsDown(r, maped, ceB);
  });
});
