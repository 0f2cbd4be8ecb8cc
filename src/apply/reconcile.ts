/**
 * One convergence: read the live state and the ownership record, plan the
 * difference, run it, verify, and on failure roll back to the last good state
 * (docs/architecture.md §4). The daemon calls it on every lease change; with nothing to
 * change it runs no mutating command (reads only).
 */
import { access, constants } from 'node:fs/promises';
import { formatIpv6 } from '../map/index.js';
import { argv, describeCommand, parseStatesWithIdsYielding, renderAnchor, staleStates, type Command, type DesiredState } from '../openbsd/index.js';
import { LIVE_STATE_READS, readLiveState, type LiveNames } from './live-state.js';
import {
  NOTHING_OWNED,
  OWNERSHIP_FILE,
  ownsAnything,
  readOwnership,
  serializeOwnership,
  writeOwnership,
  type Ownership,
  type OwnershipRead,
} from './ownership.js';
import { adoptFromLive, applyEffect, EMPTY_LIVE_STATE, planApply, planTeardown, recordedBefore, type Effect, type LiveState, type Plan, type PlanStep } from './plan.js';
import { checkToolPaths, commandArgv, runCommand, type RunOptions, type ToolPaths } from './run.js';

export interface ReconcileOptions {
  /** The state to reach; null tears down everything maped owns. */
  readonly desired: DesiredState | null;
  readonly tools: ToolPaths;
  readonly stateDir: string;
  /** Plan only: run nothing that changes the system, write no record. */
  readonly dryRun: boolean;
  /** In a dry run, whether the live state may be read with the tools (default yes, where they can run). */
  readonly readLive?: boolean;
  /**
   * The live state under `desired`'s names, read by the caller just before
   * (the driver reads it for `tunnel mtu auto`): the first plan uses it
   * instead of asking the tools again. Ignored when a rename must first
   * remove what maped owns under other names.
   */
  readonly live?: LiveState;
  /** Per command. */
  readonly timeoutMs: number;
  readonly maxOutput?: number;
  /** Stale states killed in one apply at most; default MAX_STALE_KILLS. */
  readonly maxStaleKills?: number;
  readonly log?: (line: string) => void;
  /** What the operator must hear of (a lost ownership record); default: `log`. */
  readonly warn?: (line: string) => void;
  /**
   * Recognises the addresses maped would add (src/daemon/own-addresses.ts:
   * CE addresses of the MAP rules it knows, the tunnel sources of the
   * softwires it knows under any prefix): with a record that is missing,
   * lost, truncated or of another version, the /128s on the WAN it accepts
   * are adopted as maped's, so that a prefix change or teardown removes
   * them. Default: only `desired`'s own CE address.
   */
  readonly ours?: (address: bigint) => boolean;
  /**
   * The record as this process last read or wrote it, by state directory,
   * kept by the caller from one reconcile to the next: with it the record is
   * read from disk once, not at every lease change. maped is the record's
   * only writer (the privileged parent writes only what its child sends), so
   * what it wrote last is what the file holds; a process that starts again
   * reads it afresh. Without it (tests that edit the file between runs) every
   * reconcile reads the file.
   */
  readonly remembered?: Map<string, Ownership>;
  /**
   * Called once the commands that bring the system to `desired` have run
   * and before they are verified: the reads that follow an apply (the
   * driver's system checks) start then, beside the verification's.
   */
  readonly applied?: () => void;
}

export interface ApplyCommand {
  /** argv[0] is the tool's absolute path. */
  readonly argv: readonly string[];
  readonly stdin?: string;
}

export interface ApplyReport {
  readonly ok: boolean;
  /** The mutating commands run (the failed one last), or in a dry run those that would run. */
  readonly commands: readonly ApplyCommand[];
  /** `step N (ifconfig gif0 tunnel …): <first line of stderr>`, or a planning/verify problem. */
  readonly error: string | null;
  /** True when a failure was undone and the last good state (or nothing, on a first apply) verified. */
  readonly rolledBack: boolean;
  /** The commands run to roll back. */
  readonly rollbackCommands: readonly ApplyCommand[];
  /** How many read-only tool runs (ifconfig/route/pfctl -sr) this took. */
  readonly reads: number;
  /** The anchor text for `desired`, for dry-run output and status; null on teardown. */
  readonly anchorText: string | null;
  readonly warnings: readonly string[];
}

type Target = DesiredState | null;

const namesOf = (d: DesiredState): LiveNames => ({ wan: d.wan, tunnel: d.tunnel, anchor: d.anchor });

function ownedNames(o: Ownership): LiveNames | null {
  if (o.wan === null || o.tunnel === null || o.anchor === null) return null;
  return { wan: o.wan, tunnel: o.tunnel, anchor: o.anchor };
}

function sameIdentity(o: Ownership, d: DesiredState): boolean {
  return o.wan === d.wan && o.tunnel === d.tunnel && o.anchor === d.anchor && o.label === d.label;
}

function toApplyCommand(tools: ToolPaths, command: Command): ApplyCommand {
  const line = commandArgv(tools, command);
  return command.stdin === undefined ? { argv: line } : { argv: line, stdin: command.stdin };
}

function plan(target: Target, live: LiveState, owned: Ownership, adopted: readonly Effect[] = []): { ok: true; plan: Plan } | { ok: false; error: string } {
  if (target === null) return { ok: true, plan: planTeardown(live, owned) };
  const p = planApply(target, live, owned, adopted);
  return p.ok ? { ok: true, plan: p.value } : { ok: false, error: p.error };
}

/**
 * Records that could not be written (ENOSPC, EROFS), by state directory: the
 * process still knows what it configured, and the next reconcile uses this
 * copy and writes it before it changes anything.
 */
const unsaved = new Map<string, Ownership>();

/** pfctl runs killing stale states side by side; each takes a moment of the kernel's pf lock and nothing else. */
const KILLS_AT_ONCE = 8;
/**
 * Stale states killed in one apply at most: each is a pfctl run (through
 * the privileged parent, a root process), so 4096 take a few seconds; the
 * rest can no longer pass (their address or tunnel is gone) and time out.
 */
export const MAX_STALE_KILLS = 4096;

const errorText = (e: unknown): string => {
  const code = (e as NodeJS.ErrnoException).code;
  const message = (e as Error).message ?? String(e);
  return code !== undefined && !message.startsWith(code) ? `${code}: ${message}` : message;
};

function settle(o: Ownership, applied: DesiredState | null): Ownership {
  const next = { ...o, applied };
  return ownsAnything(next) ? next : { ...NOTHING_OWNED };
}

async function toolsRunnable(tools: ToolPaths): Promise<boolean> {
  try {
    await Promise.all([tools.ifconfig, tools.route, tools.pfctl].map((p) => access(p, constants.X_OK)));
    return true;
  } catch {
    return false;
  }
}

export async function reconcile(options: ReconcileOptions): Promise<ApplyReport> {
  const { desired, tools, stateDir, dryRun, log } = options;
  const maxStaleKills = options.maxStaleKills ?? MAX_STALE_KILLS;
  const runOptions: RunOptions = { timeoutMs: options.timeoutMs, ...(options.maxOutput === undefined ? {} : { maxOutput: options.maxOutput }) };
  const anchorText = desired === null ? null : renderAnchor(desired);
  const warnings = desired === null ? [] : [...desired.warnings];
  const commands: ApplyCommand[] = [];
  const rollbackCommands: ApplyCommand[] = [];
  let reads = 0;
  const report = (ok: boolean, error: string | null, rolledBack = false): ApplyReport => ({
    ok,
    commands,
    error,
    rolledBack,
    rollbackCommands,
    reads,
    anchorText,
    warnings,
  });

  const pathProblem = checkToolPaths(tools);
  if (pathProblem !== null) return report(false, pathProblem);

  const kept = dryRun ? undefined : unsaved.get(stateDir);
  // A dry run reads the file each time: it writes nothing, so its memory would only go stale.
  const remembered = dryRun ? undefined : options.remembered;
  const known = kept === undefined ? remembered?.get(stateDir) : undefined;
  const record: OwnershipRead =
    kept !== undefined ? { ownership: kept, problem: null } : known !== undefined ? { ownership: known, problem: null } : await readOwnership(stateDir);
  // A missing record is not remembered: until one is written, each reconcile looks for what to adopt.
  if (kept === undefined && record.problem === null && record.missing !== true) remembered?.set(stateDir, record.ownership);
  /**
   * The record cannot be trusted, or there is none (a first start, or a
   * state directory wiped under a configured system): what the live state
   * shows to be ours is adopted by the first plan.
   */
  let lost = record.problem !== null || record.missing === true;
  const warn = options.warn ?? log;
  if (record.problem !== null) warn?.(`ownership record lost: ${record.problem}; adopting what the live state shows to be maped's`);
  const adopt = (target: DesiredState, live: LiveState): Effect[] => {
    if (!lost) return [];
    lost = false;
    const adopted = adoptFromLive(target, live, owned, options.ours ?? (() => false));
    // A first start finds nothing to adopt; finding something means a record went missing.
    if (record.problem === null && adopted.length > 0) {
      warn?.(`no ownership record; adopted from the live state: ${adopted.map((e) => (e.kind === 'alias-added' ? formatIpv6(e.address) : target.tunnel)).join(', ')}`);
    }
    return adopted;
  };
  const lastGood = record.ownership.applied;
  let owned = record.ownership;
  /** The record as last written; null when what is on disk is not it (lost, or kept in memory). */
  let onDisk: string | null = record.problem === null && kept === undefined ? serializeOwnership(owned) : null;
  if (kept !== undefined) {
    // Nothing changes until what maped owns is on disk again.
    try {
      await writeOwnership(stateDir, kept);
      unsaved.delete(stateDir);
      remembered?.set(stateDir, kept);
      onDisk = serializeOwnership(kept);
      log?.('ownership record written again from memory');
    } catch (e) {
      return report(false, `recording ${OWNERSHIP_FILE}: ${errorText(e)} (kept in memory)`);
    }
  }

  const read = async (names: LiveNames | null): Promise<{ ok: true; live: LiveState } | { ok: false; error: string }> => {
    if (names === null) return { ok: true, live: EMPTY_LIVE_STATE };
    reads += LIVE_STATE_READS;
    const live = await readLiveState(tools, names, runOptions);
    return live.ok ? { ok: true, live: live.value } : { ok: false, error: `reading the live state: ${live.error}` };
  };

  // maped.conf renamed the wan, tunnel, anchor or label: first remove what we own under the old names.
  const phases: Target[] = [];
  if (desired !== null && ownsAnything(owned) && !sameIdentity(owned, desired)) phases.push(null);
  phases.push(desired);
  let given = phases.length === 1 && desired !== null ? options.live : undefined;
  /** The caller's reading for the first plan, then fresh reads. */
  const readFirst = async (names: LiveNames | null): ReturnType<typeof read> => {
    const live = given;
    given = undefined;
    return live === undefined ? read(names) : { ok: true, live };
  };

  /**
   * Killing stale states is best effort: the new configuration is right
   * whether or not the old states go (they can no longer pass and time out),
   * and rolling back to a prefix or address no longer ours for want of a kill
   * would be worse. What was not killed is a warning.
   */
  const notKilled = (why: string): void => {
    warnings.push(`stale pf states of the old address, port set or tunnel not killed (they time out by themselves): ${why}`);
  };

  /** Lists pf's states and picks those the step's change left stale; a string is the error. */
  const staleStateIds = async (step: PlanStep): Promise<string[] | string> => {
    reads++;
    const listing = await runCommand(tools, step.command, runOptions);
    if (!listing.ok) return `${describeCommand(step.command)}: ${listing.reason ?? 'failed'}`;
    const { previous, next } = step.killStale!;
    return staleStates(await parseStatesWithIdsYielding(listing.stdout), previous, next).map((s) => s.id);
  };

  if (dryRun) {
    // Plan against the live state when the tools can run here; otherwise against nothing.
    const runnable = options.readLive !== false && (await toolsRunnable(tools));
    let simulated = owned;
    for (const target of phases) {
      const names = target === null ? ownedNames(simulated) : namesOf(target);
      const live = runnable ? await readFirst(names) : { ok: true as const, live: EMPTY_LIVE_STATE };
      if (!live.ok) return report(false, live.error);
      const p = plan(target, live.live, simulated, target === null ? [] : adopt(target, live.live));
      if (!p.ok) return report(false, p.error);
      for (const step of p.plan.steps) {
        if (step.killStale === undefined) commands.push(toApplyCommand(tools, step.command));
        else if (runnable) {
          const ids = await staleStateIds(step);
          if (typeof ids === 'string') notKilled(ids);
          else {
            if (ids.length > maxStaleKills) notKilled(`${ids.length - maxStaleKills} of ${ids.length}: at most ${maxStaleKills} are killed in one apply`);
            for (const id of ids.slice(0, maxStaleKills)) commands.push(toApplyCommand(tools, argv.killStateId(id)));
          }
        }
      }
      if (target === null) simulated = NOTHING_OWNED;
    }
    return report(true, null);
  }

  /**
   * Keeps `o` as what maped owns and writes it. A write that fails leaves
   * the record in memory (used and written again by the next reconcile)
   * and returns why; it never loses track of what was configured.
   */
  const record_ = async (o: Ownership): Promise<string | null> => {
    owned = o;
    if (serializeOwnership(o) === onDisk) {
      // The file says so already (a removal kept for the next write, then
      // undone, as the route around a new IPv4 address): no write, no fsync.
      unsaved.delete(stateDir);
      remembered?.set(stateDir, o);
      return null;
    }
    try {
      await writeOwnership(stateDir, o);
      unsaved.delete(stateDir);
      remembered?.set(stateDir, o);
      onDisk = serializeOwnership(o);
      return null;
    } catch (e) {
      // What the file holds is no longer known for sure: read it again once the copy in memory is written.
      remembered?.delete(stateDir);
      unsaved.set(stateDir, o);
      return `recording ${OWNERSHIP_FILE}: ${errorText(e)} (kept in memory)`;
    }
  };

  /**
   * Runs a plan's steps; returns the failing step's message, or null. A
   * record that cannot be written fails the step it records, unless
   * `bestEffort` (a rollback goes on regardless: the record stays in memory).
   */
  const execute = async (p: Plan, target: Target, into: ApplyCommand[], numberFrom: number, bestEffort = false): Promise<string | null> => {
    let o = p.corrections.reduce((acc: Ownership, e: Effect) => applyEffect(acc, e, target), owned);
    if (serializeOwnership(o) !== serializeOwnership(owned)) {
      const problem = await record_(o);
      if (problem !== null && !bestEffort) return problem;
    }
    /**
     * Takes the effects' change of `o`, if any. Claims are written at once,
     * in one write (write-ahead; a write that fails is the step's failure); a
     * removal goes to disk with the next write: a record that still names
     * what is gone is corrected by the next plan, and each write is two
     * fsyncs (tens of milliseconds on a busy disk).
     */
    const note = async (...effects: Effect[]): Promise<string | null> => {
      const next = effects.reduce((acc: Ownership, e) => applyEffect(acc, e, target), o);
      if (serializeOwnership(next) === serializeOwnership(o)) return null;
      o = next;
      if (!effects.some(recordedBefore)) {
        owned = o;
        return null;
      }
      const problem = await record_(o);
      return bestEffort ? null : problem;
    };
    /** Runs step number `n`, adding the commands it ran to `ran` (the failed one last); the failure, or null. */
    const runStep = async (step: PlanStep, n: number, ran: ApplyCommand[]): Promise<string | null> => {
      if (step.killStale !== undefined) {
        const ids = await staleStateIds(step);
        if (typeof ids === 'string') {
          notKilled(ids);
          return null;
        }
        const killing = ids.slice(0, maxStaleKills);
        // pfctl(8) `-k id -k <id>` kills one state per run: a few runs at once, not one after another.
        for (let at = 0; at < killing.length; at += KILLS_AT_ONCE) {
          const wave = killing.slice(at, at + KILLS_AT_ONCE).map((id) => argv.killStateId(id));
          const results = await Promise.all(wave.map((kill) => runCommand(tools, kill, runOptions)));
          wave.forEach((kill) => ran.push(toApplyCommand(tools, kill)));
          const failed = results.findIndex((r) => !r.ok);
          if (failed !== -1) {
            notKilled(`${describeCommand(wave[failed]!)}: ${results[failed]!.reason ?? 'failed'}`);
            return null;
          }
        }
        if (ids.length > killing.length) notKilled(`${ids.length - killing.length} of ${ids.length}: at most ${maxStaleKills} are killed in one apply`);
        if (killing.length > 0) log?.(`killed ${killing.length} pf states of the old address, port set or tunnel`);
        return null;
      }
      const effect = step.effect;
      const ahead = effect !== null && recordedBefore(effect);
      if (ahead) {
        // Write-ahead: on disk before the command can create it.
        const problem = await note(effect);
        if (problem !== null) return `step ${n} (${describeCommand(step.command)}): ${problem}`;
      }
      ran.push(toApplyCommand(tools, step.command));
      log?.(`run: ${describeCommand(step.command)}`);
      const result = await runCommand(tools, step.command, runOptions);
      if (!result.ok) return `step ${n} (${describeCommand(step.command)}): ${result.reason ?? 'failed'}`;
      if (effect !== null && !ahead) {
        const problem = await note(effect);
        if (problem !== null) return `step ${n} (${describeCommand(step.command)}): ${problem}`;
      }
      return null;
    };

    let n = numberFrom;
    for (let first = 0; first < p.steps.length; ) {
      // The step and those it runs beside (PlanStep.withNext).
      let last = first;
      while (p.steps[last]!.withNext === true && last + 1 < p.steps.length) last++;
      const group = p.steps.slice(first, last + 1);
      first = last + 1;
      if (group.length === 1) {
        const failure = await runStep(group[0]!, ++n, into);
        if (failure !== null) return failure;
        continue;
      }
      // What any of them creates is on record, in one write, before the first starts.
      const claiming = group.filter((step) => step.effect !== null && recordedBefore(step.effect));
      if (claiming.length > 0) {
        const problem = await note(...claiming.map((step) => step.effect!));
        const firstClaim = claiming[0]!;
        if (problem !== null) return `step ${n + 1 + group.indexOf(firstClaim)} (${describeCommand(firstClaim.command)}): ${problem}`;
      }
      const ran = group.map((): ApplyCommand[] => []);
      const failures = await Promise.all(group.map((step, i) => runStep(step, n + 1 + i, ran[i]!)));
      n += group.length;
      // The commands run, in plan order, the failed step's last.
      const failed = failures.findIndex((f) => f !== null);
      ran.forEach((commandsRun, i) => i !== failed && into.push(...commandsRun));
      if (failed !== -1) {
        into.push(...ran[failed]!);
        return failures[failed]!;
      }
    }
    return null;
  };

  /** Plans the target against a fresh read and checks nothing is left to do. */
  const verify = async (target: Target): Promise<string | null> => {
    const names = target === null ? ownedNames(owned) : namesOf(target);
    const live = await read(names);
    if (!live.ok) return `verify: ${live.error}`;
    const check = plan(target, live.live, target === null ? owned : { ...owned, applied: target });
    if (!check.ok) return `verify: ${check.error}`;
    const left = check.plan.steps[0];
    return left === undefined ? null : `verify: still needed after apply: ${describeCommand(left.command)}`;
  };

  let failure: string | null = null;
  for (const target of phases) {
    const names = target === null ? ownedNames(owned) : namesOf(target);
    const live = await readFirst(names);
    if (!live.ok) return report(false, live.error);
    const p = plan(target, live.live, owned, target === null ? [] : adopt(target, live.live));
    if (!p.ok) {
      log?.(`cannot apply: ${p.error}`);
      return report(false, p.error);
    }
    failure = await execute(p.plan, target, commands, commands.length);
    if (failure === null && target === desired && target !== null && commands.length > 0) options.applied?.();
    if (failure === null && p.plan.steps.length > 0) failure = await verify(target);
    if (failure !== null) break;
    if (target === null && target !== desired) failure = await record_({ ...NOTHING_OWNED });
    if (failure !== null) break;
  }

  if (failure === null) {
    const settled = settle(owned, desired);
    // Rewrite only when the record changes: a no-op renewal writes nothing.
    if (serializeOwnership(settled) !== onDisk) {
      // Everything is in place; only the record is not: no rollback, the write is retried.
      const problem = await record_(settled);
      if (problem !== null) return report(false, problem);
    }
    if (commands.length > 0) {
      log?.(desired === null ? 'softwire configuration removed' : `${desired.softwire} configuration applied with ${commands.length} commands`);
    }
    return report(true, null);
  }

  log?.(`apply failed: ${failure}`);
  // Roll back to the last good state, or remove what this run created when there is none.
  const rollbackTarget: Target = lastGood;
  const names = rollbackTarget === null ? ownedNames(owned) : namesOf(rollbackTarget);
  const live = await read(names);
  let rollbackError: string | null = live.ok ? null : live.error;
  if (live.ok) {
    const p = plan(rollbackTarget, live.live, owned);
    if (!p.ok) rollbackError = p.error;
    else {
      rollbackError = await execute(p.plan, rollbackTarget, rollbackCommands, 0, true);
      if (rollbackError === null) rollbackError = await verify(rollbackTarget);
    }
  }
  // Best effort: a record that cannot be written stays in memory for the next reconcile.
  await record_(settle(owned, rollbackError === null ? rollbackTarget : owned.applied));
  if (rollbackError !== null) {
    log?.(`rollback failed: ${rollbackError}`);
    return report(false, `${failure}; rollback failed: ${rollbackError}`, false);
  }
  log?.(rollbackTarget === null ? 'rolled back: removed what this apply created' : 'rolled back to the last good state');
  return report(false, failure, true);
}
