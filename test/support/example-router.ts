/**
 * A real maped process on the example router (fake tools, the example
 * lease's S46 options under a prefix the test chooses) and mapedctl to talk
 * to it: the rig the forward and usage end-to-end tests share.
 */
import { execFile } from 'node:child_process';
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { createFakeOpenBSD, type FakeOpenBSD } from './fake-openbsd/index.js';
import { fakeRouterConfig, MAPEDCTL_ENTRY, startMaped, type MapedProcess } from './daemon-process.js';
import { REPO_ROOT } from './vectors.js';

const run = promisify(execFile);
const S46 = readFileSync(join(REPO_ROOT, 'examples', 'lease', 'em0'), 'utf8')
  .split('\n')
  .find((line) => line.startsWith('s46 '))!;

export interface ExampleRouter {
  fake: FakeOpenBSD;
  dir: string;
  socket: string;
  maped: MapedProcess;
  /** Replaces em0's lease (file and dhcp6leasectl) with one delegating `prefix`. */
  lease(prefix: string): void;
  ctl(...args: string[]): Promise<{ stdout: string; stderr: string; code: number }>;
}

/**
 * Starts maped with the fake router's config plus `extra`, on a lease of
 * 2001:db8:12:3400::/56; what it made is undone by the functions pushed on
 * `cleanups` (run them in reverse).
 */
export async function startExampleRouter(extra: string, cleanups: (() => Promise<void>)[], options: { kernelPortset?: boolean; name?: string } = {}): Promise<ExampleRouter> {
  const fake = await createFakeOpenBSD({ kernelPortset: options.kernelPortset ?? true });
  const dir = await mkdtemp(join(tmpdir(), `maped-${options.name ?? 'router'}-`));
  cleanups.push(() => fake.cleanup(), () => rm(dir, { recursive: true, force: true }));
  mkdirSync(join(dir, 'lease'));
  mkdirSync(join(dir, 'state'));
  const configPath = join(dir, 'maped.conf');
  writeFileSync(configPath, fakeRouterConfig(fake.tools, dir) + extra);
  let serial = 0;
  const lease = (prefix: string): void => {
    const [address, length] = prefix.split('/');
    const temp = join(dir, 'lease', `tmp${serial++}`);
    writeFileSync(temp, `ia_pd 0 ${address} ${length}\n${S46}\n`);
    // dhcp6leasectl first, as dhcp6leased binds before it writes the file: never the new file against the old answer.
    fake.setLeasectl('em0', `em0 [Bound]\n\tIA_PD 0: ${prefix}\n\tlease 7 days\n`);
    renameSync(temp, join(dir, 'lease', 'em0'));
  };
  lease('2001:db8:12:3400::/56');
  const socket = join(dir, 'maped.sock');
  const maped = startMaped(configPath, socket);
  cleanups.push(async () => {
    if (maped.child.exitCode === null) {
      maped.signal('SIGKILL');
      await maped.exited;
    }
  });
  const ctl = async (...args: string[]) => {
    try {
      const { stdout, stderr } = await run(process.execPath, ['--import', 'tsx', MAPEDCTL_ENTRY, '-s', socket, ...args], { cwd: REPO_ROOT, timeout: 120_000 });
      return { stdout, stderr, code: 0 };
    } catch (e) {
      const failure = e as { stdout: string; stderr: string; code: number };
      return { stdout: failure.stdout, stderr: failure.stderr, code: failure.code };
    }
  };
  return { fake, dir, socket, maped, lease, ctl };
}
