/**
 * `pf portset auto`, run: pfctl parses the probe rule, then the kernel is
 * asked for the anchor's rules; judgePortsetProbe (src/openbsd) reads the
 * two answers. Nothing is loaded: `-nf` only parses and `-sr` only reads.
 */
import type { Result } from '../map/index.js';
import { argv, judgePortsetProbe } from '../openbsd/index.js';
import { runCommand, type ToolPaths } from './run.js';

export async function detectPortsetSupport(
  pfctlPath: string,
  anchor: string,
  options: { timeoutMs?: number } = {},
): Promise<Result<'kernel' | 'stock'>> {
  const tools: ToolPaths = { ifconfig: pfctlPath, route: pfctlPath, pfctl: pfctlPath };
  const run = { timeoutMs: options.timeoutMs ?? 5000 };
  const [parse, kernel] = await Promise.all([runCommand(tools, argv.portsetProbe(), run), runCommand(tools, argv.showAnchor(anchor), run)]);
  return judgePortsetProbe(parse, kernel);
}
