/**
 * `npm run bench`: prints figures against the budgets of docs/architecture.md §6.
 * Benchmarks never fail the build; they measure.
 */
import { benchCalcBatch } from './calc-batch.js';
import { benchDaemon } from './daemon.js';
import { benchDecode } from './decode.js';
import { benchPortCapacity } from './port-capacity/main.js';
import { benchSoak } from './soak.js';

const only = process.argv[2];
const benches: Record<string, () => Promise<void>> = {
  calc: benchCalcBatch,
  decode: benchDecode,
  daemon: benchDaemon,
  // Prints the table only; `npm run bench:port-capacity` also redraws the chart and the README table.
  'port-capacity': () => benchPortCapacity(),
  soak: benchSoak,
};

for (const [name, run] of Object.entries(benches)) {
  if (only !== undefined && only !== name) continue;
  console.log(`== ${name}`);
  await run();
}
