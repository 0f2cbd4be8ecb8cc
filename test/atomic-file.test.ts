import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { replaceFile } from '../src/atomic-file.js';

describe('replaceFile', () => {
  const dirs: string[] = [];
  afterEach(() => {
    for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  });
  const scratch = (): string => {
    const dir = mkdtempSync(join(tmpdir(), 'maped-atomic-'));
    dirs.push(dir);
    return dir;
  };

  it.each([false, true])('replaces the file whole and leaves no temporary file (durable %s)', (durable) => {
    const dir = scratch();
    const path = join(dir, 'maped.prom');
    replaceFile(path, 'first\n', { mode: 0o644, durable });
    replaceFile(path, 'second, a little longer\n', { mode: 0o644, durable });
    expect(readFileSync(path, 'utf8')).toBe('second, a little longer\n');
    expect(readdirSync(dir)).toEqual(['maped.prom']);
  });

  it('gives the new file the mode asked for', () => {
    const dir = scratch();
    const path = join(dir, 'ownership.json');
    replaceFile(path, '{}\n', { mode: 0o600, durable: true });
    expect(statSync(path).mode & 0o777).toBe(0o600);
  });

  it('fails on a directory that does not exist, leaving nothing behind', () => {
    const dir = scratch();
    expect(() => replaceFile(join(dir, 'missing', 'maped.prom'), 'x', { mode: 0o644, durable: false })).toThrow(/ENOENT/);
    expect(readdirSync(dir)).toEqual([]);
  });
});
