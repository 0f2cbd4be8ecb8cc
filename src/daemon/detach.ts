/**
 * maped(8) without -d puts itself in the background, as OpenBSD's daemons
 * do with daemon(3): the command an admin (or rc.d) runs checks its
 * arguments and configuration in the foreground, starts maped again in a
 * session of its own, waits until that daemon is up, and exits 0; or says
 * on stderr why the daemon did not come up, and exits 1
 * (docs/architecture.md §3.1).
 *
 * Node cannot fork(2) itself, so the daemon is a new node process:
 * `spawn` with `detached: true` calls setsid(2) in the child (libuv's
 * uv__process_child_init), so it leaves the terminal's session and process
 * group and a ^C, a hang-up or rc's process group no longer reach it. Its
 * stdin, stdout and stderr are /dev/null: it must not keep the launcher's
 * output open, or whoever reads that output (a terminal pipeline, rc.d's
 * `daemon_logger`, a test) would never see its end (rc.d/maped explains
 * rc.subr's case).
 *
 * The daemon tells the launcher how its start went over a pipe on fd 3,
 * one JSON line, and closes it: `ready` once its pid file is written and
 * its control socket listens, or `failed` with the reason. Which process
 * is the daemon is told by an environment variable that maped removes
 * from its environment at once, so that nothing it starts inherits it.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, closeSync, constants, fstatSync, writeSync } from 'node:fs';
import type { Readable } from 'node:stream';
import { z } from 'zod';
import { killGroup } from '../apply/tool-process.js';
import { err, ok, type Result } from '../map/index.js';

/** The launcher sets it to the readiness channel's descriptor; not for users (maped(8) ENVIRONMENT lists only MAPED_PRIVSEP). */
export const DETACHED_ENV = 'MAPED_DETACHED';
const CHANNEL_FD = 3;

/**
 * How long the launcher waits for `ready`. Below rc.subr's default
 * `daemon_timeout` of 30 s, after which rc.d's start gives up on a
 * start that has not returned (rc.subr 1.162 `_rc_wait_for_start`,
 * lines 152-162): the launcher ends a start that hangs and says why first.
 */
export const READY_TIMEOUT_MS = 25_000;
/** After `failed`, how long the daemon has to exit by itself before its group is killed. */
const EXIT_GRACE_MS = 2000;
/** A reason is cut to MAX_REASON_CHARS; a report of one, every character escaped (six for one), fits MAX_REPORT_CHARS. */
const MAX_REASON_CHARS = 8192;
const MAX_REPORT_CHARS = 64 * 1024;

const ReportSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('ready') }).strict(),
  z.object({ type: z.literal('failed'), reason: z.string().min(1).max(MAX_REASON_CHARS) }).strict(),
]);
type Report = z.infer<typeof ReportSchema>;

export interface LaunchOptions {
  /** Node and its options (process.execPath, process.execArgv). */
  readonly execPath: string;
  readonly execArgv: readonly string[];
  /** The script and its arguments (process.argv without node). */
  readonly args: readonly string[];
  readonly env: NodeJS.ProcessEnv;
  readonly timeoutMs?: number;
}

/**
 * Starts the daemon in the background and waits for its report. Resolves
 * with the daemon's pid once it is ready, or with the reason it is not;
 * when it is not, no process of its group is left. Never rejects.
 */
export function startInBackground(options: LaunchOptions): Promise<Result<number>> {
  const timeoutMs = options.timeoutMs ?? READY_TIMEOUT_MS;
  return new Promise((resolve) => {
    let child: ChildProcess;
    try {
      child = spawn(options.execPath, [...options.execArgv, ...options.args], {
        detached: true,
        stdio: ['ignore', 'ignore', 'ignore', 'pipe'],
        env: { ...options.env, [DETACHED_ENV]: String(CHANNEL_FD) },
      });
    } catch (e) {
      // Out of descriptors for the channel, say.
      resolve(err(`cannot start the daemon: ${(e as Error).message}`));
      return;
    }
    // fd 3 is a socketpair(2) whose launcher end node reads as a stream.
    const channel = child.stdio[CHANNEL_FD] as Readable;
    let received = '';
    let report: Report | null = null;
    let settled = false;
    let grace: NodeJS.Timeout | undefined;

    const finish = (result: Result<number>): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      clearTimeout(grace);
      process.off('SIGINT', interrupted);
      process.off('SIGTERM', interrupted);
      channel.destroy();
      child.unref();
      resolve(result);
    };
    const give = (reason: string): void => {
      killGroup(child.pid, 'SIGKILL');
      finish(err(reason));
    };
    function interrupted(): void {
      give('interrupted while starting; the daemon was stopped');
    }

    const timer = setTimeout(() => give(`the daemon was not ready within ${timeoutMs / 1000} s; it was stopped`), timeoutMs);
    process.once('SIGINT', interrupted);
    process.once('SIGTERM', interrupted);
    child.once('error', (e) => give(`cannot start the daemon: ${e.message}`));
    channel.setEncoding('utf8');
    channel.on('error', () => undefined);
    channel.on('data', (chunk: string) => {
      if (report !== null) return;
      received += chunk;
      if (received.length > MAX_REPORT_CHARS) return give('the daemon said more than a report; it was stopped');
      const end = received.indexOf('\n');
      if (end < 0) return;
      let parsed: ReturnType<typeof ReportSchema.safeParse>;
      try {
        parsed = ReportSchema.safeParse(JSON.parse(received.slice(0, end)));
      } catch {
        return give('the daemon sent a report that is not JSON; it was stopped');
      }
      if (!parsed.success) return give('the daemon sent a report that does not validate; it was stopped');
      report = parsed.data;
      if (report.type === 'ready') return finish(ok(child.pid!));
      // It exits by itself after saying why ('close' below); if it does not, its group is ended.
      const reason = report.reason;
      grace = setTimeout(() => give(reason), EXIT_GRACE_MS);
    });
    // 'close': exited and fd 3 read to its end, so a report written just before the exit is in.
    child.once('close', (code, signal) => {
      if (report?.type === 'failed') return finish(err(report.reason));
      give(`the daemon exited (${signal ?? `status ${code}`}) before it was ready`);
    });
  });
}

/** The daemon's end of the channel. */
export interface Readiness {
  /** The pid file is written and the control socket listens: the launcher may return. */
  ready(): void;
  /** The daemon cannot start; the caller exits 1 after it. */
  failed(reason: string): void;
}

/**
 * In the daemon the launcher started: its end of the channel, with the
 * marker taken out of `env`; null in any other maped. A marker without a
 * usable descriptor (set by hand) still makes a daemon, which then has no
 * one to report to, rather than a launcher that would start itself again.
 */
export function takeReadiness(env: NodeJS.ProcessEnv = process.env): Readiness | null {
  const marker = env[DETACHED_ENV];
  if (marker === undefined) return null;
  delete env[DETACHED_ENV];
  let open = marker === String(CHANNEL_FD) && isPipe(CHANNEL_FD);
  const say = (report: Report): void => {
    if (!open) return;
    open = false;
    try {
      writeSync(CHANNEL_FD, `${JSON.stringify(report)}\n`);
    } catch {
      // The launcher is gone (killed while it waited): nobody to tell.
    }
    closeSync(CHANNEL_FD);
  };
  return {
    ready: () => say({ type: 'ready' }),
    failed: (reason) => say({ type: 'failed', reason: reason.slice(0, MAX_REASON_CHARS) || 'failed' }),
  };
}

function isPipe(fd: number): boolean {
  try {
    const stat = fstatSync(fd);
    return stat.isFIFO() || stat.isSocket();
  } catch {
    return false;
  }
}

/** Why `path` cannot be run (access(2) with X_OK), or null. */
export function programProblem(path: string): string | null {
  try {
    accessSync(path, constants.X_OK);
    return null;
  } catch (e) {
    return `cannot be run (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`;
  }
}
