/**
 * Starting one OpenBSD tool (ifconfig, route, pfctl, dhcp6leasectl) and
 * getting a verdict back, whatever the tool does:
 *
 * - it runs in a process group of its own (setsid(2) through `detached`), so
 *   a timeout kills the tool and everything it started (kill(2) with a
 *   negative pid), also children that ignore SIGTERM;
 * - the verdict comes when the tool has exited and its pipes are closed, or
 *   at most a short grace after its exit: a child left holding the pipes
 *   (`sleep 1000 &`) is killed with its group and no longer waited for;
 * - a tool that cannot be started (EMFILE, ENOENT, EACCES, EAGAIN) is a
 *   failed run like any other, never an exception or an 'error' event;
 * - output is capped; past the cap the group is killed.
 *
 * The promise never rejects.
 */
import { spawn, type ChildProcess } from 'node:child_process';

export interface ToolRunOptions {
  readonly timeoutMs: number;
  /** Bytes of stdout or stderr after which the tool is stopped. */
  readonly maxOutput: number;
  readonly env: Readonly<Record<string, string>>;
  /** Text for standard input; without it stdin is /dev/null. */
  readonly stdin?: string;
}

export interface ToolRun {
  readonly ok: boolean;
  readonly exitCode: number | null;
  readonly stdout: string;
  readonly stderr: string;
  /** Why it failed, one line (how it ended, not what it printed); null when it exited 0. */
  readonly failure: string | null;
  readonly timedOut: boolean;
  /** The errno code when the tool could not be started at all. */
  readonly spawnError: string | null;
}

/** After the tool exits, how long its pipes may stay open before its group is killed. */
export const PIPE_GRACE_MS = 250;
/** After SIGKILL, how long to wait for the exit before giving up on the process. */
const KILL_GRACE_MS = 2000;

/** Process groups of tools still running, for {@link killRunningTools}. */
const running = new Set<number>();

/** Sends `signal` to the process group `pid` leads (a child spawned detached, setsid(2)); a gone group is no error. */
export function killGroup(pid: number | undefined, signal: NodeJS.Signals): void {
  if (pid === undefined) return;
  try {
    process.kill(-pid, signal);
  } catch {
    // ESRCH: the group is gone already.
  }
}

/** Kills every tool still running (maped is exiting and will not wait for them). */
export function killRunningTools(): number {
  const groups = [...running];
  for (const pid of groups) killGroup(pid, 'SIGKILL');
  running.clear();
  return groups.length;
}

export type ToolRunner = (file: string, args: readonly string[], options: ToolRunOptions) => Promise<ToolRun>;

/** Who runs the tools of this process: itself, or (the unprivileged child) its privileged parent. */
let runner: ToolRunner | null = null;

/**
 * In the unprivileged child of a privilege-separated maped every tool run
 * goes to the parent (src/daemon/privsep-child.ts), which checks it against
 * the allowlist and runs it here, with {@link runToolHere}.
 */
export function useToolRunner(next: ToolRunner): void {
  runner = next;
}

export function runTool(file: string, args: readonly string[], options: ToolRunOptions): Promise<ToolRun> {
  return runner === null ? runToolHere(file, args, options) : runner(file, args, options);
}

/** Runs the tool in this process (in its own process group), whoever asked. */
export function runToolHere(file: string, args: readonly string[], options: ToolRunOptions): Promise<ToolRun> {
  return new Promise<ToolRun>((resolve) => {
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let outBytes = 0;
    let errBytes = 0;
    let exitCode: number | null = null;
    let exitSignal: NodeJS.Signals | null = null;
    let exited = false;
    let timedOut = false;
    let overflow = false;
    let spawnError: string | null = null;
    let done = false;
    /** Output arrived since the last look: the pipes are still delivering. */
    let delivering = false;
    const timers: NodeJS.Timeout[] = [];
    const later = (ms: number, fn: () => void): void => {
      const t = setTimeout(fn, ms);
      t.unref?.();
      timers.push(t);
    };

    let child: ChildProcess;
    try {
      child = spawn(file, [...args], {
        stdio: [options.stdin === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
        detached: true,
        shell: false,
        env: { ...options.env },
        windowsHide: true,
      });
    } catch (e) {
      // Synchronous spawn failures (EMFILE while creating the pipes, on some versions).
      const code = (e as NodeJS.ErrnoException).code ?? (e as Error).message;
      resolve({ ok: false, exitCode: null, stdout: '', stderr: '', failure: `cannot run ${file}: ${code}`, timedOut: false, spawnError: code });
      return;
    }
    const pid = child.pid;
    if (pid !== undefined) running.add(pid);

    const finish = (): void => {
      if (done) return;
      done = true;
      for (const t of timers) clearTimeout(t);
      if (pid !== undefined) running.delete(pid);
      // Whatever is left of the group (a child holding the pipes) goes with it.
      killGroup(pid, 'SIGKILL');
      child.stdout?.destroy();
      child.stderr?.destroy();
      child.stdin?.destroy();
      const stdout = Buffer.concat(out).toString('utf8');
      const stderr = Buffer.concat(err).toString('utf8');
      let failure: string | null = null;
      if (spawnError !== null) failure = `cannot run ${file}: ${spawnError}`;
      else if (timedOut) failure = `timed out after ${options.timeoutMs} ms`;
      else if (overflow) failure = `printed more than ${options.maxOutput} bytes`;
      else if (!exited) failure = 'did not exit after SIGKILL';
      else if (exitSignal !== null) failure = `killed by ${exitSignal}`;
      else if (exitCode !== 0) failure = `exit status ${exitCode}`;
      resolve({ ok: failure === null, exitCode, stdout, stderr, failure, timedOut, spawnError });
    };

    const stop = (): void => {
      killGroup(pid, 'SIGKILL');
      // An exit that does not come after SIGKILL (a process stuck in the kernel) is not waited for forever.
      later(KILL_GRACE_MS, finish);
    };

    child.on('error', (e: NodeJS.ErrnoException) => {
      // Spawn failures (EMFILE, ENOENT, EACCES, EAGAIN) arrive here, without a pid;
      // a failed kill of a running tool also would, and changes nothing here.
      if (pid !== undefined) return;
      spawnError = e.code ?? e.message;
      finish();
    });
    const collect = (chunks: Buffer[], add: (n: number) => number) => (chunk: Buffer) => {
      delivering = true;
      if (overflow) return;
      if (add(chunk.length) > options.maxOutput) {
        overflow = true;
        stop();
        return;
      }
      chunks.push(chunk);
    };
    child.stdout?.on('data', collect(out, (n) => (outBytes += n)));
    child.stderr?.on('data', collect(err, (n) => (errBytes += n)));
    child.stdout?.on('error', () => undefined);
    child.stderr?.on('error', () => undefined);
    /**
     * The grace is over: finish once a turn of the event loop brings no more
     * output. On a loaded machine the tool's last output can still sit in
     * the pipe when the timer fires (timers run before I/O is polled); it is
     * read first, so an answer is never cut short, while a pipe held open by
     * a silent child ends the wait.
     */
    const finishWhenQuiet = (): void => {
      delivering = false;
      setImmediate(() => {
        if (done) return;
        if (delivering) finishWhenQuiet();
        else finish();
      });
    };
    child.on('exit', (code, signal) => {
      exited = true;
      exitCode = code;
      exitSignal = signal;
      // Normally 'close' follows at once; a child holding the pipes gets a short grace.
      if (timedOut || overflow) finish();
      else later(PIPE_GRACE_MS, finishWhenQuiet);
    });
    child.on('close', finish);

    if (child.stdin) {
      // A tool that exits without reading its input: EPIPE is its answer, not ours to throw.
      child.stdin.on('error', () => undefined);
      child.stdin.end(options.stdin);
    }

    later(options.timeoutMs, () => {
      if (done) return;
      timedOut = true;
      stop();
    });
  });
}
