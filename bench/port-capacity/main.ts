/**
 * The port-capacity bench: how many connections each pf mode carries.
 *
 *   npm run bench:port-capacity            prints the table, rewrites
 *                                          docs/port-capacity.svg and the
 *                                          README table
 *   npm run bench port-capacity            prints the table only
 *   … -- --seed N --runs N                 another seed; runs per small workload
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { compileKernelPicker } from './kernel-picker.js';
import { measure } from './measure.js';
import { benchSets } from './port-sets.js';
import { chartSvg, markdownTable, replaceReadmeTable, summary } from './report.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const CHART_PATH = 'docs/port-capacity.svg';

export interface PortCapacityOptions {
  readonly seed: number;
  /** Seeded runs of the 1- and 10-destination workloads; 1,000 destinations get one (each is a thousand in one). */
  readonly runs: number;
  readonly write: boolean;
}

export const DEFAULTS: PortCapacityOptions = { seed: 7597, runs: 9, write: false };

export async function benchPortCapacity(options: PortCapacityOptions = DEFAULTS): Promise<void> {
  const started = performance.now();
  const kernel = compileKernelPicker();
  const sets = benchSets();
  const cells = [];
  try {
    for (const destinations of [1, 10, 1000]) {
      cells.push(...(await measure({ sets, destinations: [destinations], runs: destinations === 1000 ? 1 : options.runs, seed: options.seed, kernel })));
    }
  } finally {
    kernel.close();
  }
  const table = markdownTable(cells);
  console.log(`${summary(cells)}\n${table}`);
  console.log(`seed ${options.seed}, ${options.runs} runs per 1- and 10-destination workload, ${((performance.now() - started) / 1000).toFixed(1)} s`);
  if (options.write) {
    writeFileSync(resolve(ROOT, CHART_PATH), chartSvg(cells));
    const readme = resolve(ROOT, 'README.md');
    writeFileSync(readme, replaceReadmeTable(readFileSync(readme, 'utf8'), `${summary(cells)}\n${table}`));
    console.log(`wrote ${CHART_PATH} and the table in README.md`);
  }
}

function parseArgs(argv: readonly string[]): PortCapacityOptions {
  let { seed, runs, write } = DEFAULTS;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const value = (): number => {
      const text = argv[++i] ?? '';
      if (!/^[0-9]{1,9}$/.test(text)) throw new Error(`port-capacity: ${arg} needs a whole number, not "${text}"`);
      return Number(text);
    };
    if (arg === '--write') write = true;
    else if (arg === '--seed') seed = value();
    else if (arg === '--runs') {
      runs = value();
      if (runs < 1 || runs > 99) throw new Error(`port-capacity: --runs must be 1 to 99, not ${runs}`);
    } else throw new Error(`port-capacity: unknown argument "${arg}"`);
  }
  return { seed, runs, write };
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  try {
    await benchPortCapacity(parseArgs(process.argv.slice(2)));
  } catch (error) {
    console.error(error instanceof Error ? error.message : String(error));
    process.exitCode = 1;
  }
}
