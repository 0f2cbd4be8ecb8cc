/**
 * Reading what OpenBSD has now: `ifconfig -a` (the tunnel and the WAN),
 * `route -nv show -inet` (the default routes and their labels), `pfctl -a <anchor> -sr`. Reads only.
 */
import { err, ok, type Result } from '../map/index.js';
import {
  argv,
  describeCommand,
  parseIfconfig,
  parseIfconfigAll,
  parsePfctlRules,
  parseRouteShow,
  pfctlShowWarning,
  type AnchorListing,
  type DefaultRoute,
  type InterfaceStatus,
} from '../openbsd/index.js';
import type { LiveState } from './plan.js';
import { runCommand, type RunOptions, type ToolPaths } from './run.js';

/** How many commands one {@link readLiveState} runs. */
export const LIVE_STATE_READS = 3;

export interface LiveNames {
  readonly wan: string;
  readonly tunnel: string;
  readonly anchor: string;
}

/** The tunnel and the WAN from one `ifconfig -a`; an interface that does not exist is null. */
async function readInterfaces(
  tools: ToolPaths,
  names: readonly [string, string],
  options: RunOptions,
): Promise<Result<readonly [InterfaceStatus | null, InterfaceStatus | null]>> {
  const command = argv.showInterfaces();
  const result = await runCommand(tools, command, options);
  if (!result.ok) return err(`${describeCommand(command)}: ${result.reason ?? 'failed'}`);
  const parsed = parseIfconfigAll(result.stdout, names);
  if (!parsed.ok) return err(`${describeCommand(command)}: ${parsed.error}`);
  return ok([parsed.value.get(names[0]) ?? null, parsed.value.get(names[1]) ?? null]);
}

async function readDefaultRoutes(tools: ToolPaths, options: RunOptions): Promise<Result<DefaultRoute[]>> {
  const command = argv.showRoutes();
  const result = await runCommand(tools, command, options);
  if (!result.ok) return err(`${describeCommand(command)}: ${result.reason ?? 'failed'}`);
  const parsed = parseRouteShow(result.stdout);
  return parsed.ok ? parsed : err(`${describeCommand(command)}: ${parsed.error}`);
}

async function readAnchor(tools: ToolPaths, anchor: string, options: RunOptions): Promise<Result<AnchorListing>> {
  const command = argv.showAnchor(anchor);
  const result = await runCommand(tools, command, options);
  if (!result.ok) return err(`${describeCommand(command)}: ${result.reason ?? 'failed'}`);
  // pfctl exits 0 even when the kernel refused the listing (pfctlShowWarning).
  const warning = pfctlShowWarning(result.stderr);
  // An anchor nothing was ever loaded into and pf.conf does not call does not exist yet: empty.
  if (warning === 'no-anchor') return ok({ rules: [], foreign: [] });
  if (warning !== null) return err(`${describeCommand(command)}: ${warning.error}`);
  return ok(parsePfctlRules(result.stdout));
}

export async function readLiveState(tools: ToolPaths, names: LiveNames, options: RunOptions): Promise<Result<LiveState>> {
  const [interfaces, defaultRoutes, anchor] = await Promise.all([
    readInterfaces(tools, [names.tunnel, names.wan], options),
    readDefaultRoutes(tools, options),
    readAnchor(tools, names.anchor, options),
  ]);
  if (!interfaces.ok) return interfaces;
  if (!defaultRoutes.ok) return defaultRoutes;
  if (!anchor.ok) return anchor;
  const [gif, wan] = interfaces.value;
  return ok({ gif, wan, defaultRoutes: defaultRoutes.value, anchor: anchor.value });
}
