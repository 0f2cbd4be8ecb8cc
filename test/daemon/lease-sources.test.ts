import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { systemLeaseSources } from '../../src/daemon/lease-reading.js';
import { MAX_LEASE_FILE_BYTES } from '../../src/lease/index.js';

describe('the lease file as maped reads it in one process', () => {
  const dirs: string[] = [];
  afterEach(() => {
    for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  });
  const scratch = (): string => {
    const dir = mkdtempSync(join(tmpdir(), 'maped-lease-sources-'));
    dirs.push(dir);
    return dir;
  };

  it('reads a lease file; none there is no lease (null), not an error', async () => {
    const dir = scratch();
    writeFileSync(join(dir, 'em0'), 'ia_pd 0 2001:db8:12:3400:: 56\n');
    expect(await systemLeaseSources.readFile(join(dir, 'em0'))).toBe('ia_pd 0 2001:db8:12:3400:: 56\n');
    expect(await systemLeaseSources.readFile(join(dir, 'em1'))).toBeNull();
  });

  it('refuses, as the privileged parent does, what is no regular file or is too large, without hanging on a FIFO', async () => {
    const dir = scratch();
    mkdirSync(join(dir, 'a-directory'));
    execFileSync('mkfifo', [join(dir, 'a-fifo')]);
    writeFileSync(join(dir, 'too-large'), 'x'.repeat(MAX_LEASE_FILE_BYTES + 1));
    await expect(systemLeaseSources.readFile(join(dir, 'a-directory'))).rejects.toThrow(/^not a regular file$/);
    await expect(systemLeaseSources.readFile(join(dir, 'a-fifo'))).rejects.toThrow(/^not a regular file$/);
    await expect(systemLeaseSources.readFile(join(dir, 'too-large'))).rejects.toThrow(`larger than ${MAX_LEASE_FILE_BYTES} bytes`);
  });
});
