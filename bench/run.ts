/**
 * `npm run bench`: prints figures against the budgets of docs/architecture.md §6.
 * Benchmarks never fail the build; they measure.
 */
import { benchCalcBatch } from './calc-batch.js';
import { benchDaemon } from './daemon.js';
import { benchDecode } from './decode.js';

const only = process.argv[2];
const benches: Record<string, () => Promise<void>> = {
  calc: benchCalcBatch,
  decode: benchDecode,
  daemon: benchDaemon,
};

for (const [name, run] of Object.entries(benches)) {
  if (only !== undefined && only !== name) continue;
  console.log(`== ${name}`);
  await run();
}
