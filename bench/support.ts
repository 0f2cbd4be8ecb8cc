/** Shared bits of the benchmarks: where things are, how to run a CLI, how to print a figure. */
import { chmodSync, closeSync, copyFileSync, existsSync, fsyncSync, openSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
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

/**
 * One process's memory as Linux counts it, in KiB, from
 * /proc/<pid>/smaps_rollup (proc(5)):
 * - rss: every resident page the process maps, whole, even when other
 *   processes map the same page (VmRSS). The node binary's code and
 *   read-only data are one set of pages in the kernel, but count in full in
 *   the RSS of every node process;
 * - pss: the proportional set size, each resident page divided by the number
 *   of processes that map it. Summed over processes, a shared page counts
 *   once: the memory those processes cost the machine;
 * - private: the pages no other process maps (Private_Clean +
 *   Private_Dirty), what the process's exit would give back.
 */
export interface ProcessMemory {
  readonly pid: number;
  readonly rssKb: number;
  readonly pssKb: number;
  readonly privateKb: number;
}

export function processMemory(pid: number): ProcessMemory {
  const fields = new Map<string, number>();
  for (const line of readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8').split('\n')) {
    const m = /^(\w+):\s+(\d+) kB$/.exec(line);
    if (m !== null) fields.set(m[1]!, Number(m[2]));
  }
  const field = (name: string): number => {
    const value = fields.get(name);
    if (value === undefined) throw new Error(`/proc/${pid}/smaps_rollup has no ${name}`);
    return value;
  };
  return { pid, rssKb: field('Rss'), pssKb: field('Pss'), privateKb: field('Private_Clean') + field('Private_Dirty') };
}

/** {@link processMemory} of a process and of each process under it. */
export function treeMemory(pid: number): ProcessMemory[] {
  return processTree(pid).map(processMemory);
}

/**
 * A copy of this node binary of its own, for the processes whose PSS is
 * measured. Run from the system's node, their code pages would be shared
 * with every other node process of the machine (the bench itself, test
 * runs of others), and their PSS would shrink with the number of those. On
 * a router maped's two processes are the node processes: run from the
 * copy, they share its pages with each other only. Written back (fsync) so
 * that its pages read as clean, as an installed binary's do.
 */
export function privateNodeBinary(dir: string): string {
  const path = join(dir, 'node');
  copyFileSync(process.execPath, path);
  chmodSync(path, 0o755);
  const fd = openSync(path, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  return path;
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
