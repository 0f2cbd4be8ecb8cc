/**
 * The watcher on a real temporary directory, writing the file the way
 * dhcp6leased does (mkstemp "XXXXXXXXXX" beside it, then rename) and the
 * ways people and other tools do. Waits are for events to arrive, never
 * assertions about how long anything took.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, rename, rm, rmdir, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { MAX_LEASE_FILE_BYTES } from '../../src/lease/index.js';
import { watchLeaseFile, type LeaseWatch } from '../../src/lease/lease-watch.js';

const DEBOUNCE_MS = 60;
/** Long enough for any pending debounce and read to have reported. */
const SETTLE_MS = DEBOUNCE_MS * 5;
/** How long an expected report may take: an inotify event, chokidar's stat and the debounce, on a loaded machine. */
const REPORT_MS = 30_000;

const MKSTEMP_CHARS = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
function mkstempName(): string {
  return Array.from(randomBytes(10), (b) => MKSTEMP_CHARS[b % MKSTEMP_CHARS.length]).join('');
}

let dir: string;
let lease: string;
let watch: LeaseWatch | null;
let changes: (string | null)[];
let errors: string[];

async function writeByRename(text: string): Promise<void> {
  const temp = join(dir, mkstempName());
  await writeFile(temp, text, { mode: 0o644 });
  await rename(temp, lease);
}

async function start(): Promise<void> {
  watch = watchLeaseFile(lease, {
    debounceMs: DEBOUNCE_MS,
    onChange: (text) => changes.push(text),
    onError: (message) => errors.push(message),
  });
  await watch.ready;
}

async function settled(): Promise<void> {
  await sleep(SETTLE_MS);
}

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'maped-watch-'));
  lease = join(dir, 'em0');
  watch = null;
  changes = [];
  errors = [];
});

afterEach(async () => {
  await watch?.close();
  await rm(dir, { recursive: true, force: true });
});

describe('watchLeaseFile', () => {
  it('reports the content found at start, then a file written by rename', async () => {
    await writeByRename('ia_pd 0 2001:db8:1::/56\n');
    await start();
    expect(changes).toEqual(['ia_pd 0 2001:db8:1::/56\n']);
    await writeByRename('ia_pd 0 2001:db8:2:: 56\n');
    await vi.waitFor(() => expect(changes).toHaveLength(2), { timeout: REPORT_MS });
    await settled();
    expect(changes).toEqual(['ia_pd 0 2001:db8:1::/56\n', 'ia_pd 0 2001:db8:2:: 56\n']);
    expect(errors).toEqual([]);
  });

  it('reports null at start when there is no file yet, then its first content', async () => {
    await start();
    expect(changes).toEqual([null]);
    await writeByRename('ia_pd 0 2001:db8:1:: 56\n');
    await vi.waitFor(() => expect(changes).toEqual([null, 'ia_pd 0 2001:db8:1:: 56\n']), { timeout: REPORT_MS });
  });

  it('stays quiet when a renewal rewrites the same content', async () => {
    await writeByRename('ia_pd 0 2001:db8:1:: 56\n');
    await start();
    for (let i = 0; i < 5; i++) await writeByRename('ia_pd 0 2001:db8:1:: 56\n');
    await settled();
    expect(changes).toEqual(['ia_pd 0 2001:db8:1:: 56\n']);
  });

  it('ignores dhcp6leased temp files and other names in the directory', async () => {
    await start();
    await writeFile(join(dir, mkstempName()), 'ia_pd 0 2001:db8:9:: 56\n');
    await writeFile(join(dir, 'em1'), 'ia_pd 0 2001:db8:9:: 56\n');
    await settled();
    expect(changes).toEqual([null]);
  });

  it('reports a file written in place', async () => {
    await writeFile(lease, 'ia_pd 0 2001:db8:1:: 56\n');
    await start();
    await writeFile(lease, 'ia_pd 0 2001:db8:3:: 56\n');
    await vi.waitFor(() => expect(changes.at(-1)).toBe('ia_pd 0 2001:db8:3:: 56\n'), { timeout: REPORT_MS });
    await settled();
    expect(changes).toEqual(['ia_pd 0 2001:db8:1:: 56\n', 'ia_pd 0 2001:db8:3:: 56\n']);
  });

  it('reports null when the file is deleted, and the content when it comes back', async () => {
    await writeByRename('ia_pd 0 2001:db8:1:: 56\n');
    await start();
    await unlink(lease);
    await vi.waitFor(() => expect(changes.at(-1)).toBeNull(), { timeout: REPORT_MS });
    await writeByRename('ia_pd 0 2001:db8:4:: 56\n');
    await vi.waitFor(() => expect(changes.at(-1)).toBe('ia_pd 0 2001:db8:4:: 56\n'), { timeout: REPORT_MS });
    await settled();
    expect(changes).toEqual(['ia_pd 0 2001:db8:1:: 56\n', null, 'ia_pd 0 2001:db8:4:: 56\n']);
  });

  it('after a burst of 100 renames in one second the last content wins, with at most 2 reports after it', async () => {
    await writeByRename('ia_pd 0 2001:db8:0:: 56\n');
    await start();
    const before = changes.length;
    for (let i = 1; i <= 100; i++) {
      await writeByRename(`ia_pd 0 2001:db8:${i.toString(16)}:: 56\n`);
      await sleep(10);
    }
    const last = `ia_pd 0 2001:db8:${(100).toString(16)}:: 56\n`;
    const atBurstEnd = changes.length;
    await vi.waitFor(() => expect(changes.at(-1)).toBe(last), { timeout: REPORT_MS });
    await settled();
    expect(changes.at(-1)).toBe(last);
    expect(changes.length - atBurstEnd).toBeLessThanOrEqual(2);
    // Debounced: far fewer reports than renames.
    expect(changes.length - before).toBeLessThan(100);
    expect(errors).toEqual([]);
  });

  it('reports an unreadable lease path as one error line and keeps the last content', async () => {
    await writeByRename('ia_pd 0 2001:db8:1:: 56\n');
    await start();
    await unlink(lease);
    await mkdir(lease);
    // A read between the unlink and the mkdir reports null first; the error comes only with the
    // directory's own event, which a loaded machine may deliver later than SETTLE_MS: wait for it.
    await vi.waitFor(() => expect(errors.length).toBeGreaterThan(0), { timeout: REPORT_MS });
    await settled();
    // Either the removal was seen first (null) or only the directory: never a made-up content.
    expect(changes.filter((c) => c !== null)).toEqual(['ia_pd 0 2001:db8:1:: 56\n']);
    expect(errors.length).toBeGreaterThan(0);
    expect(errors[0]).toBe(`${lease}: cannot read: not a regular file`);
    await rmdir(lease);
  });

  it('a FIFO or a file too large put in the lease file\'s place is one error line, never a hang nor a whole read', async () => {
    await writeByRename('ia_pd 0 2001:db8:1:: 56\n');
    await start();
    await unlink(lease);
    execFileSync('mkfifo', [lease]);
    await vi.waitFor(() => expect(errors).toContain(`${lease}: cannot read: not a regular file`), { timeout: REPORT_MS });
    await unlink(lease);
    await writeByRename('x'.repeat(MAX_LEASE_FILE_BYTES + 1));
    await vi.waitFor(() => expect(errors).toContain(`${lease}: cannot read: larger than ${MAX_LEASE_FILE_BYTES} bytes`), { timeout: REPORT_MS });
    await settled();
    expect(changes.filter((c) => c !== null)).toEqual(['ia_pd 0 2001:db8:1:: 56\n']);
  });

  it('says so when the directory does not exist, and reports no file', async () => {
    lease = join(dir, 'absent', 'em0');
    await start();
    expect(changes).toEqual([null]);
    expect(errors).toEqual([
      `${join(dir, 'absent')}: cannot watch: ENOENT; lease changes will not be seen until the watch is restarted`,
    ]);
  });

  it('reports nothing after close', async () => {
    await start();
    await watch!.close();
    await writeByRename('ia_pd 0 2001:db8:5:: 56\n');
    await settled();
    expect(changes).toEqual([null]);
  });
});
