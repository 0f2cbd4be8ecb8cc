/**
 * Reading pf's state table with `pfctl -ss` for `mapedctl show usage` and
 * the metrics. A read only; run when asked, never on the apply path.
 */
import { err, ok, type Result } from '../map/index.js';
import { argv, describeCommand, parsePfctlStatesYielding, type StateListing } from '../openbsd/index.js';
import { runCommand, type ToolPaths } from './run.js';

/**
 * pf's default state limit is 100000 (pf.conf(5) `set limit states`) and a
 * state line is under 150 bytes; 64 MiB leaves room for a raised limit
 * while keeping a runaway listing from holding the daemon's memory.
 */
export const MAX_STATES_OUTPUT = 64 * 1024 * 1024;

export async function readPfStates(tools: ToolPaths, options: { readonly timeoutMs: number }): Promise<Result<StateListing>> {
  const command = argv.showStates();
  const result = await runCommand(tools, command, { timeoutMs: options.timeoutMs, maxOutput: MAX_STATES_OUTPUT });
  if (!result.ok) return err(`${describeCommand(command)}: ${result.reason ?? 'failed'}`);
  return ok(await parsePfctlStatesYielding(result.stdout));
}
