import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
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
});
