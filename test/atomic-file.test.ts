import { lstatSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { replaceFile, replaceFileDurably } from '../src/atomic-file.js';

describe('replaceFile and replaceFileDurably', () => {
  const dirs: string[] = [];
  afterEach(() => {
    for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  });
  const scratch = (): string => {
    const dir = mkdtempSync(join(tmpdir(), 'maped-atomic-'));
    dirs.push(dir);
    return dir;
  };

  const replace = async (durable: boolean, path: string, text: string, mode: number): Promise<void> => {
    if (durable) await replaceFileDurably(path, text, { mode });
    else replaceFile(path, text, { mode });
  };

  it.each([false, true])('replaces the file whole and leaves no temporary file (durable %s)', async (durable) => {
    const dir = scratch();
    const path = join(dir, 'maped.prom');
    await replace(durable, path, 'first\n', 0o644);
    await replace(durable, path, 'second, a little longer\n', 0o644);
    expect(readFileSync(path, 'utf8')).toBe('second, a little longer\n');
    expect(readdirSync(dir)).toEqual(['maped.prom']);
  });

  it.each([false, true])('gives the new file the mode asked for (durable %s)', async (durable) => {
    const dir = scratch();
    const path = join(dir, 'ownership.json');
    await replace(durable, path, '{}\n', 0o600);
    expect(statSync(path).mode & 0o777).toBe(0o600);
  });

  it.each([false, true])('fails on a directory that does not exist, leaving nothing behind (durable %s)', async (durable) => {
    const dir = scratch();
    await expect(replace(durable, join(dir, 'missing', 'maped.prom'), 'x', 0o644)).rejects.toThrow(/ENOENT/);
    expect(readdirSync(dir)).toEqual([]);
  });

  it.each([false, true])('writes through no link planted at the temporary name, and replaces a stale temporary file (durable %s)', async (durable) => {
    const dir = scratch();
    const elsewhere = scratch();
    const target = join(elsewhere, 'rc.local');
    writeFileSync(target, 'untouched\n');
    const path = join(dir, 'ownership.json');
    // The temporary name is predictable: someone who may write in dir links it to a file of root's.
    symlinkSync(target, join(dir, `.ownership.json.${process.pid}.tmp`));
    await replace(durable, path, '{"planted":false}\n', 0o600);
    expect(readFileSync(target, 'utf8')).toBe('untouched\n');
    expect(lstatSync(path).isFile()).toBe(true);
    expect(readFileSync(path, 'utf8')).toBe('{"planted":false}\n');
    expect(readdirSync(dir)).toEqual(['ownership.json']);
    writeFileSync(join(dir, `.ownership.json.${process.pid}.tmp`), 'left by a crash');
    await replace(durable, path, 'third\n', 0o600);
    expect(readFileSync(path, 'utf8')).toBe('third\n');
    expect(readdirSync(dir)).toEqual(['ownership.json']);
  });
});
