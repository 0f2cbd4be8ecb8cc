/**
 * One maped at a time: a pid file in the state directory. A file whose
 * process is gone (kill -9, crash) is taken over; so is one whose pid now
 * belongs to another program (after a reboot the pid is soon reused: the
 * state directory, unlike /var/run, is not cleared at boot). A live maped
 * is refused.
 */
import { execFileSync } from 'node:child_process';
import { lstatSync, mkdirSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { err, ok, type Result } from '../map/index.js';

/** ps(1) by its absolute path: `-o command=` prints the command line alone, without a header. */
export const PS_PATH = '/bin/ps';

/**
 * Whether a process `pid` exists: signal 0 checks it without sending
 * anything (kill(2)); EPERM means it exists but is another user's.
 */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Whether the live process `pid` is a maped: its command line as ps shows
 * it names maped (the process title "maped", or the maped script). When ps
 * cannot tell, it is taken to be one: refusing a start is safer than two
 * daemons configuring the same interfaces.
 */
export function isMaped(pid: number, psPath = PS_PATH): boolean {
  let command: string;
  try {
    command = execFileSync(psPath, ['-o', 'command=', '-p', String(pid)], {
      encoding: 'utf8',
      timeout: 5000,
      maxBuffer: 64 * 1024,
      stdio: ['ignore', 'pipe', 'ignore'],
      env: { LC_ALL: 'C' },
    });
  } catch (e) {
    // ps exits 1 when no such process is listed: not a maped then.
    return (e as { status?: number }).status !== 1;
  }
  return /(^|[\s/:])maped(\s|\.[cm]?[jt]s\b|$)/.test(command.trim());
}

export function acquirePidFile(stateDir: string, psPath = PS_PATH): Result<string> {
  const path = join(stateDir, 'maped.pid');
  try {
    mkdirSync(stateDir, { recursive: true, mode: 0o755 });
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'EEXIST' || code === 'ENOTDIR') return err(`state-dir ${stateDir}: not a directory`);
    return err(`state-dir ${stateDir}: ${(e as Error).message}`);
  }
  for (let tries = 0; tries < 2; tries++) {
    try {
      writeFileSync(path, `${process.pid}\n`, { flag: 'wx', mode: 0o644 });
      return ok(path);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') return err(`${path}: ${(e as Error).message}`);
    }
    let text: string;
    try {
      if (!lstatSync(path).isFile()) return err(`${path}: not a regular file; remove it to start maped`);
      text = readFileSync(path, 'utf8');
    } catch (e) {
      return err(`${path}: ${(e as Error).message}`);
    }
    const pid = Number.parseInt(text, 10);
    if (Number.isInteger(pid) && pid > 0 && pid !== process.pid && processAlive(pid) && isMaped(pid, psPath)) {
      return err(`already running (pid ${pid}, ${path})`);
    }
    try {
      unlinkSync(path);
    } catch (e) {
      return err(`${path}: ${(e as Error).message}`);
    }
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
