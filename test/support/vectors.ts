/** Access to ../shared/vectors, read-only reference data we did not write. */
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const VECTORS_DIR = process.env.MAPED_VECTORS ?? resolve(REPO_ROOT, '..', 'shared', 'vectors');

export function vectorPath(...parts: string[]): string {
  return join(VECTORS_DIR, ...parts);
}

export function readJsonLines<T>(name: string): T[] {
  return readFileSync(vectorPath(name), 'utf8')
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as T);
}
