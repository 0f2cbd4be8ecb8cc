/**
 * vitest globalSetup: the test run gets a temp directory of its own and must
 * leave it empty.
 *
 * TMPDIR points at a fresh directory before any worker starts, so every
 * os.tmpdir() of the tests (and of the processes they start with their
 * environment) lands there, and the before/after comparison sees only this
 * run, whatever else the machine's /tmp holds. Anything left at the end fails
 * the run (exit status 1), naming what was left; it is removed all the same, so the machine's
 * temp directory is as it was.
 */
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';

/**
 * tsx keeps its transform cache in <tmpdir>/tsx-<uid> (tsx's cache.ts) when a
 * test runs a CLI through `node --import tsx`: a cache, not a leftover, and it
 * goes with the run's directory.
 */
const TSX_CACHE = `tsx-${userInfo().uid}`;

export default function setup(): () => void {
  const outer = tmpdir();
  const runDir = mkdtempSync(join(outer, 'maped-test-run-'));
  const before = new Set(readdirSync(runDir));
  const previous = process.env.TMPDIR;
  process.env.TMPDIR = runDir;

  return () => {
    if (previous === undefined) delete process.env.TMPDIR;
    else process.env.TMPDIR = previous;
    const left = readdirSync(runDir).filter((name) => !before.has(name) && name !== TSX_CACHE);
    rmSync(runDir, { recursive: true, force: true });
    if (left.length > 0) {
      // A throw here is printed but does not change vitest's exit status (vitest 4
      // reports teardown errors as "error during close"); the exit code does.
      process.stderr.write(`temp-dir-check: the tests left ${left.length} entries in the temp directory: ${left.sort().join(' ')}\n`);
      process.exitCode = 1;
    }
  };
}
