/**
 * The Driver over src/openbsd (what to want) and src/apply (getting there):
 * resolves `pf portset auto` and `tunnel mtu auto` against the live system,
 * builds the desired state and reconciles to it.
 */
import type { Logger } from 'pino';
import {
  detectPortsetSupport,
  readLiveState,
  readPfStates,
  reconcile,
  runCommand,
  type LiveNames,
  type LiveState,
  type Ownership,
  type ToolPaths,
} from '../apply/index.js';
import { err, formatIpv6, type Result } from '../map/index.js';
import type { MapedConfig } from '../config/index.js';
import { desiredState, softwireInput, systemCheckCommands, systemWarnings, type Command } from '../openbsd/index.js';
import type { Softwire } from '../softwire/index.js';
import type { Driver, DriverReport, LookAhead } from './driver.js';
import { ownAddressTest } from './own-addresses.js';

/** Per command; ifconfig, route and pfctl answer in milliseconds when healthy. */
const DEFAULT_COMMAND_TIMEOUT_MS = 10_000;
/** What `mtu auto` assumes when the WAN cannot be asked (a dry run here, off OpenBSD). */
const ASSUMED_WAN_MTU = 1500;

function toolsOf(config: MapedConfig): ToolPaths {
  return { ifconfig: config.tools.ifconfig, route: config.tools.route, pfctl: config.tools.pfctl, sysctl: config.tools.sysctl };
}

/**
 * What maped cannot fix, read once after an apply: is the anchor called, pf
 * enabled, IPv4 forwarded? Three reads side by side; each problem is one
 * warning (src/openbsd/system-checks.ts).
 */
async function checkSystem(tools: ToolPaths, anchor: string, timeoutMs: number): Promise<string[]> {
  const read = async (command: Command): Promise<string | { error: string }> => {
    const result = await runCommand(tools, command, { timeoutMs });
    return result.ok ? result.stdout : { error: result.reason ?? 'failed' };
  };
  const [mainRules, pfInfo, forwarding] = await Promise.all([
    read(systemCheckCommands.mainRules()),
    read(systemCheckCommands.pfInfo()),
    read(systemCheckCommands.forwarding()),
  ]);
  return systemWarnings({ mainRules, pfInfo, forwarding }, anchor);
}

function failed(error: string, warnings: readonly string[] = []): DriverReport {
  return { ok: false, commands: [], anchorText: null, error, mtu: null, portset: null, warnings };
}

const namesOf = (config: MapedConfig): LiveNames => ({ wan: config.wan, tunnel: config.tunnel.interface, anchor: config.pf.anchor });
const sameNames = (a: LiveNames, b: LiveNames): boolean => a.wan === b.wan && a.tunnel === b.tunnel && a.anchor === b.anchor;

export interface DriverOptions {
  /** Per command; tests that make tools hang shorten it. */
  readonly commandTimeoutMs?: number;
}

export function createOpenBSDDriver(log: Logger, options: DriverOptions = {}): Driver {
  const COMMAND_TIMEOUT_MS = options.commandTimeoutMs ?? DEFAULT_COMMAND_TIMEOUT_MS;
  // The kernel does not change under a running maped: probe pf once per pfctl path.
  const probed = new Map<string, 'kernel' | 'stock'>();
  const lookAheads = new WeakMap<LookAhead, { names: LiveNames; reading: Promise<Result<LiveState>> }>();
  /**
   * The last system check and the configuration it was made under: checked
   * again after an apply that ran commands, or under a new configuration (at
   * start, after a reload), not on every renewal; its warnings stand until then.
   */
  let checked: { config: MapedConfig; warnings: readonly string[] } | null = null;
  /** The ownership record as this driver last read or wrote it: read from disk once, not at every change (reconcile.ts). */
  const remembered = new Map<string, Ownership>();

  return {
    lookAhead(config: MapedConfig): LookAhead {
      const token = {};
      const names = namesOf(config);
      // Never a rejection: the engine may drop the token unused (no lease after all).
      const reading = readLiveState(toolsOf(config), names, { timeoutMs: COMMAND_TIMEOUT_MS }).catch((e: unknown) =>
        err(`reading the live state: ${(e as Error).message}`),
      );
      lookAheads.set(token, { names, reading });
      return token;
    },

    readStates(config: MapedConfig) {
      return readPfStates(toolsOf(config), { timeoutMs: COMMAND_TIMEOUT_MS });
    },

    async converge(softwire: Softwire | null, config: MapedConfig, convergeOptions): Promise<DriverReport> {
      const options = convergeOptions;
      const tools = toolsOf(config);
      const readLive = !options.dryRun || options.readLive !== false;
      const warnings: string[] = [];
      let desired = null;
      let live: LiveState | undefined;
      if (softwire !== null) {
        let portset: 'kernel' | 'stock';
        if (config.pf.portset !== 'auto') portset = config.pf.portset;
        else if (!readLive) {
          portset = 'stock';
          warnings.push('pf portset auto: not probed in a dry run; planning for stock pf');
        } else {
          const known = probed.get(tools.pfctl);
          if (known !== undefined) portset = known;
          else {
            // A pfctl and kernel that disagree on the pf ABI can load no rule at all:
            // say so rather than pick a mode; asked again next time (a fixed pfctl may be installed).
            const probe = await detectPortsetSupport(tools.pfctl, config.pf.anchor, { timeoutMs: COMMAND_TIMEOUT_MS });
            if (!probe.ok) return failed(`pf portset auto: ${probe.error}`, warnings);
            portset = probe.value;
            probed.set(tools.pfctl, portset);
            log.info(`pf portset auto: ${portset === 'kernel' ? 'map-e-portset supported' : 'stock pf (no map-e-portset)'}`);
          }
        }

        // One look at the system, its reads side by side, serves both `mtu auto`
        // and the plan. A dry run looks only when `mtu auto` needs it, as
        // reconcile reads only where the tools run.
        if (readLive && (!options.dryRun || config.tunnel.mtu === 'auto')) {
          const names = namesOf(config);
          const ahead = options.lookAhead === undefined ? undefined : lookAheads.get(options.lookAhead);
          let read = ahead !== undefined && sameNames(ahead.names, names) ? await ahead.reading : null;
          // A look-ahead that failed is not trusted with the verdict: ask again.
          if (read === null || !read.ok) read = await readLiveState(tools, names, { timeoutMs: COMMAND_TIMEOUT_MS });
          if (!read.ok) return failed(`reading the live state: ${read.error}`, warnings);
          live = read.value;
        }
        // A tunnel source that is the WAN's own address is never added: gone from the WAN, it is waited for.
        if (softwire.tunnel.onWan === true && live !== undefined && live.wan !== null && !live.wan.inet6.some((a) => a.address === softwire.tunnel.source)) {
          return failed(`the tunnel source ${formatIpv6(softwire.tunnel.source)} is no longer an address of ${config.wan}`, warnings);
        }
        let wanMtu: number | null = null;
        if (config.tunnel.mtu === 'auto') {
          if (live === undefined) {
            wanMtu = ASSUMED_WAN_MTU;
            warnings.push(`tunnel mtu auto: ${config.wan} not asked in a dry run; assuming mtu ${ASSUMED_WAN_MTU}`);
          } else if (live.wan === null) {
            return failed(`tunnel mtu auto: interface ${config.wan} does not exist`, warnings);
          } else {
            wanMtu = live.wan.mtu;
          }
        }

        const built = desiredState({
          wan: config.wan,
          tunnel: config.tunnel.interface,
          mtu: config.tunnel.mtu,
          wanMtu,
          ...softwireInput(softwire),
          // `tunnel … peer` replaces the kind's own peer (one keyword for every kind).
          ...(config.tunnel.peer === null ? {} : { ipv4Peer: config.tunnel.peer }),
          routePriority: config.tunnel.routePriority,
          natFrom: config.natFrom,
          anchor: config.pf.anchor,
          portset,
          forwards: config.forwards,
        });
        if (!built.ok) return failed(built.error, warnings);
        desired = built.value;
      }

      // Checked again after an apply that ran commands, or under a new
      // configuration; started as soon as the commands have run, beside the
      // verification's reads, so that neither waits for the other.
      const wanted = desired;
      let checking: Promise<string[]> | null = null;
      const check = (anchor: string): Promise<string[]> => (checking ??= checkSystem(tools, anchor, COMMAND_TIMEOUT_MS));
      const report = await reconcile({
        desired,
        tools,
        stateDir: config.stateDir,
        dryRun: options.dryRun,
        readLive,
        ...(live === undefined ? {} : { live }),
        timeoutMs: COMMAND_TIMEOUT_MS,
        log: (line) => log.debug(line),
        warn: (line) => log.warn(line),
        ours: ownAddressTest(options.knownRules ?? [], options.knownSoftwires ?? []),
        remembered,
        ...(wanted === null || options.dryRun ? {} : { applied: () => void check(wanted.anchor) }),
      });
      if (desired === null) checked = null;
      else if (report.ok && !options.dryRun && (checked === null || checked.config !== config || report.commands.length > 0)) {
        checked = { config, warnings: await check(desired.anchor) };
      }
      return {
        ok: report.ok,
        commands: report.commands.map((c) => (c.stdin === undefined ? c.argv : [...c.argv, '<', 'anchor text'])),
        anchorText: report.anchorText,
        error: report.error,
        mtu: desired?.mtu ?? null,
        // DS-Lite has no port set to show (no NAT44 on the CE).
        portset: desired === null || desired.portset === 'none' ? null : desired.portset,
        warnings: [...warnings, ...report.warnings, ...(desired === null || checked === null ? [] : checked.warnings)],
      };
    },
  };
}
