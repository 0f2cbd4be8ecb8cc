/**
 * reconcile() against the fake OpenBSD tools: first apply, no-op renewal,
 * prefix, BR and PSID changes, teardown, restart, ownership, and a failure
 * injected at every step of an apply, each rolled back.
 */
import { readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, onTestFinished } from 'vitest';
import {
  localOwnershipFiles,
  OWNERSHIP_FILE,
  planApply,
  readLiveState,
  readOwnership,
  reconcile,
  serializeOwnership,
  useOwnershipFiles,
  type ApplyReport,
  type Ownership,
} from '../../src/apply/index.js';
import { formatIpv4, formatIpv6, parseIpv4, parseIpv6, portSet } from '../../src/map/index.js';
import { argv, type DesiredState } from '../../src/openbsd/index.js';
import { createFakeOpenBSD, isMutation, type FakeOpenBSD, type FakeNatState, type FakeRoute, type FakeState } from '../support/fake-openbsd/index.js';
import { deriveSet, desiredFor, PARAMETER_SETS, type ParameterSet } from '../openbsd/parameter-sets.js';
import { expectInApplyOrder, firstApplyCommands } from '../support/first-apply.js';

const COSMOTE = PARAMETER_SETS[0]!;
const CE = '2a02:586:6234:bf00:0:57ca:3ad2:3f';

interface Rig {
  fake: FakeOpenBSD;
  stateDir: string;
  run(desired: DesiredState | null, dryRun?: boolean): Promise<ApplyReport>;
}

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0)) await c();
});

/** Concurrent tests pass their own onTestFinished; the others clean up in afterEach. */
async function rig(
  options: { kernelPortset?: boolean } = {},
  register: (cleanup: () => Promise<void>) => void = (c) => cleanups.push(c),
): Promise<Rig> {
  const fake = await createFakeOpenBSD({ kernelPortset: options.kernelPortset ?? true });
  const stateDir = await mkdtemp(join(tmpdir(), 'maped-state-'));
  register(() => fake.cleanup());
  register(() => rm(stateDir, { recursive: true, force: true }));
  return {
    fake,
    stateDir,
    run: (desired, dryRun = false) => reconcile({ desired, tools: fake.tools, stateDir, dryRun, timeoutMs: 10_000 }),
  };
}

/** The commands as the fake saw them: tool name, then arguments. */
const asCalls = (report: ApplyReport): string[][] => report.commands.map((c) => [c.argv[0]!.split('/').pop()!, ...c.argv.slice(1)]);
const lines = (report: ApplyReport): string[] => asCalls(report).map((c) => c.join(' '));

/** What maped may change; pf states are excluded because killed states do not come back. */
const system = (s: FakeState) => ({ interfaces: s.interfaces, routes: s.routes, anchors: s.anchors });

/** `pfctl -k id -k <id>` for the fake's states that `pick` selects, in listing order. */
const kills = (fake: FakeOpenBSD, pick: (s: FakeNatState) => boolean = () => true): string[] =>
  fake.state().states.filter(pick).map((s) => `pfctl -k id -k ${s.id}`);

/**
 * `count` connections of the router through the old port set, beside the
 * fake's imagined states; the kills of every stale state, three of them the
 * imagined ones.
 */
function withRouterConnections(fake: FakeOpenBSD, count: number): string[] {
  fake.editState((state) => {
    const nat = state.states.find((st) => st.proto !== 'ipencap')!;
    for (let i = 0; i < count; i++) state.states.push({ ...nat, id: `00000000aaaa${String(i).padStart(4, '0')}`, wire: [[nat.wire[0][0], 1300 + i], nat.wire[1]] });
  });
  const stale = kills(fake);
  expect(stale).toHaveLength(count + 3);
  return stale;
}

const withPrefix = (set: ParameterSet, endUserPrefix: string): ParameterSet => ({ ...set, endUserPrefix });

function withPsid(desired: DesiredState, psid: number): DesiredState {
  const ports = portSet(desired.psidOffset, desired.psidLen, psid);
  return { ...desired, psid, portSets: ports.ranges };
}

function v4(text: string): number {
  const r = parseIpv4(text);
  if (!r.ok) throw new Error(r.error);
  return r.value;
}

function v6(text: string): bigint {
  const r = parseIpv6(text);
  if (!r.ok) throw new Error(r.error);
  return r.value;
}

describe('apply', () => {
  it('first apply creates the tunnel, alias, route and anchor in order', async () => {
    const { fake, run } = await rig();
    const report = await run(desiredFor(COSMOTE, 'kernel'));
    expect(report).toMatchObject({ ok: true, error: null, rolledBack: false });
    expect(lines(report)).toEqual(firstApplyCommands({ source: CE, remote: '2a02:586::406', ipv4: '87.202.58.210' }));
    expectInApplyOrder(fake.mutations().map((c) => c.join(' ')), lines(report));
    const s = fake.state();
    expect(s.interfaces.gif0).toMatchObject({
      mtu: 1460,
      tunnel: { source: CE, destination: '2a02:586::406' },
      inet: [{ address: '87.202.58.210', peer: '0.0.0.1', netmask: '0xffffffff' }],
    });
    expect(s.interfaces.gif0!.flags).toContain('UP');
    expect(s.interfaces.em0!.inet6.map((a) => a.address)).toContain(CE);
    expect(s.routes).toEqual([expect.objectContaining({ gateway: '0.0.0.1', interface: 'gif0', label: 'maped', priority: 7 })]);
    expect(s.anchors.maped).toContain('match out on gif0 inet from (gif0) to any label "maped" nat-to (gif0) round-robin map-e-portset 6/6/63');
  });

  it('renewal with identical data runs no command and reads only', async () => {
    const { fake, run } = await rig();
    const desired = desiredFor(COSMOTE, 'stock');
    expect((await run(desired)).ok).toBe(true);
    fake.clearLog();
    const report = await run(desired);
    expect(report).toMatchObject({ ok: true, commands: [], error: null });
    expect(report.reads).toBeGreaterThan(0);
    expect(fake.mutations()).toEqual([]);
    expect(fake.log().length).toBe(report.reads);
  });

  it('runs side by side only what does not depend on each other: the alias beside the first gif step, the anchor beside the last gif or route step, the stale states beside the old alias', async () => {
    const { fake, stateDir, run } = await rig();
    const first = desiredFor(COSMOTE, 'kernel');
    const names = { wan: first.wan, tunnel: first.tunnel, anchor: first.anchor };
    /** The plan's commands, those of one group (run at the same time) joined by " | ". */
    const groups = async (desired: DesiredState): Promise<string[]> => {
      const live = await readLiveState(fake.tools, names, { timeoutMs: 10_000 });
      if (!live.ok) throw new Error(live.error);
      const owned = (await readOwnership(stateDir)).ownership;
      const plan = planApply(desired, live.value, owned);
      if (!plan.ok) throw new Error(plan.error);
      const out: string[] = [];
      let joined = false;
      for (const step of plan.value.steps) {
        const text = step.command.tool + ' ' + step.command.args.join(' ');
        if (joined) out[out.length - 1] += ` | ${text}`;
        else out.push(text);
        joined = step.withNext === true;
      }
      return out;
    };

    // First apply: the gif chain in order, the alias beside its first step, the anchor beside the route.
    const creating = await groups(first);
    expect(creating[0]).toBe(`ifconfig em0 inet6 ${CE} prefixlen 128 alias | ifconfig gif0 create`);
    expect(creating.at(-1)).toMatch(/^route -n add -inet default .* \| pfctl -o none -a maped -f -$/);
    expect(creating.slice(1, -1).every((group) => !group.includes(' | '))).toBe(true);
    expect((await run(first)).ok).toBe(true);

    // A new prefix that moves the IPv4 address too: the route goes before the
    // address and comes back after it, in order; the alias runs beside the
    // tunnel, the anchor beside the route; then the stale states beside the old alias.
    const moved = desiredFor(withPrefix(COSMOTE, '2a02:586:6234:c100::/56'), 'kernel');
    const movedCe = formatIpv6(moved.ceIPv6);
    expect(await groups(moved)).toEqual([
      `ifconfig em0 inet6 ${movedCe} prefixlen 128 alias | ifconfig gif0 tunnel ${movedCe} 2a02:586::406`,
      'route -n delete -inet default 0.0.0.1 -ifp gif0 -priority 7',
      `ifconfig gif0 inet ${formatIpv4(moved.ipv4)} 0.0.0.1 netmask 255.255.255.255`,
      'route -n add -inet default 0.0.0.1 -ifp gif0 -priority 7 -label maped | pfctl -o none -a maped -f -',
      `pfctl -ss -vv | ifconfig em0 inet6 ${CE} delete`,
    ]);

    // A new BR only: the tunnel and the anchor at once, then the states of the old tunnel.
    const newBr = desiredFor(COSMOTE, 'kernel', { br: v6('2a02:586::407') });
    expect(await groups(newBr)).toEqual([`ifconfig gif0 tunnel ${CE} 2a02:586::407 | pfctl -o none -a maped -f -`, 'pfctl -ss -vv']);
    const applied = await run(newBr);
    expect(applied.ok, applied.error ?? '').toBe(true);
    expect(fake.state().interfaces.gif0!.tunnel).toEqual({ source: CE, destination: '2a02:586::407' });

    // A new prefix that keeps the IPv4 address (only the PSID moves): three commands at once.
    const psidOnly = { ...newBr, psid: newBr.psid ^ 1, ceIPv6: moved.ceIPv6 };
    const psidOnlyGroups = await groups(psidOnly);
    expect(psidOnlyGroups[0]).toBe(`ifconfig em0 inet6 ${movedCe} prefixlen 128 alias | ifconfig gif0 tunnel ${movedCe} 2a02:586::407 | pfctl -o none -a maped -f -`);
  });

  it("uses the caller's reading of the live state for the first plan instead of reading again", async () => {
    const { fake, stateDir } = await rig();
    const desired = desiredFor(COSMOTE, 'kernel');
    const names = { wan: desired.wan, tunnel: desired.tunnel, anchor: desired.anchor };
    const live = await readLiveState(fake.tools, names, { timeoutMs: 10_000 });
    if (!live.ok) throw new Error(live.error);
    fake.clearLog();
    const report = await reconcile({ desired, tools: fake.tools, stateDir, dryRun: false, live: live.value, timeoutMs: 10_000 });
    expect(report.ok).toBe(true);
    // Only the verify pass reads; the mutations are those of any first apply.
    expect(report.reads).toBe(3);
    expect(fake.log().length).toBe(report.commands.length + report.reads);
    expect(lines(report)[0]).toBe(`ifconfig em0 inet6 ${CE} prefixlen 128 alias`);
    expect(fake.state().anchors.maped).toBeDefined();
  });

  it("ignores the caller's reading when a rename must first remove the old names", async () => {
    const { fake, stateDir, run } = await rig();
    await run(desiredFor(COSMOTE, 'kernel'));
    const renamed: DesiredState = { ...desiredFor(COSMOTE, 'kernel'), tunnel: 'gif1' };
    // A reading taken as if nothing were there: trusting it would skip the removal of gif0.
    const stale = { gif: null, wan: null, defaultRoutes: [], anchor: { rules: [], foreign: [] } };
    const report = await reconcile({ desired: renamed, tools: fake.tools, stateDir, dryRun: false, live: stale, timeoutMs: 10_000 });
    expect(report.ok).toBe(true);
    expect(fake.state().interfaces.gif0).toBeUndefined();
    expect(fake.state().interfaces.gif1!.tunnel).toMatchObject({ source: CE });
  });

  it('reads an anchor pf.conf does not call and nothing loaded as empty, and a refused listing as an error, though pfctl exits 0 for both', async () => {
    const { fake, run } = await rig();
    fake.editState((s) => {
      s.mainRules = ['block return all', 'pass all flags S/SA'];
    });
    const names = { wan: 'em0', tunnel: 'gif0', anchor: 'maped' };
    expect(await readLiveState(fake.tools, names, { timeoutMs: 10_000 })).toMatchObject({ ok: true, value: { anchor: { rules: [], foreign: [] } } });
    expect((await run(desiredFor(COSMOTE, 'kernel'))).ok).toBe(true);
    fake.editState((s) => {
      s.pfctlPortset = false;
    });
    expect(await readLiveState(fake.tools, names, { timeoutMs: 10_000 })).toEqual({ ok: false, error: 'pfctl -a maped -sr: Permission denied' });
  });

  it('a restart converges without flapping, even when the ownership record was deleted; what it held is adopted, with a warning', async () => {
    const { fake, stateDir } = await rig();
    const warned: string[] = [];
    const run = (d: DesiredState | null) => reconcile({ desired: d, tools: fake.tools, stateDir, dryRun: false, timeoutMs: 10_000, warn: (l) => warned.push(l) });
    const desired = desiredFor(COSMOTE, 'kernel');
    await run(desired);
    // A first start with nothing configured adopts nothing and says nothing.
    expect(warned).toEqual([]);
    await rm(join(stateDir, OWNERSHIP_FILE));
    fake.clearLog();
    const report = await run(desired);
    expect(report.commands).toEqual([]);
    expect(fake.mutations()).toEqual([]);
    expect(warned).toEqual([`no ownership record; adopted from the live state: ${CE}, gif0`]);
    // The labelled route and the exact anchor are recognised as maped's; the CE address and the tunnel to the BR are adopted.
    const record = await readOwnership(stateDir);
    expect(record.ownership).toMatchObject({ route: true, anchorLoaded: true, gifCreated: true, aliases: [v6(CE)] });
    // So teardown removes them all.
    expect((await run(null)).ok).toBe(true);
    expect(fake.state().interfaces.gif0).toBeUndefined();
    expect(fake.state().interfaces.em0!.inet6.filter((a) => a.prefixlen === 128)).toEqual([]);
  });

  it('a record cut short: the old CE address and the tunnel are adopted, then a new prefix removes the old alias and teardown the tunnel', async () => {
    const { fake, stateDir } = await rig();
    const desired = desiredFor(COSMOTE, 'kernel');
    const warned: string[] = [];
    const run = (d: DesiredState | null, ours?: (address: bigint) => boolean) =>
      reconcile({ desired: d, tools: fake.tools, stateDir, dryRun: false, timeoutMs: 10_000, warn: (l) => warned.push(l), ...(ours ? { ours } : {}) });
    expect((await run(desired)).ok).toBe(true);
    const path = join(stateDir, OWNERSHIP_FILE);
    await writeFile(path, (await readFile(path, 'utf8')).slice(0, 40));
    const moved = desiredFor(withPrefix(COSMOTE, '2a02:586:6234:c100::/56'), 'kernel');
    // The caller knows the rule: the old CE address is one of its CE addresses.
    const report = await run(moved, (address) => address === v6(CE));
    expect(report.ok, report.error ?? '').toBe(true);
    expect(warned).toEqual([expect.stringMatching(/^ownership record lost: .*ownership\.json: not JSON; adopting what the live state shows to be maped's$/)]);
    expect(lines(report)).toContain(`ifconfig em0 inet6 ${CE} delete`);
    const record = await readOwnership(stateDir);
    expect(record.problem).toBeNull();
    expect(record.ownership).toMatchObject({ gifCreated: true, route: true, anchorLoaded: true });
    expect(record.ownership.aliases).toEqual([moved.ceIPv6]);
    expect((await run(null)).ok).toBe(true);
    expect(fake.state().interfaces.gif0).toBeUndefined();
    expect(fake.state().interfaces.em0!.inet6.filter((a) => a.prefixlen === 128)).toEqual([]);
  });

  it('writes the claims of steps that run side by side in one write, and nothing the file already says: three writes for a first apply, two for a prefix change', async () => {
    const { stateDir, run } = await rig();
    const written: Ownership[] = [];
    useOwnershipFiles({
      read: (dir) => localOwnershipFiles.read(dir),
      write: (dir, text) => (written.push(JSON.parse(text) as Ownership), localOwnershipFiles.write(dir, text)),
    });
    onTestFinished(() => useOwnershipFiles(localOwnershipFiles));
    expect((await run(desiredFor(COSMOTE, 'kernel'))).ok).toBe(true);
    // Alias and gif0 claimed together, then route and anchor together, then what was applied.
    expect(written.map((o) => [o.aliases.length, o.gifCreated, o.route, o.anchorLoaded, o.applied !== null])).toEqual([
      [1, true, false, false, false],
      [1, true, true, true, false],
      [1, true, true, true, true],
    ]);
    written.length = 0;
    expect((await run(desiredFor(withPrefix(COSMOTE, '2a02:586:6234:c100::/56'), 'kernel'))).ok).toBe(true);
    // The new alias claimed before the group that adds it; the route, removed
    // before the IPv4 address moved and added back beside the anchor, is
    // claimed again, which the file already says; then the settled record
    // without the old alias.
    expect(written.map((o) => [o.aliases.length, o.route])).toEqual([
      [2, true],
      [1, true],
    ]);
  });

  it('with a memory of the record, reads it from disk once and writes it as before', async () => {
    const { fake, stateDir } = await rig();
    const counted = { reads: 0, writes: 0 };
    useOwnershipFiles({
      read: (dir) => (counted.reads++, localOwnershipFiles.read(dir)),
      write: (dir, text) => (counted.writes++, localOwnershipFiles.write(dir, text)),
    });
    onTestFinished(() => useOwnershipFiles(localOwnershipFiles));
    const remembered = new Map<string, Ownership>();
    const run = (desired: DesiredState | null) => reconcile({ desired, tools: fake.tools, stateDir, dryRun: false, timeoutMs: 10_000, remembered });
    const desired = desiredFor(COSMOTE, 'kernel');
    const moved = desiredFor(withPrefix(COSMOTE, '2a02:586:6234:c100::/56'), 'kernel');
    for (const target of [desired, desired, moved, desired, null]) expect((await run(target)).ok).toBe(true);
    expect(counted.reads).toBe(1);
    expect(counted.writes).toBeGreaterThanOrEqual(4);
    // What it remembers is what the file holds.
    expect(serializeOwnership(remembered.get(stateDir)!)).toBe(await readFile(join(stateDir, OWNERSHIP_FILE), 'utf8'));
    // Without the memory each reconcile reads the file, as a new process does.
    await reconcile({ desired, tools: fake.tools, stateDir, dryRun: false, timeoutMs: 10_000 });
    await reconcile({ desired, tools: fake.tools, stateDir, dryRun: false, timeoutMs: 10_000 });
    expect(counted.reads).toBe(3);
  });

  it('says when the commands have run, before it verifies them: once an apply ran some, never for a no-op or a failure', async () => {
    const { fake, stateDir } = await rig();
    const heard: string[][][] = [];
    const run = (desired: DesiredState | null) =>
      reconcile({ desired, tools: fake.tools, stateDir, dryRun: false, timeoutMs: 10_000, applied: () => heard.push(fake.log()) });
    const desired = desiredFor(COSMOTE, 'kernel');
    const first = await run(desired);
    expect(first.ok).toBe(true);
    expect(heard).toHaveLength(1);
    // Every command of the apply had run; the verification's reads came after.
    const atHook = heard[0]!;
    expectInApplyOrder(atHook.filter(isMutation).map((c) => c.join(' ')), lines(first));
    const reads = [argv.showInterfaces(), argv.showRoutes(), argv.showAnchor('maped')].map((c) => [c.tool, ...c.args].join(' '));
    expect(fake.log().slice(atHook.length).map((c) => c.join(' ')).sort()).toEqual(reads.sort());

    expect((await run(desired)).commands).toEqual([]);
    expect(heard).toHaveLength(1);
    fake.failNext('ifconfig', 'tunnel');
    expect((await run(desiredFor(withPrefix(COSMOTE, '2a02:586:6234:c100::/56'), 'kernel'))).ok).toBe(false);
    expect(heard).toHaveLength(1);
  });

  it('write-ahead: what a step creates is on record before the step runs, what it removes only after', async () => {
    const { fake, stateDir, run } = await rig();
    await run(desiredFor(COSMOTE, 'kernel'));
    const moved = desiredFor(withPrefix(COSMOTE, '2a02:586:6234:c100::/56'), 'kernel');
    const newCe = '2a02:586:6234:c100:0:57ca:3ad3:1';
    // The step after the new alias fails: the alias was recorded before it was added.
    fake.failNext('ifconfig', 'tunnel', Infinity);
    const seen: string[][] = [];
    const report = await reconcile({
      desired: moved,
      tools: fake.tools,
      stateDir,
      dryRun: false,
      timeoutMs: 10_000,
      log: (line) => {
        // Each command as it starts: what the record holds at that moment.
        if (line.startsWith('run: ')) {
          const record = readFileSync(join(stateDir, OWNERSHIP_FILE), 'utf8');
          seen.push([line.slice(5), ...(JSON.parse(record) as { aliases: string[] }).aliases]);
        }
      },
    });
    expect(report.ok).toBe(false);
    expect(seen[0]).toEqual([`ifconfig em0 inet6 ${newCe} prefixlen 128 alias`, CE, newCe]);
    // Rolled back: the new alias is removed, and only then dropped from the record.
    expect(seen).toContainEqual([`ifconfig em0 inet6 ${newCe} delete`, CE, newCe]);
    expect((await readOwnership(stateDir)).ownership.aliases).toEqual([v6(CE)]);
  });

  it('a new prefix moves the alias and tunnel source, re-adds the route, reloads the anchor and kills stale states', async () => {
    const { fake, run } = await rig();
    await run(desiredFor(COSMOTE, 'kernel'));
    // Two NAT states (the router, a LAN host) and the tunnel's: all made for the old address and CE.
    const stale = kills(fake);
    expect(stale).toHaveLength(3);
    const moved = desiredFor(withPrefix(COSMOTE, '2a02:586:6234:c100::/56'), 'kernel');
    const report = await run(moved);
    expect(report.ok).toBe(true);
    const newCe = '2a02:586:6234:c100:0:57ca:3ad3:1';
    expect(lines(report)).toEqual([
      `ifconfig em0 inet6 ${newCe} prefixlen 128 alias`,
      `ifconfig gif0 tunnel ${newCe} 2a02:586::406`,
      'route -n delete -inet default 0.0.0.1 -ifp gif0 -priority 7',
      'ifconfig gif0 inet 87.202.58.211 0.0.0.1 netmask 255.255.255.255',
      'route -n add -inet default 0.0.0.1 -ifp gif0 -priority 7 -label maped',
      'pfctl -o none -a maped -f -',
      ...stale,
      `ifconfig em0 inet6 ${CE} delete`,
    ]);
    const s = fake.state();
    expect(s.interfaces.em0!.inet6.map((a) => a.address)).not.toContain(CE);
    expect(s.routes).toEqual([expect.objectContaining({ interface: 'gif0', ifa: '87.202.58.211', label: 'maped' })]);
    // Only the states of the new address and tunnel are left.
    expect(s.states.map((st) => st.wire[0][0])).toEqual(['87.202.58.211', '87.202.58.211', newCe]);
  });

  it('killing stale states is best effort: kills that fail, or a listing that fails, are a warning, and the new prefix stays applied', async () => {
    const { fake, run } = await rig();
    await run(desiredFor(COSMOTE, 'kernel'));
    const stale = kills(fake);
    const moved = desiredFor(withPrefix(COSMOTE, '2a02:586:6234:c100::/56'), 'kernel');
    // Every kill fails. Rolling back would put the tunnel on a prefix no longer delegated.
    fake.failNext('pfctl', '-k id', Infinity);
    const report = await run(moved);
    expect(report.ok, report.error ?? '').toBe(true);
    expect(report.rolledBack).toBe(false);
    expect(report.warnings).toEqual([
      expect.stringMatching(/^stale pf states of the old address, port set or tunnel not killed \(they time out by themselves\): pfctl -k id -k [0-9a-f]+: /),
    ]);
    // The old alias went beside the kills, not after them; the first wave of kills ran, and no more.
    const ran = lines(report);
    expect(ran).toContain(`ifconfig em0 inet6 ${CE} delete`);
    expect(ran.filter((l) => l.startsWith('pfctl -k'))).toEqual(stale.slice(0, 8));
    expect(fake.state().interfaces.em0!.inet6.map((a) => a.address)).not.toContain(CE);

    // The listing itself fails (a state table past the output limit, a timeout): the same.
    const back = await run(desiredFor(COSMOTE, 'kernel'));
    expect(back.ok, back.error ?? '').toBe(true);
    fake.failNext('pfctl', '-ss -vv', Infinity);
    // A dry run plans as the apply runs: the listing's failure is the same warning.
    const dry = await run(moved, true);
    expect(dry.ok, dry.error ?? '').toBe(true);
    expect(dry.warnings).toEqual([expect.stringMatching(/^stale pf states of the old address, port set or tunnel not killed \(they time out by themselves\): pfctl -ss -vv: /)]);
    const again = await run(moved);
    expect(again.ok, again.error ?? '').toBe(true);
    expect(again.warnings).toEqual([expect.stringMatching(/^stale pf states of the old address, port set or tunnel not killed \(they time out by themselves\): pfctl -ss -vv: /)]);
    expect(lines(again).filter((l) => l.startsWith('pfctl -k'))).toEqual([]);
  });

  it('a tunneldf set behind its back (hostname.gif0, by hand) is cleared at the next convergence, and only that', async () => {
    const { fake, run } = await rig();
    const desired = desiredFor(COSMOTE, 'kernel');
    await run(desired);
    expect(fake.state().interfaces.gif0!.df).toBe(false);
    fake.editState((s) => {
      s.interfaces.gif0!.df = true;
    });
    const report = await run(desired);
    expect(lines(report)).toEqual(['ifconfig gif0 -tunneldf']);
    expect(fake.state().interfaces.gif0!.df).toBe(false);
    expect((await run(desired)).commands).toEqual([]);
  });

  it('many stale states: every one is killed, several pfctl runs at a time', async () => {
    const { fake, run } = await rig();
    await run(desiredFor(COSMOTE, 'kernel'));
    const stale = withRouterConnections(fake, 30);
    const report = await run(desiredFor(withPrefix(COSMOTE, '2a02:586:6234:c100::/56'), 'kernel'));
    expect(report.ok, report.error ?? '').toBe(true);
    expect(lines(report).filter((l) => l.startsWith('pfctl -k')).sort()).toEqual([...stale].sort());
    // No kill was lost to another running beside it: only the new address's states are left.
    expect(fake.state().states.map((st) => st.id).filter((id) => stale.includes(`pfctl -k id -k ${id}`))).toEqual([]);
  });

  it('kills at most maxStaleKills stale states in one apply, and says how many were left to time out', async () => {
    const { fake, stateDir } = await rig();
    const run = (desired: DesiredState) => reconcile({ desired, tools: fake.tools, stateDir, dryRun: false, timeoutMs: 10_000, maxStaleKills: 10 });
    await run(desiredFor(COSMOTE, 'kernel'));
    const stale = withRouterConnections(fake, 30);
    const report = await run(desiredFor(withPrefix(COSMOTE, '2a02:586:6234:c100::/56'), 'kernel'));
    expect(report.ok, report.error ?? '').toBe(true);
    expect(lines(report).filter((l) => l.startsWith('pfctl -k'))).toEqual(stale.slice(0, 10));
    expect(report.warnings).toEqual([
      'stale pf states of the old address, port set or tunnel not killed (they time out by themselves): 23 of 33: at most 10 are killed in one apply',
    ]);
  });

  it('a new BR changes the tunnel and the tunnel pass rules, and keeps the NAT states', async () => {
    const { fake, run } = await rig();
    const desired = desiredFor(COSMOTE, 'kernel');
    await run(desired);
    const tunnelState = kills(fake, (s) => s.proto === 'ipencap');
    expect(tunnelState).toHaveLength(1);
    const report = await run({ ...desired, br: v6('2a02:586::407') });
    expect(lines(report)).toEqual([`ifconfig gif0 tunnel ${CE} 2a02:586::407`, 'pfctl -o none -a maped -f -', ...tunnelState]);
    expect(fake.state().states.filter((s) => s.proto === 'tcp')).toHaveLength(2);
  });

  it('a new PSID reloads the anchor and kills the states, nothing else', async () => {
    const { fake, run } = await rig({ kernelPortset: false });
    const desired = desiredFor(COSMOTE, 'stock');
    await run(desired);
    // One imagined NAT state per range (ports of PSID 63), and the tunnel's, which stays.
    const natStates = kills(fake, (s) => s.proto === 'tcp');
    expect(natStates).toHaveLength(63);
    const report = await run(withPsid(desired, 62));
    expect(lines(report)).toEqual(['pfctl -o none -a maped -f -', ...natStates]);
    expect(fake.state().anchors.maped).toContain('match out on gif0 inet all label "maped" tagged maped-1 nat-to (gif0) port 2016:2031 round-robin');
    expect(fake.state().states.filter((s) => s.proto === 'ipencap')).toHaveLength(1);
  });

  it('a forward added or taken away reloads the anchor only and kills no state; the record keeps it', async () => {
    const { fake, stateDir, run } = await rig({ kernelPortset: false });
    const plain = desiredFor(COSMOTE, 'stock');
    await run(plain);
    const [first] = deriveSet(COSMOTE).portSets.filter(([lo]) => lo > 0)[0]!;
    const ssh = { proto: 'tcp', ports: [first + 1, first + 1], to: 0xc0a8010a, toPort: 22 } as const;
    const forwarded = desiredFor(COSMOTE, 'stock', { forwards: [ssh] });
    const added = await run(forwarded);
    // No `pfctl -k`: the port set and address are the same, so no state is stale.
    expect(lines(added)).toEqual(['pfctl -o none -a maped -f -']);
    expect(fake.state().anchors.maped).toContain(
      `pass in quick on gif0 inet proto tcp from any to (gif0) port = ${first + 1} flags S/SA label "maped" rdr-to 192.168.1.10 port 22`,
    );
    expect((await readOwnership(stateDir)).ownership.applied?.forwards).toEqual([ssh]);
    // What pfctl prints back is what was written: the same state again runs nothing.
    expect((await run(forwarded)).commands).toEqual([]);
    const removed = await run(plain);
    expect(lines(removed)).toEqual(['pfctl -o none -a maped -f -']);
    expect(fake.state().anchors.maped!.some((rule) => rule.includes('rdr-to'))).toBe(false);
  });

  it('stock mode loads into a pfctl without the patch, kernel mode does not', async () => {
    const { run } = await rig({ kernelPortset: false });
    const kernel = await run(desiredFor(COSMOTE, 'kernel'));
    expect(kernel.ok).toBe(false);
    expect(kernel.error).toBe('step 9 (pfctl -o none -a maped -f -): stdin:4: syntax error');
    expect(kernel.rolledBack).toBe(true);
    expect((await run(desiredFor(COSMOTE, 'stock'))).ok).toBe(true);
  });
});

describe('teardown', () => {
  it('removes everything in reverse order and leaves the system as it was', async () => {
    const { fake, stateDir, run } = await rig();
    const before = system(fake.state());
    await run(desiredFor(COSMOTE, 'kernel'));
    const stale = kills(fake);
    const report = await run(null);
    expect(report.ok).toBe(true);
    expect(lines(report)).toEqual([
      'pfctl -a maped -F all',
      ...stale,
      'route -n delete -inet default 0.0.0.1 -ifp gif0 -priority 7',
      'ifconfig gif0 destroy',
      `ifconfig em0 inet6 ${CE} delete`,
    ]);
    expect(system(fake.state())).toEqual(before);
    expect(fake.state().states).toEqual([]);
    expect((await readOwnership(stateDir)).ownership.applied).toBeNull();
    expect((await run(null)).commands).toEqual([]);
  });
});

describe('ownership', () => {
  /** A default of someone else's: dhcpleased(8)'s (static, multipath, labelled) or a PPPoE one through the same 0.0.0.1. */
  const foreignDefault = (fake: FakeOpenBSD, route: Partial<FakeRoute> & { interface: string }): void =>
    fake.editState((s) => {
      const address = route.interface === 'pppoe0' ? '198.51.100.7' : '192.168.0.2';
      s.interfaces[route.interface] ??= {
        flags: ['UP', 'POINTOPOINT', 'RUNNING'], mtu: 1492, index: 7, groups: [], tunnel: null,
        inet: [{ address, peer: route.gateway ?? '0.0.0.1', netmask: '0xffffffff' }], inet6: [],
      };
      s.routes.push({ gateway: '0.0.0.1', ifa: address, label: null, priority: 8, mpath: false, ...route });
    });

  it('adds its default beside the others, ahead of them, and removes only its own', async () => {
    const { fake, run } = await rig();
    foreignDefault(fake, { interface: 'em0', gateway: '192.168.0.1', label: 'dhcpleased', mpath: true });
    foreignDefault(fake, { interface: 'pppoe0' });
    const before = system(fake.state());
    const applied = await run(desiredFor(COSMOTE, 'kernel'));
    expect(applied.ok).toBe(true);
    expect(lines(applied)).toContain('route -n add -inet default 0.0.0.1 -ifp gif0 -priority 7 -label maped');
    // The kernel's order: maped's at 7 comes first, so it is the one used (route get).
    expect(fake.state().routes.map((r) => [r.interface, r.priority])).toEqual([['gif0', 7], ['em0', 8], ['pppoe0', 8]]);
    const down = await run(null);
    // The PPPoE default has the same gateway: the delete names the tunnel and the priority.
    expect(lines(down)).toContain('route -n delete -inet default 0.0.0.1 -ifp gif0 -priority 7');
    expect(system(fake.state())).toEqual(before);
  });

  it('refuses, changing nothing, when another default has its priority', async () => {
    const { fake, run } = await rig();
    foreignDefault(fake, { interface: 'pppoe0', priority: 7 });
    const report = await run(desiredFor(COSMOTE, 'kernel'));
    expect(report.ok).toBe(false);
    expect(report.error).toBe('a default route via 0.0.0.1 on pppoe0 already has priority 7; give maped another route-priority in maped.conf (tunnel gif0 route-priority N)');
    expect(fake.mutations()).toEqual([]);
    // At another priority it goes in behind the PPPoE default, which stays in use.
    const behind = await run({ ...desiredFor(COSMOTE, 'kernel'), routePriority: 9 });
    expect(behind.ok).toBe(true);
    expect(fake.state().routes.map((r) => [r.interface, r.priority])).toEqual([['pppoe0', 7], ['gif0', 9]]);
  });

  it('moves its route when the priority or the peer changes, and takes over a route of an older maped at priority 8', async () => {
    const { fake, stateDir, run } = await rig();
    const desired = desiredFor(COSMOTE, 'kernel');
    await run(desired);
    const moved = await run({ ...desired, routePriority: 20 });
    expect(lines(moved)).toEqual([
      'route -n delete -inet default 0.0.0.1 -ifp gif0 -priority 7',
      'route -n add -inet default 0.0.0.1 -ifp gif0 -priority 20 -label maped',
    ]);
    const peer = await run({ ...desired, routePriority: 20, ipv4Peer: v4('10.255.255.1') });
    expect(lines(peer)).toEqual([
      'route -n delete -inet default 0.0.0.1 -ifp gif0 -priority 20',
      'ifconfig gif0 inet 87.202.58.210 10.255.255.1 netmask 255.255.255.255',
      'route -n add -inet default 10.255.255.1 -ifp gif0 -priority 20 -label maped',
    ]);
    expect(fake.state().routes).toEqual([expect.objectContaining({ gateway: '10.255.255.1', interface: 'gif0', priority: 20 })]);

    // A record written before route-priority: its route was added without -priority (8).
    await run(null);
    await run(desired);
    fake.editState((s) => {
      s.routes[0]!.priority = 8;
    });
    const file = join(stateDir, 'ownership.json');
    const record = JSON.parse(await readFile(file, 'utf8')) as { applied: Record<string, unknown> };
    delete record.applied.routePriority;
    await writeFile(file, JSON.stringify(record));
    const upgraded = await run(desired);
    expect(lines(upgraded)).toEqual([
      'route -n delete -inet default 0.0.0.1 -ifp gif0 -priority 8',
      'route -n add -inet default 0.0.0.1 -ifp gif0 -priority 7 -label maped',
    ]);
  });

  it('finds its route by its label beside dhcpleased\'s and a PPPoE default, even without its record', async () => {
    const { fake, stateDir, run } = await rig();
    foreignDefault(fake, { interface: 'em0', gateway: '192.168.0.1', label: 'dhcpleased', mpath: true });
    foreignDefault(fake, { interface: 'pppoe0' });
    const desired = desiredFor(COSMOTE, 'kernel');
    expect((await run(desired)).ok).toBe(true);
    // The read maped makes shows every default's label (show.c's -v column).
    const shown = fake.log().filter((c) => c[0] === 'route' && c.includes('show'));
    expect(shown[0]).toEqual(['route', '-nv', 'show', '-inet']);
    await rm(join(stateDir, OWNERSHIP_FILE));
    fake.clearLog();
    const again = await run(desired);
    expect(again.commands).toEqual([]);
    expect(fake.mutations()).toEqual([]);
    expect((await readOwnership(stateDir)).ownership).toMatchObject({ route: true });
  });

  it("removes a default with its label on its tunnel at another priority or gateway, record or not, and adds the one it wants", async () => {
    const { fake, stateDir, run } = await rig();
    foreignDefault(fake, { interface: 'pppoe0' });
    const desired = desiredFor(COSMOTE, 'kernel');
    await run(desired);
    await rm(join(stateDir, OWNERSHIP_FILE));
    // Left by an earlier configuration whose record is gone: maped's label, maped's tunnel, priority 12.
    fake.editState((s) => {
      s.routes[0]!.priority = 12;
      s.routes.sort((a, b) => a.priority - b.priority);
    });
    const report = await run(desired);
    expect(lines(report)).toEqual([
      'route -n delete -inet default 0.0.0.1 -ifp gif0 -priority 12',
      'route -n add -inet default 0.0.0.1 -ifp gif0 -priority 7 -label maped',
    ]);
    expect(fake.state().routes.map((r) => [r.interface, r.priority, r.label])).toEqual([['gif0', 7, 'maped'], ['pppoe0', 8, null]]);
    // A second copy through another peer beside the wanted one: removed, the wanted one stays.
    fake.editState((s) => {
      s.routes.push({ gateway: '10.255.255.1', interface: 'gif0', ifa: '87.202.58.210', label: 'maped', priority: 30, mpath: false });
    });
    const copy = await run(desired);
    expect(lines(copy)).toEqual(['route -n delete -inet default 10.255.255.1 -ifp gif0 -priority 30']);
    expect(fake.state().routes.map((r) => [r.interface, r.gateway, r.priority])).toEqual([['gif0', '0.0.0.1', 7], ['pppoe0', '0.0.0.1', 8]]);
    expect((await readOwnership(stateDir)).ownership).toMatchObject({ route: true });
  });

  it("leaves a default with its label on another interface alone, and refuses when it holds maped's priority", async () => {
    const { fake, run } = await rig();
    // The same gateway 0.0.0.1 and label on pppoe0: someone else's, not maped's.
    foreignDefault(fake, { interface: 'pppoe0', label: 'maped', priority: 9 });
    const before = system(fake.state());
    const applied = await run(desiredFor(COSMOTE, 'kernel'));
    expect(applied.ok).toBe(true);
    expect(lines(applied).filter((l) => l.startsWith('route'))).toEqual(['route -n add -inet default 0.0.0.1 -ifp gif0 -priority 7 -label maped']);
    const down = await run(null);
    expect(lines(down).filter((l) => l.startsWith('route'))).toEqual(['route -n delete -inet default 0.0.0.1 -ifp gif0 -priority 7']);
    expect(system(fake.state())).toEqual(before);

    const { fake: other, run: runOther } = await rig();
    foreignDefault(other, { interface: 'pppoe0', label: 'maped', priority: 7 });
    const refused = await runOther(desiredFor(COSMOTE, 'kernel'));
    expect(refused.error).toBe('a default route via 0.0.0.1 on pppoe0 already has priority 7; give maped another route-priority in maped.conf (tunnel gif0 route-priority N)');
    expect(other.mutations()).toEqual([]);
  });

  it('a label with blanks and quotes on a foreign default is read and kept apart from its own', async () => {
    const { fake, run } = await rig();
    foreignDefault(fake, { interface: 'em0', gateway: '192.168.0.1', label: 'maped" 0 0 - 7 gif0 "x', priority: 9 });
    const applied = await run(desiredFor(COSMOTE, 'kernel'));
    expect(applied.ok, applied.error ?? '').toBe(true);
    const live = await readLiveState(fake.tools, { wan: 'em0', tunnel: 'gif0', anchor: 'maped' }, { timeoutMs: 10_000 });
    expect(live.ok && live.value.defaultRoutes.map((r) => [r.interface, r.priority, r.label])).toEqual([
      ['gif0', 7, 'maped'],
      ['em0', 9, 'maped" 0 0 - 7 gif0 "x'],
    ]);
  });

  it('keeps a gif the admin created: configures it, and on teardown only clears what it set', async () => {
    const { fake, run } = await rig();
    fake.editState((s) => {
      s.interfaces.gif0 = { flags: ['POINTOPOINT', 'MULTICAST'], mtu: 1280, index: 9, groups: ['gif'], gif: true, tunnel: null, inet: [], inet6: [] };
    });
    const applied = await run(desiredFor(COSMOTE, 'kernel'));
    expect(lines(applied)).not.toContain('ifconfig gif0 create');
    const stale = kills(fake);
    const down = await run(null);
    expect(lines(down)).toEqual([
      'pfctl -a maped -F all',
      ...stale,
      'route -n delete -inet default 0.0.0.1 -ifp gif0 -priority 7',
      'ifconfig gif0 -tunnel',
      'ifconfig gif0 inet 87.202.58.210 delete',
      `ifconfig em0 inet6 ${CE} delete`,
    ]);
    expect(fake.state().interfaces.gif0).toBeDefined();
  });

  it('tears nothing down that it has no record of', async () => {
    const { fake, run } = await rig();
    fake.editState((s) => {
      s.interfaces.gif0 = { flags: ['UP', 'POINTOPOINT', 'RUNNING', 'MULTICAST'], mtu: 1460, index: 9, groups: ['gif'], gif: true, tunnel: null, inet: [{ address: '10.0.0.1', peer: '0.0.0.1', netmask: '0xffffffff' }], inet6: [] };
      s.routes = [{ gateway: '0.0.0.1', interface: 'gif0', ifa: '10.0.0.1', label: 'other', priority: 8, mpath: false }];
      s.anchors.maped = ['pass out all flags S/SA'];
    });
    const before = system(fake.state());
    const report = await run(null);
    expect(report).toMatchObject({ ok: true, commands: [] });
    expect(system(fake.state())).toEqual(before);
  });
});

describe('dry run', () => {
  it('plans the first apply and runs nothing', async () => {
    const { fake, stateDir, run } = await rig();
    const report = await run(desiredFor(COSMOTE, 'stock'), true);
    expect(report.ok).toBe(true);
    expect(report.commands).toHaveLength(9);
    expect(report.anchorText).toContain('nat-to (gif0) port 2032:2047');
    expect(fake.mutations()).toEqual([]);
    expect((await readOwnership(stateDir)).ownership.applied).toBeNull();
  });

  it('plans against an empty system when the tools do not exist here', async () => {
    const stateDir = await mkdtemp(join(tmpdir(), 'maped-state-'));
    cleanups.push(() => rm(stateDir, { recursive: true, force: true }));
    const tools = { ifconfig: '/nonexistent/sbin/ifconfig', route: '/nonexistent/sbin/route', pfctl: '/nonexistent/sbin/pfctl' };
    const report = await reconcile({ desired: desiredFor(COSMOTE, 'kernel'), tools, stateDir, dryRun: true, timeoutMs: 1000 });
    expect(report.ok).toBe(true);
    expect(report.commands.map((c) => c.argv[0])).toContain('/nonexistent/sbin/route');
    expect(report.commands).toHaveLength(9);
  });

  it('refuses relative tool paths', async () => {
    const report = await reconcile({
      desired: null,
      tools: { ifconfig: 'ifconfig', route: '/sbin/route', pfctl: '/sbin/pfctl' },
      stateDir: tmpdir(),
      dryRun: true,
      timeoutMs: 1000,
    });
    expect(report.error).toBe('tool ifconfig "ifconfig" is not an absolute path');
  });
});

const escape = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

// Each case runs a few dozen tool processes; on a loaded machine that takes its time.
describe.concurrent('a failure at every step is rolled back', { timeout: 180_000 }, () => {
  const FIRST_APPLY_STEPS = 9;
  it.for(Array.from({ length: FIRST_APPLY_STEPS }, (_, k) => k + 1))('first apply, step %i: back to nothing', async (step, { onTestFinished }) => {
    const { fake, stateDir, run } = await rig({}, onTestFinished);
    const before = system(fake.state());
    const desired = desiredFor(COSMOTE, 'kernel');
    const planned = await run(desired, true);
    const [tool, ...args] = asCalls(planned)[step - 1]!;
    fake.failNext(tool as 'ifconfig', new RegExp(`^${escape(args.join(' '))}$`));
    const report = await run(desired);
    expect(report.ok).toBe(false);
    expect(report.rolledBack).toBe(true);
    expect(report.error).toMatch(new RegExp(`^step ${step} \\(${escape([tool, ...args].join(' '))}\\): ${tool}: .*Device busy$`));
    expect(system(fake.state())).toEqual(before);
    expect((await readOwnership(stateDir)).ownership).toMatchObject({ gifCreated: false, route: false, anchorLoaded: false, aliases: [] });
  });

  // Seven changes, then one kill per stale state (two NAT states, the tunnel's).
  const PREFIX_CHANGE_STEPS = 10;
  it.for(Array.from({ length: PREFIX_CHANGE_STEPS }, (_, k) => k + 1))('prefix change, step %i: back to the last good state', async (step, { onTestFinished }) => {
    const { fake, run } = await rig({}, onTestFinished);
    const good = desiredFor(COSMOTE, 'kernel');
    await run(good);
    const before = system(fake.state());
    const moved = desiredFor(withPrefix(COSMOTE, '2a02:586:6234:c100::/56'), 'kernel');
    const planned = await run(moved, true);
    expect(planned.commands).toHaveLength(PREFIX_CHANGE_STEPS);
    const [tool, ...args] = asCalls(planned)[step - 1]!;
    fake.failNext(tool as 'ifconfig', new RegExp(`^${escape(args.join(' '))}$`));
    const report = await run(moved);
    // Plan steps: six changes, one that kills the three states, the old alias's removal.
    if (step >= 7 && step <= 9) {
      // A kill is best effort: the new state stays, with a warning naming the kill.
      expect(report).toMatchObject({ ok: true, rolledBack: false });
      expect(report.warnings.join('\n')).toMatch(new RegExp(`not killed \\(they time out by themselves\\): ${escape([tool, ...args].join(' '))}: `));
      expect(system(fake.state())).not.toEqual(before);
      return;
    }
    expect(report).toMatchObject({ ok: false, rolledBack: true });
    const planStep = step <= 6 ? step : 8;
    expect(report.error).toMatch(new RegExp(`^step ${planStep} \\(${escape([tool, ...args].join(' '))}\\): `));
    expect(system(fake.state())).toEqual(before);
    // The last good state is still the one on record: the next renewal of it is a no-op.
    fake.clearLog();
    expect((await run(good)).commands).toEqual([]);
  });

  it('a rollback that fails too says so', async ({ onTestFinished }) => {
    const { fake, run } = await rig({}, onTestFinished);
    fake.failNext('pfctl', /-f -$/);
    fake.failNext('ifconfig', /destroy$/);
    const report = await run(desiredFor(COSMOTE, 'kernel'));
    expect(report.rolledBack).toBe(false);
    expect(report.error).toBe(
      'step 9 (pfctl -o none -a maped -f -): pfctl: DIOCXCOMMIT: Device busy; rollback failed: step 2 (ifconfig gif0 destroy): ifconfig: SIOCIFDESTROY: Device busy',
    );
  });
});

it('uses deriveSet for the changed prefix too', () => {
  expect(deriveSet(withPrefix(COSMOTE, '2a02:586:6234:c100::/56')).psid).toBe(1);
});
