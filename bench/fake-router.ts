/**
 * The router the daemon benchmarks drive: served fake OpenBSD tools (the
 * C client, about a millisecond a call), a maped.conf pointing at them, and
 * a lease directory whose lease file is replaced by rename(2) as
 * dhcp6leased does, carrying the S46 option of the bundled example lease.
 */
import { writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fakeLeaser, fakeRouterConfig } from '../test/support/daemon-process.js';
import { createFakeOpenBSD, type FakeOpenBSD } from '../test/support/fake-openbsd/index.js';

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
