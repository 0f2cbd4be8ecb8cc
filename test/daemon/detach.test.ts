/**
 * maped puts itself in the background (maped(8) -d, src/daemon/detach.ts).
 * First the launcher against stand-in daemons that start well, fail, die,
 * hang or talk nonsense; then the real maped without -d, as rc.d starts it.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { spawn } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { DETACHED_ENV, startInBackground, takeReadiness } from '../../src/daemon/detach.js';
import { fakeLeaser, fakeRouterConfig, launchMaped, stopLaunchedMapeds } from '../support/daemon-process.js';
import { createFakeLogger } from '../support/fake-logger.js';
import { createFakeOpenBSD, type FakeOpenBSD } from '../support/fake-openbsd/index.js';
import { childrenOf, commandLineOf, descriptorTarget, processesNaming, processGone, sessionOf } from '../support/procfs.js';
import { REPO_ROOT } from '../support/vectors.js';

const STAND_IN = join(REPO_ROOT, 'test', 'support', 'detached-test-daemon.ts');

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  await stopLaunchedMapeds();
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function tempDir(name: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), `maped-${name}-`));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

async function until(what: string, done: () => boolean, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!done()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** The launcher on the stand-in daemon in `mode`; kills whatever it leaves afterwards. */
async function launchStandIn(mode: string, file: string, timeoutMs?: number) {
  const result = await startInBackground({
    execPath: process.execPath,
    execArgv: ['--import', 'tsx'],
    args: [STAND_IN, mode, file],
    env: { ...process.env },
    ...(timeoutMs === undefined ? {} : { timeoutMs }),
  });
  if (result.ok) {
    cleanups.push(() => {
      try {
        process.kill(-result.value, 'SIGKILL');
      } catch {
        // Gone.
      }
    });
  }
  return result;
}

describe('the launcher', () => {
  it('returns the pid of a daemon that reports ready; the daemon runs on, in a session of its own, without the marker', async () => {
    const dir = await tempDir('detach');
    const result = await launchStandIn('ready', join(dir, 'seen'));
    expect(result.ok).toBe(true);
    const pid = result.ok ? result.value : 0;
    expect(processGone(pid)).toBe(false);
    expect(sessionOf(pid)).toBe(pid);
    // The marker is out of what the daemon's own children inherit.
    expect(JSON.parse(readFileSync(join(dir, 'seen'), 'utf8'))).toEqual({ marker: null, readiness: true });
    // stdin, stdout and stderr are /dev/null; the channel on fd 3 is closed.
    expect([0, 1, 2].map((fd) => descriptorTarget(pid, fd))).toEqual(['/dev/null', '/dev/null', '/dev/null']);
    // The daemon closes fd 3 right after writing the report (takeReadiness), so
    // the launcher may return between the write and the close: wait for it.
    const channelOpen = (): boolean => {
      try {
        descriptorTarget(pid, 3);
        return true;
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'ENOENT') return false;
        throw e;
      }
    };
    await until('the daemon to close fd 3', () => !channelOpen(), 10_000);
  });

  it('gives the reason a daemon reports, once it has exited', async () => {
    const dir = await tempDir('detach');
    expect(await launchStandIn('failed', join(dir, 'seen'))).toEqual({ ok: false, error: 'state-dir /nonexistent: cannot be made' });
  });

  it('says so when the daemon exits without a report', async () => {
    const dir = await tempDir('detach');
    expect(await launchStandIn('silent-exit', join(dir, 'seen'))).toEqual({ ok: false, error: 'the daemon exited (status 3) before it was ready' });
  });

  it('stops a daemon that sends what is not a report', async () => {
    const dir = await tempDir('detach');
    const before = new Set(processesNaming(STAND_IN));
    expect(await launchStandIn('garbage', join(dir, 'seen'))).toEqual({ ok: false, error: 'the daemon sent a report that is not JSON; it was stopped' });
    await until('the stand-in to be gone', () => processesNaming(STAND_IN).every((pid) => before.has(pid)));
  });

  it('stops the process group of a daemon that is not ready in time, and says so', async () => {
    const dir = await tempDir('detach');
    const sleeperFile = join(dir, 'sleeper');
    const before = new Set(processesNaming(STAND_IN));
    // Time enough for node to start the stand-in and the stand-in its sleep, even on a loaded machine.
    expect(await launchStandIn('hang', sleeperFile, 15_000)).toEqual({ ok: false, error: 'the daemon was not ready within 15 s; it was stopped' });
    expect(existsSync(sleeperFile)).toBe(true);
    const sleeper = Number(readFileSync(sleeperFile, 'utf8'));
    await until('the sleep the stand-in started to be gone', () => processGone(sleeper));
    await until('the stand-in to be gone', () => processesNaming(STAND_IN).every((pid) => before.has(pid)));
  });

  it('takeReadiness: null without the marker; with it, a channel that tolerates a missing descriptor, and the marker gone', () => {
    expect(takeReadiness({})).toBeNull();
    const env: NodeJS.ProcessEnv = { [DETACHED_ENV]: '7' };
    const readiness = takeReadiness(env);
    expect(readiness).not.toBeNull();
    expect(env).toEqual({});
    expect(() => readiness!.ready()).not.toThrow();
  });
});

interface Router {
  fake: FakeOpenBSD;
  dir: string;
  config: string;
  socket: string;
  pidFile: string;
}

/** The fake router of the daemon tests, on a lease, logging through a fake logger(1) or `loggerPath`. */
async function router(loggerPath?: string): Promise<Router> {
  const fake = await createFakeOpenBSD({ kernelPortset: true });
  cleanups.push(() => fake.cleanup());
  const dir = await tempDir('detach-router');
  const logger = createFakeLogger();
  cleanups.push(() => rmSync(logger.dir, { recursive: true, force: true }));
  fakeLeaser(fake, dir)('3400');
  mkdirSync(join(dir, 'state'));
  const config = join(dir, 'maped.conf');
  writeFileSync(config, `${fakeRouterConfig(fake.tools, dir)}tool logger "${loggerPath ?? logger.path}"\n`);
  return { fake, dir, config, socket: join(dir, 'maped.sock'), pidFile: join(dir, 'state', 'maped.pid') };
}

describe('maped without -d', () => {
  it('returns 0 once the daemon is up; the daemon runs on in its own session, releases the launcher\'s output, answers status, and stops on SIGTERM', async () => {
    const r = await router();
    const launch = await launchMaped(r.config, r.socket, r.pidFile);
    // launchMaped resolved: the launcher exited and its stdout and stderr pipes reached their end.
    expect(launch.output).toBe('');
    expect(launch.code).toBe(0);
    const daemon = launch.daemon!;
    expect(daemon.pid).not.toBe(launch.launcherPid);
    expect(processGone(daemon.pid)).toBe(false);
    expect(sessionOf(daemon.pid)).toBe(daemon.pid);
    expect([0, 1, 2].map((fd) => descriptorTarget(daemon.pid, fd))).toEqual(['/dev/null', '/dev/null', '/dev/null']);
    const active = await daemon.waitFor((s) => s.state === 'active', 'active');
    expect(active.pid).toBe(daemon.pid);
    // Two processes (MAPED_PRIVSEP=split): the unprivileged child is the daemon's.
    const children = childrenOf(daemon.pid).filter((pid) => commandLineOf(pid).includes('maped-child'));
    expect(children).toHaveLength(1);
    // The child starts with /dev/null three times and its channel on fd 3, a socket of its own: none of
    // the daemon's (the control socket, a client's connection) reaches it. Its other sockets are its own
    // (its logger's pipes, DNS), open in the daemon under no descriptor.
    const child = children[0]!;
    expect([0, 1, 2].map((fd) => descriptorTarget(child, fd))).toEqual(['/dev/null', '/dev/null', '/dev/null']);
    const sockets = (pid: number): string[] =>
      readdirSync(`/proc/${pid}/fd`).flatMap((fd) => {
        try {
          const target = descriptorTarget(pid, Number(fd));
          return target.startsWith('socket:') ? [target] : [];
        } catch {
          return []; // Closed meanwhile.
        }
      });
    expect(descriptorTarget(child, 3)).toMatch(/^socket:/);
    const daemonSockets = new Set(sockets(daemon.pid));
    expect(daemonSockets.size).toBeGreaterThan(0);
    expect(sockets(child).filter((socket) => daemonSockets.has(socket))).toEqual([]);
    expect(r.fake.state().anchors['maped']?.length).toBeGreaterThan(0);

    daemon.signal('SIGTERM');
    await daemon.gone();
    expect(existsSync(r.pidFile)).toBe(false);
    expect(existsSync(r.socket)).toBe(false);
    expect(processesNaming(r.config)).toEqual([]);
  });

  it('a configuration that does not load: exit 1 with the reason in one line, and no daemon', async () => {
    const r = await router();
    writeFileSync(r.config, `${readFileSync(r.config, 'utf8')}tunel gif0\n`);
    const launch = await launchMaped(r.config, r.socket, r.pidFile);
    expect(launch.code).toBe(1);
    expect(launch.output).toMatch(new RegExp(`^maped: ${r.config.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:\\d+:1: .*tunel.*\\n$`));
    expect(launch.daemon).toBeNull();
    expect(processesNaming(r.config)).toEqual([]);
  });

  it('a logger(1) that cannot be run: exit 1 naming it, and no daemon (it would log nowhere)', async () => {
    const r = await router('/nonexistent/logger');
    const launch = await launchMaped(r.config, r.socket, r.pidFile);
    expect(launch.output).toBe('maped: tool logger /nonexistent/logger: cannot be run (ENOENT); without -d maped logs through it\n');
    expect(launch.code).toBe(1);
    expect(launch.daemon).toBeNull();
    expect(processesNaming(r.config)).toEqual([]);
  });

  it('a daemon that cannot start after it left: a pid file held by a live maped; exit 1 naming it', async () => {
    const r = await router();
    // A process titled "maped", as the daemon titles itself, holding the pid file.
    const other = spawn(process.execPath, ['-e', "process.title = 'maped'; console.log('up'); setInterval(() => {}, 1000)"], { stdio: ['ignore', 'pipe', 'ignore'] });
    cleanups.push(() => void other.kill('SIGKILL'));
    await new Promise((resolve) => other.stdout.once('data', resolve));
    writeFileSync(r.pidFile, `${other.pid}\n`);
    const launch = await launchMaped(r.config, r.socket, r.pidFile);
    expect(launch.output).toBe(`maped: already running (pid ${other.pid}, ${r.pidFile})\n`);
    expect(launch.code).toBe(1);
    expect(processesNaming(r.config)).toEqual([]);
    expect(readFileSync(r.pidFile, 'utf8')).toBe(`${other.pid}\n`);
  });

  it('a daemon that cannot start after it left: a control socket path taken by a file; exit 1 naming it, pid file released', async () => {
    const r = await router();
    writeFileSync(r.socket, 'not a socket');
    const launch = await launchMaped(r.config, r.socket, r.pidFile);
    expect(launch.output).toBe(`maped: control socket ${r.socket}: exists and is not a socket; not replacing it\n`);
    expect(launch.code).toBe(1);
    expect(processesNaming(r.config)).toEqual([]);
    expect(existsSync(r.pidFile)).toBe(false);
    expect(r.fake.mutations()).toEqual([]);
  });
});
