/**
 * The router the daemon benchmarks drive: served fake OpenBSD tools (the
 * C client, about a millisecond a call), a maped.conf pointing at them, and
 * a lease directory whose lease file is replaced by rename(2) as
 * dhcp6leased does, carrying the S46 option of the bundled example lease.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fakeLeaser, fakeRouterConfig } from '../test/support/daemon-process.js';
import { createFakeOpenBSD, type FakeOpenBSD } from '../test/support/fake-openbsd/index.js';
import { request } from '../src/control/client.js';
import { StatusSchema, type Status } from '../src/control/protocol.js';
import { cliArgv, PRIVSEP_ENV, rcNodeFlags } from './support.js';

export interface BenchRouter {
  readonly fake: FakeOpenBSD;
  readonly dir: string;
  readonly config: string;
  readonly socket: string;
  /** Delegates 2001:db8:12:<hextet>::/56 on em0: dhcp6leasectl and the lease file both say so. */
  lease(hextet: string): void;
  remove(): Promise<void>;
}

export async function benchRouter(name: string): Promise<BenchRouter> {
  const fake = await createFakeOpenBSD({ kernelPortset: true, served: true });
  const dir = await mkdtemp(join(tmpdir(), `maped-${name}-`));
  const config = join(dir, 'maped.conf');
  writeFileSync(config, fakeRouterConfig(fake.tools, dir));
  return {
    fake,
    dir,
    config,
    socket: join(dir, 'maped.sock'),
    lease: fakeLeaser(fake, dir),
    async remove() {
      await fake.cleanup();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Asks maped for its status every `everyMs` until `predicate` holds; fails with the last answer. */
export async function waitStatus(socket: string, predicate: (s: Status) => boolean, timeoutMs = 60_000, everyMs = 20): Promise<Status> {
  const deadline = Date.now() + timeoutMs;
  let last = 'no answer';
  while (Date.now() < deadline) {
    try {
      const s = StatusSchema.parse(await request(socket, 'status', 5000));
      if (predicate(s)) return s;
      last = `${s.state} ${s.reason ?? ''}`;
    } catch (e) {
      last = (e as Error).message;
    }
    await sleep(everyMs);
  }
  throw new Error(`maped did not reach the expected state (last: ${last})`);
}

export interface BenchMapedOptions {
  /** The node binary that runs maped (bench/support.ts privateNodeBinary); default this process's. */
  readonly node?: string;
  /** Each line maped writes on stderr (it runs with -d); without it stderr is not read. */
  readonly stderrLine?: (line: string) => void;
}

/** The longest stderr line kept whole; maped's own are a few hundred bytes. */
const MAX_STDERR_LINE = 64 * 1024;

/** maped in the foreground (as rc.d runs it, in two processes) on the router, once it is active. */
export async function startBenchMaped(router: BenchRouter, options: BenchMapedOptions = {}): Promise<ChildProcess> {
  const [node, ...args] = cliArgv('maped');
  const { stderrLine } = options;
  const child = spawn(options.node ?? node!, [...rcNodeFlags(), ...args, '-d', '-f', router.config, '-s', router.socket], {
    stdio: ['ignore', 'ignore', stderrLine === undefined ? 'ignore' : 'pipe'],
    env: PRIVSEP_ENV,
  });
  if (stderrLine !== undefined) {
    // Read as it comes, so that maped never waits on a full pipe.
    let partial = '';
    child.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
      const lines = (partial + chunk).split('\n');
      partial = lines.pop()!.slice(-MAX_STDERR_LINE);
      for (const line of lines) stderrLine(line);
    });
  }
  try {
    await waitStatus(router.socket, (s) => s.state === 'active');
  } catch (e) {
    child.kill('SIGTERM');
    throw e;
  }
  return child;
}
