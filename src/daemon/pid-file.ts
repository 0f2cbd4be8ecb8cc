/**
 * One maped at a time: a pid file in the state directory. A file whose
 * process is gone (kill -9, crash) is taken over; a live one is refused.
 */
import { mkdirSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { err, ok, type Result } from '../map/index.js';

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export function acquirePidFile(stateDir: string): Result<string> {
  const path = join(stateDir, 'maped.pid');
  try {
    mkdirSync(stateDir, { recursive: true, mode: 0o755 });
  } catch (e) {
    return err(`state-dir ${stateDir}: ${(e as Error).message}`);
  }
  for (let tries = 0; tries < 2; tries++) {
    try {
      writeFileSync(path, `${process.pid}\n`, { flag: 'wx', mode: 0o644 });
      return ok(path);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') return err(`${path}: ${(e as Error).message}`);
    }
    const pid = Number.parseInt(readFileSync(path, 'utf8'), 10);
    if (Number.isInteger(pid) && pid > 0 && pid !== process.pid && alive(pid)) {
      return err(`already running (pid ${pid}, ${path})`);
    }
    unlinkSync(path);
  }
  return err(`${path}: could not be taken over`);
}

export function releasePidFile(path: string): void {
  try {
    if (readFileSync(path, 'utf8').trim() === String(process.pid)) unlinkSync(path);
  } catch {
    // Gone already.
  }
}
