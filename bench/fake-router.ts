/**
 * The router the daemon benchmarks drive: served fake OpenBSD tools (the
 * C client, about a millisecond a call), a maped.conf pointing at them, and
 * a lease directory whose lease file is replaced by rename(2) as
 * dhcp6leased does, carrying the S46 option of the bundled example lease.
 */
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fakeRouterConfig } from '../test/support/daemon-process.js';
import { createFakeOpenBSD, type FakeOpenBSD } from '../test/support/fake-openbsd/index.js';
import { ROOT } from './support.js';

const S46 = readFileSync(join(ROOT, 'examples', 'lease', 'em0'), 'utf8')
  .split('\n')
  .find((l) => l.startsWith('s46 '))!;

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
  mkdirSync(join(dir, 'lease'));
  const config = join(dir, 'maped.conf');
  writeFileSync(config, fakeRouterConfig(fake.tools, dir));
  let serial = 0;
  return {
    fake,
    dir,
    config,
    socket: join(dir, 'maped.sock'),
    lease(hextet) {
      fake.setLeasectl('em0', `em0 [Bound]\n\tIA_PD 0: 2001:db8:12:${hextet}::/56\n\tlease 7 days\n`);
      const temp = join(dir, 'lease', `t${String(serial++).padStart(9, '0')}`);
      writeFileSync(temp, `ia_pd 0 2001:db8:12:${hextet}:: 56\n${S46}\n`);
      renameSync(temp, join(dir, 'lease', 'em0'));
    },
    async remove() {
      await fake.cleanup();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
