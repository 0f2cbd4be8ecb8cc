import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { followLease } from '../../src/daemon/lease-follower.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until(predicate: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

describe('followLease', () => {
  it('sees a lease written into a directory that did not exist when maped started', async () => {
    const root = await mkdtemp(join(tmpdir(), 'maped-follow-'));
    const leaseDir = join(root, 'dhcp6leased');
    const lines: string[] = [];
    const log = pino({ level: 'warn' }, { write: (line: string) => lines.push(JSON.parse(line).msg as string) });
    let changes = 0;
    const follower = followLease(join(leaseDir, 'em0'), () => changes++, log, { debounceMs: 20, firstRetryMs: 200 });
    try {
      await follower.ready;
      expect(lines.some((l) => l.includes('cannot watch:'))).toBe(true);
      const before = changes;
      mkdirSync(leaseDir);
      writeFileSync(join(leaseDir, 'AbCdEfGhIj'), 'ia_pd 0 2001:db8:12:3400:: 56\n');
      renameSync(join(leaseDir, 'AbCdEfGhIj'), join(leaseDir, 'em0'));
      await until(() => changes > before, 'the new lease to be seen');
      // And later changes are seen by the new watch too.
      const seen = changes;
      writeFileSync(join(leaseDir, 'KlMnOpQrSt'), 'ia_pd 0 2001:db8:12:5600:: 56\n');
      renameSync(join(leaseDir, 'KlMnOpQrSt'), join(leaseDir, 'em0'));
      await until(() => changes > seen, 'a second change');
    } finally {
      await follower.close();
      await rm(root, { recursive: true, force: true });
    }
  });
});
