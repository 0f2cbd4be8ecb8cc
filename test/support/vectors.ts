/** Access to test/vectors: reference data this project did not write (provenance in test/vectors/README.md). */
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const VECTORS_DIR = resolve(REPO_ROOT, 'test', 'vectors');

export function vectorPath(...parts: string[]): string {
  return join(VECTORS_DIR, ...parts);
}

export function readJsonLines<T>(name: string): T[] {
  return readFileSync(vectorPath(name), 'utf8')
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as T);
}
