/**
 * Runs maped as a real child process for end-to-end tests: real files, a
 * real control socket, real signals. The OpenBSD tools are fakes.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { join, resolve } from 'node:path';
import { request } from '../../src/control/client.js';
import { StatusSchema, type Status } from '../../src/control/protocol.js';
import { REPO_ROOT } from './vectors.js';

export const MAPED_ENTRY = resolve(REPO_ROOT, 'src', 'cli', 'maped.ts');
export const MAPEDCTL_ENTRY = resolve(REPO_ROOT, 'src', 'cli', 'mapedctl.ts');

/**
 * The maped.conf of a router made of fake tools: WAN em0, the lease file
 * `<dir>/lease/em0`, NAT for 192.168.1.0/24, state in `<dir>/state`.
 */
export function fakeRouterConfig(tools: Readonly<Record<'ifconfig' | 'route' | 'pfctl' | 'dhcp6leasectl', string>>, dir: string): string {
  return [
    'wan em0',
    `lease file "${join(dir, 'lease', 'em0')}"`,
    'nat from { 192.168.1.0/24 }',
    ...(['ifconfig', 'route', 'pfctl', 'dhcp6leasectl'] as const).map((t) => `tool ${t} "${tools[t]}"`),
    `state-dir "${join(dir, 'state')}"`,
    '',
  ].join('\n');
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
 */
export function startMaped(
  configPath: string,
  socket: string,
  extraArgs: string[] = [],
  entry: readonly string[] = ['--import', 'tsx', MAPED_ENTRY],
): MapedProcess {
  const child = spawn(process.execPath, [...entry, '-d', '-v', '-f', configPath, '-s', socket, ...extraArgs], {
    cwd: REPO_ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout?.setEncoding('utf8').on('data', (s: string) => (output += s));
  child.stderr?.setEncoding('utf8').on('data', (s: string) => (output += s));
  const exited = new Promise<number | null>((done) => child.on('exit', (code) => done(code)));

  const status = async (): Promise<Status> => StatusSchema.parse(await request(socket, 'status', 2000));
  const waitFor = async (predicate: (s: Status) => boolean, what: string, timeoutMs = 60_000): Promise<Status> => {
    const deadline = Date.now() + timeoutMs;
    let last: Status | string = 'no answer yet';
    while (Date.now() < deadline) {
      if (child.exitCode !== null) throw new Error(`maped exited (${child.exitCode}) waiting for ${what}:\n${output}`);
      try {
        const current = await status();
        last = current;
        if (predicate(current)) return current;
      } catch (e) {
        last = (e as Error).message;
      }
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`timed out waiting for ${what}; last status: ${JSON.stringify(last)}\nlog:\n${output}`);
  };
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
