/**
 * Runs maped as a real child process for end-to-end tests: real files, a
 * real control socket, real signals. The OpenBSD tools are fakes.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { request } from '../../src/control/client.js';
import { StatusSchema, type Status } from '../../src/control/protocol.js';
import { processGone } from './procfs.js';
import { REPO_ROOT } from './vectors.js';

export const MAPED_ENTRY = resolve(REPO_ROOT, 'src', 'cli', 'maped.ts');
export const MAPEDCTL_ENTRY = resolve(REPO_ROOT, 'src', 'cli', 'mapedctl.ts');

/**
 * The maped.conf of a router made of fake tools: WAN em0, the lease file
 * `<dir>/lease/em0`, NAT for 192.168.1.0/24, state in `<dir>/state`.
 */
export function fakeRouterConfig(
  tools: Readonly<Record<'ifconfig' | 'route' | 'pfctl' | 'dhcp6leasectl', string>> & { readonly sysctl?: string },
  dir: string,
): string {
  return [
    'wan em0',
    `lease file "${join(dir, 'lease', 'em0')}"`,
    'nat from { 192.168.1.0/24 }',
    ...(['ifconfig', 'route', 'pfctl', 'dhcp6leasectl'] as const).map((t) => `tool ${t} "${tools[t]}"`),
    // Without one, maped would read the system checks with this machine's own /sbin/sysctl.
    ...(tools.sysctl === undefined ? [] : [`tool sysctl "${tools.sysctl}"`]),
    `state-dir "${join(dir, 'state')}"`,
    '',
  ].join('\n');
}

/** The S46 option of the bundled example lease: BMR 2001:db8::/40 → 192.0.2.0/24, ea-len 16, BR 2001:db8:ffff::1. */
const EXAMPLE_S46 = readFileSync(join(REPO_ROOT, 'examples', 'lease', 'em0'), 'utf8')
  .split('\n')
  .find((l) => l.startsWith('s46 '))!;

/**
 * The dhcp6leased of {@link fakeRouterConfig}'s router: each call delegates
 * 2001:db8:12:<hextet>::/56 on em0 with the example S46 option, the lease
 * file replaced by rename(2) as dhcp6leased does and `dhcp6leasectl -l`
 * saying the same.
 */
export function fakeLeaser(fake: { setLeasectl(iface: string, text: string | null): void }, dir: string): (hextet: string) => void {
  mkdirSync(join(dir, 'lease'), { recursive: true });
  let serial = 0;
  return (hextet) => {
    fake.setLeasectl('em0', `em0 [Bound]\n\tIA_PD 0: 2001:db8:12:${hextet}::/56\n\tlease 7 days\n`);
    const temp = join(dir, 'lease', `t${String(serial++).padStart(9, '0')}`);
    writeFileSync(temp, `ia_pd 0 2001:db8:12:${hextet}:: 56\n${EXAMPLE_S46}\n`);
    renameSync(temp, join(dir, 'lease', 'em0'));
  };
}

export interface MapedProcess {
  readonly child: ChildProcess;
  readonly socket: string;
  /** Everything maped wrote to stdout and stderr so far. */
  output(): string;
  status(): Promise<Status>;
  /** Polls status until `predicate` holds; fails with the last status and the log. */
  waitFor(predicate: (status: Status) => boolean, what: string, timeoutMs?: number): Promise<Status>;
  /** Resolves with the exit code once the process has exited. */
  exited: Promise<number | null>;
  signal(name: NodeJS.Signals): void;
}

/**
 * @param entry node arguments that run maped: the sources through tsx by
 *   default, or a built file (the packaging test runs the bundle).
 * @param through a command that execs node with the arguments after it
 *   (e.g. `sh -c 'ulimit -n 100; exec "$@"' sh`): the pid stays maped's.
 * @param options.privsep `split` (the default): maped in two processes as
 *   when started as root, without the uid change, so that every end-to-end
 *   test goes through the privileged parent's checks; `auto`: as maped
 *   decides by itself (as root, the child under maped.conf's `user`);
 *   `one`: one process even as root.
 * @param options.env variables added to maped's environment.
 */
export function startMaped(
  configPath: string,
  socket: string,
  extraArgs: string[] = [],
  entry: readonly string[] = ['--import', 'tsx', MAPED_ENTRY],
  through: readonly string[] = [],
  /** Without -d maped logs to syslog through `tool logger` instead of stderr. */
  logFlags: readonly string[] = ['-d', '-v'],
  options: { privsep?: 'split' | 'auto' | 'one'; env?: Readonly<Record<string, string>> } = {},
): MapedProcess {
  const env = { ...process.env, ...options.env };
  const privsep = options.privsep ?? 'split';
  if (privsep === 'auto') delete env.MAPED_PRIVSEP;
  else env.MAPED_PRIVSEP = privsep;
  const [file, ...before] = [...through, process.execPath];
  const child = spawn(file!, [...before, ...entry, ...logFlags, '-f', configPath, '-s', socket, ...extraArgs], {
    cwd: REPO_ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
    env,
  });
  let output = '';
  child.stdout?.setEncoding('utf8').on('data', (s: string) => (output += s));
  child.stderr?.setEncoding('utf8').on('data', (s: string) => (output += s));
  // 'close': its output read to the end too (the unprivileged child shares the pipes and may write last).
  const exited = new Promise<number | null>((done) => child.on('close', (code) => done(code)));

  const { status, waitFor } = statusPoller(socket, () => (child.exitCode === null ? null : `maped exited (${child.exitCode})`), () => output);
  return {
    child,
    socket,
    output: () => output,
    status,
    waitFor,
    exited,
    signal: (name) => child.kill(name),
  };
}

/**
 * status, and waitFor: polls status until `predicate` holds; fails with the
 * last status and the log, or at once when `ended` says maped is gone.
 */
function statusPoller(
  socket: string,
  ended: () => string | null,
  log: () => string,
): Pick<MapedProcess, 'status' | 'waitFor'> {
  // One request's deadline; waitFor asks again after a failed one. Through the privileged parent
  // to the child that answers, two processes to wake on a loaded machine: 2 s was close.
  const status = async (): Promise<Status> => StatusSchema.parse(await request(socket, 'status', 10_000));
  const waitFor = async (predicate: (s: Status) => boolean, what: string, timeoutMs = 60_000): Promise<Status> => {
    const deadline = Date.now() + timeoutMs;
    let last: Status | string = 'no answer yet';
    while (Date.now() < deadline) {
      const gone = ended();
      if (gone !== null) throw new Error(`${gone} waiting for ${what}:\n${log()}`);
      try {
        const current = await status();
        last = current;
        if (predicate(current)) return current;
      } catch (e) {
        last = (e as Error).message;
      }
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`timed out waiting for ${what}; last status: ${JSON.stringify(last)}\nlog:\n${log()}`);
  };
  return { status, waitFor };
}

/** maped in the background: the daemon a launcher left, known by its pid file. */
export interface BackgroundMaped {
  readonly pid: number;
  readonly socket: string;
  status(): Promise<Status>;
  waitFor(predicate: (status: Status) => boolean, what: string, timeoutMs?: number): Promise<Status>;
  signal(name: NodeJS.Signals): void;
  /** Resolves once the daemon has exited; fails after `timeoutMs`. */
  gone(timeoutMs?: number): Promise<void>;
}

export interface Launch {
  /** The launcher's exit status, once it has exited and its stdout and stderr have reached their end. */
  readonly code: number | null;
  readonly launcherPid: number;
  /** Everything the launcher wrote on stdout and stderr. */
  readonly output: string;
  /** The daemon the pid file names; null when there is no pid file. */
  readonly daemon: BackgroundMaped | null;
}

/** Daemons left in the background by launchMaped, for stopLaunchedMapeds. */
const launched = new Set<number>();

/**
 * Runs maped without -d, as rc.d does: the command puts maped in the
 * background and returns. Resolves when the launcher has exited and its
 * output pipes have reached their end (fails after 90 s: a daemon that kept
 * them open would hold them forever). Every daemon it leaves is stopped by
 * {@link stopLaunchedMapeds}, which the test file calls after each test.
 *
 * @param pidFile `<state-dir>/maped.pid` of the configuration.
 * @param options.logFlags flags before -f (default `-v`; never `-d`).
 * @param options.privsep as for {@link startMaped} (default `split`).
 */
export async function launchMaped(
  configPath: string,
  socket: string,
  pidFile: string,
  options: { privsep?: 'split' | 'auto' | 'one'; env?: Readonly<Record<string, string>>; logFlags?: readonly string[] } = {},
): Promise<Launch> {
  const env = { ...process.env, ...options.env };
  const privsep = options.privsep ?? 'split';
  if (privsep === 'auto') delete env.MAPED_PRIVSEP;
  else env.MAPED_PRIVSEP = privsep;
  const launcher = spawn(process.execPath, ['--import', 'tsx', MAPED_ENTRY, ...(options.logFlags ?? ['-v']), '-f', configPath, '-s', socket], {
    cwd: REPO_ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
    env,
  });
  let output = '';
  launcher.stdout.setEncoding('utf8').on('data', (s: string) => (output += s));
  launcher.stderr.setEncoding('utf8').on('data', (s: string) => (output += s));
  const code = await closedWithin(launcher, 90_000, () => `maped's launcher: its output did not end within 90 s (exited: ${launcher.exitCode}); output:\n${output}`);
  const daemon = backgroundMaped(pidFile, socket);
  if (daemon !== null) launched.add(daemon.pid);
  return { code, launcherPid: launcher.pid!, output, daemon };
}

/**
 * The exit status of `child` once its output has ended ('close'); past
 * `timeoutMs` it is killed and the promise fails with `why()`, as a
 * process that a descendant's open pipe keeps alive would never close.
 */
export async function closedWithin(child: ChildProcess, timeoutMs: number, why: () => string): Promise<number | null> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    new Promise<number | null>((done) => child.once('close', (status) => done(status))),
    new Promise<never>((_, fail) => {
      timer = setTimeout(() => {
        child.kill('SIGKILL');
        fail(new Error(why()));
      }, timeoutMs);
    }),
  ]).finally(() => clearTimeout(timer));
}

/** The daemon whose pid `pidFile` holds; null when there is no pid file. */
export function backgroundMaped(pidFile: string, socket: string): BackgroundMaped | null {
  if (!existsSync(pidFile)) return null;
  const pid = Number.parseInt(readFileSync(pidFile, 'utf8'), 10);
  const { status, waitFor } = statusPoller(socket, () => (processGone(pid) ? `maped (pid ${pid}) is gone` : null), () => `(maped ${pid} logs to syslog)`);
  return {
    pid,
    socket,
    status,
    waitFor,
    signal: (name) => process.kill(pid, name),
    async gone(timeoutMs = 30_000) {
      const deadline = Date.now() + timeoutMs;
      while (!processGone(pid)) {
        if (Date.now() > deadline) throw new Error(`maped (pid ${pid}) still runs after ${timeoutMs / 1000} s`);
        await new Promise((r) => setTimeout(r, 50));
      }
    },
  };
}

/** Stops every daemon launchMaped left: SIGTERM, then after 10 s SIGKILL to its process group. */
export async function stopLaunchedMapeds(): Promise<void> {
  const pids = [...launched];
  launched.clear();
  await Promise.all(
    pids.map(async (pid) => {
      if (processGone(pid)) return;
      try {
        process.kill(pid, 'SIGTERM');
      } catch {
        return;
      }
      const deadline = Date.now() + 10_000;
      while (!processGone(pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      if (processGone(pid)) return;
      try {
        process.kill(-pid, 'SIGKILL');
      } catch {
        // Gone meanwhile.
      }
    }),
  );
}
