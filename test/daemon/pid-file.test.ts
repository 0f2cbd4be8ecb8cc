/**
 * The pid file: a live maped is refused; a pid that is gone or belongs to
 * another program (pid 1, a reused pid) is taken over; a directory at the
 * pid path or a state-dir that is a file give one clear line.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { acquirePidFile, isMaped, releasePidFile } from '../../src/daemon/pid-file.js';

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});
function stateDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'maped-pid-'));
  dirs.push(dir);
  return dir;
}

describe('pid file', () => {
  it('a pid file holding a live process that is not a maped (pid 1) does not refuse the start', () => {
    const dir = stateDir();
    writeFileSync(join(dir, 'maped.pid'), '1\n');
    const acquired = acquirePidFile(dir);
    expect(acquired).toEqual({ ok: true, value: join(dir, 'maped.pid') });
    expect(readFileSync(join(dir, 'maped.pid'), 'utf8')).toBe(`${process.pid}\n`);
    releasePidFile(join(dir, 'maped.pid'));
  });

  it('a live maped is refused, told by its command line', async () => {
    const dir = stateDir();
    // A process whose title is "maped", as the daemon sets it.
    const child = spawn(process.execPath, ['-e', "process.title = 'maped'; console.log('up'); setInterval(() => {}, 1000)"], { stdio: ['ignore', 'pipe', 'ignore'] });
    try {
      await new Promise((resolve) => child.stdout.once('data', resolve));
      expect(isMaped(child.pid!)).toBe(true);
      writeFileSync(join(dir, 'maped.pid'), `${child.pid}\n`);
      expect(acquirePidFile(dir)).toEqual({ ok: false, error: `already running (pid ${child.pid}, ${join(dir, 'maped.pid')})` });
    } finally {
      child.kill('SIGKILL');
    }
  });

  it('a pid that is gone is taken over', () => {
    const dir = stateDir();
    writeFileSync(join(dir, 'maped.pid'), '999999999\n');
    expect(acquirePidFile(dir).ok).toBe(true);
  });

  it('a directory at the pid path: one line, no stack trace', () => {
    const dir = stateDir();
    mkdirSync(join(dir, 'maped.pid'));
    expect(acquirePidFile(dir)).toEqual({ ok: false, error: `${join(dir, 'maped.pid')}: not a regular file; remove it to start maped` });
  });

  it('a state-dir that is a file: one line naming it', () => {
    const dir = stateDir();
    const file = join(dir, 'state');
    writeFileSync(file, '');
    expect(acquirePidFile(file)).toEqual({ ok: false, error: `state-dir ${file}: not a directory` });
  });
});
