/** Shared bits of the benchmarks: where things are, how to run a CLI, how to print a figure. */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
/** The reference vectors the tests use (test/vectors/README.md says where they come from). */
export const VECTORS = resolve(ROOT, 'test', 'vectors');

/** argv that runs one of our CLIs: the built JavaScript when present (as installed), else the TypeScript via tsx. */
export function cliArgv(name: 'maped' | 'mapedctl'): string[] {
  const built = resolve(ROOT, 'dist', 'cli', `${name}.js`);
  if (existsSync(built)) return [process.execPath, built];
  return [process.execPath, '--import', 'tsx', resolve(ROOT, 'src', 'cli', `${name}.ts`)];
}

/**
 * maped's environment in the benchmarks: two processes, as maped runs when
 * started as root (docs/architecture.md §5), without the uid change (the
 * benchmark machine has no _maped).
 */
export const PRIVSEP_ENV = { ...process.env, MAPED_PRIVSEP: 'split' };

/** The pid and the pids of its children (Linux procfs): maped's parent and its unprivileged child. */
export function processTree(pid: number): number[] {
  let children: number[] = [];
  try {
    const text = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim();
    children = text === '' ? [] : text.split(/\s+/).map(Number);
  } catch {
    // Gone: none.
  }
  return [pid, ...children.flatMap(processTree)];
}

/** Resident memory of a process and its children (Linux procfs): maped counts both of its processes. */
export function rssKb(pid: number): number {
  return processTree(pid).reduce((sum, p) => {
    const line = readFileSync(`/proc/${p}/status`, 'utf8')
      .split('\n')
      .find((l) => l.startsWith('VmRSS:'));
    return sum + Number(line?.replace(/\D+/g, '') ?? NaN);
  }, 0);
}

/** The node flags rc.d/maped runs the daemon with, so the benchmark measures what is deployed. */
export function rcNodeFlags(): string[] {
  const line = readFileSync(resolve(ROOT, 'rc.d', 'maped'), 'utf8')
    .split('\n')
    .find((l) => l.startsWith('daemon='));
  const words = line?.replace(/^daemon="|"$/g, '').split(/\s+/) ?? [];
  return words.filter((w) => w.startsWith('--'));
}

export function figure(name: string, value: number | string, unit = '', target = ''): void {
  const shown = typeof value === 'number' ? (Number.isInteger(value) ? `${value}` : value.toFixed(2)) : value;
  console.log(`${name.padEnd(44)} ${`${shown} ${unit}`.padEnd(22)} ${target}`);
}

export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const index = Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1);
  return sorted[Math.max(0, index)]!;
}
