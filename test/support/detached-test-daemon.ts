/**
 * A stand-in for maped's daemon side, started by the launcher of
 * src/daemon/detach.ts in the tests: `node --import tsx
 * detached-test-daemon.ts <mode> <file>`, where the mode says how its start
 * goes and <file> is where it writes what the test checks.
 *
 * - ready: reports ready, writes whether the marker is still in its
 *   environment, and stays until killed;
 * - failed: reports a failure and exits 1;
 * - silent-exit: exits 3 without a report;
 * - garbage: writes a line that is not JSON, and stays;
 * - hang: starts a `sleep` in its process group, writes its pid, and never reports.
 */
import { spawn } from 'node:child_process';
import { writeFileSync, writeSync } from 'node:fs';
import { DETACHED_ENV, takeReadiness } from '../../src/daemon/detach.js';

const [mode, file] = process.argv.slice(2);
const stay = (): void => void setInterval(() => undefined, 60_000);

if (mode === 'garbage') {
  writeSync(3, 'ready!\n');
  stay();
} else if (mode === 'hang') {
  const sleeper = spawn('sleep', ['1000'], { stdio: 'ignore' });
  writeFileSync(file!, String(sleeper.pid));
  stay();
} else if (mode === 'silent-exit') {
  process.exit(3);
} else {
  const readiness = takeReadiness();
  if (mode === 'failed') {
    readiness?.failed('state-dir /nonexistent: cannot be made');
    process.exit(1);
  }
  writeFileSync(file!, JSON.stringify({ marker: process.env[DETACHED_ENV] ?? null, readiness: readiness !== null }));
  readiness?.ready();
  stay();
}
