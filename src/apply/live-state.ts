/**
 * Reading what OpenBSD has now: `ifconfig <gif>`, `ifconfig <wan>`,
 * `route -n get -inet default`, `pfctl -a <anchor> -sr`. Reads only.
 */
import { err, ok, type Result } from '../map/index.js';
import {
  argv,
  describeCommand,
  isNoRoute,
  isNoSuchInterface,
  parseIfconfig,
  parsePfctlRules,
  parseRouteGet,
  type AnchorListing,
  type DefaultRoute,
  type InterfaceStatus,
} from '../openbsd/index.js';
import type { LiveState } from './plan.js';
import { runCommand, type RunOptions, type ToolPaths } from './run.js';

export interface LiveNames {
  readonly wan: string;
  readonly tunnel: string;
  readonly anchor: string;
}

export async function readInterface(tools: ToolPaths, name: string, options: RunOptions): Promise<Result<InterfaceStatus | null>> {
  const command = argv.showInterface(name);
  const result = await runCommand(tools, command, options);
  if (!result.ok) {
    if (isNoSuchInterface(result.stderr)) return ok(null);
    return err(`${describeCommand(command)}: ${result.reason ?? 'failed'}`);
  }
  const parsed = parseIfconfig(result.stdout);
  return parsed.ok ? parsed : err(`${describeCommand(command)}: ${parsed.error}`);
}

async function readDefaultRoute(tools: ToolPaths, options: RunOptions): Promise<Result<DefaultRoute | null>> {
  const command = argv.routeGetDefault();
  const result = await runCommand(tools, command, options);
  if (!result.ok) {
    if (isNoRoute(result.stderr)) return ok(null);
    return err(`${describeCommand(command)}: ${result.reason ?? 'failed'}`);
  }
  const parsed = parseRouteGet(result.stdout);
  return parsed.ok ? parsed : err(`${describeCommand(command)}: ${parsed.error}`);
}

async function readAnchor(tools: ToolPaths, anchor: string, options: RunOptions): Promise<Result<AnchorListing>> {
  const command = argv.showAnchor(anchor);
  const result = await runCommand(tools, command, options);
  if (!result.ok) {
    // An anchor nothing was ever loaded into does not exist yet (DIOCGETRULES: EINVAL).
    if (/Invalid argument/.test(result.stderr)) return ok({ rules: [], foreign: [] });
    return err(`${describeCommand(command)}: ${result.reason ?? 'failed'}`);
  }
  return ok(parsePfctlRules(result.stdout));
}

export async function readLiveState(tools: ToolPaths, names: LiveNames, options: RunOptions): Promise<Result<LiveState>> {
  const [gif, wan, defaultRoute, anchor] = await Promise.all([
    readInterface(tools, names.tunnel, options),
    readInterface(tools, names.wan, options),
    readDefaultRoute(tools, options),
    readAnchor(tools, names.anchor, options),
  ]);
  if (!gif.ok) return gif;
  if (!wan.ok) return wan;
  if (!defaultRoute.ok) return defaultRoute;
  if (!anchor.ok) return anchor;
  return ok({ gif: gif.value, wan: wan.value, defaultRoute: defaultRoute.value, anchor: anchor.value });
}
