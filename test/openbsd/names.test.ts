/**
 * One set of rules for names and bounds: whatever maped.conf accepts, the
 * desired state accepts, the ownership record stores and reads back, and
 * reconcile applies; whatever one refuses, all refuse.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { NOTHING_OWNED, readOwnership, reconcile, writeOwnership } from '../../src/apply/index.js';
import { parseConfig } from '../../src/config/index.js';
import { StatusSchema } from '../../src/control/protocol.js';
import { queryLeasectl } from '../../src/lease/index.js';
import {
  anchorNameProblem,
  desiredState,
  interfaceNameProblem,
  labelProblem,
  mtuProblem,
  psidProblem,
  type DesiredState,
} from '../../src/openbsd/index.js';
import { createFakeOpenBSD } from '../support/fake-openbsd/index.js';
import { desiredFor, PARAMETER_SETS } from './parameter-sets.js';

const COSMOTE = PARAMETER_SETS[0]!;

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0)) await c();
});

const ANCHORS = ['maped', 'nat/maped', 'a.b-c_d', 'x/y/z', '_maped', 'nat/_maped', '/maped', 'maped/', 'a//b', 'a b', 'ma"ped', '', 'a'.repeat(63), 'a'.repeat(64), 'mäped'];
const INTERFACES = ['em0', 'vlan100', 'pppoe0', 'EM0', 'em', '0em', 'em0;', 'abcdefghijklmn0', 'abcdefghijklmno0', 'em0\n'];

function configAccepts(line: string, wan = 'em0'): boolean {
  return parseConfig(`wan ${wan}\n${line}\n`, '/etc/maped.conf').ok;
}

function desiredAccepts(overrides: { anchor?: string; wan?: string; label?: string }): boolean {
  try {
    return desiredState({ ...inputOf(desiredFor(COSMOTE, 'kernel')), ...overrides }).ok;
  } catch {
    return false;
  }
}

function inputOf(d: DesiredState) {
  return { wan: d.wan, tunnel: d.tunnel, mtu: d.mtu, wanMtu: null, map: d, br: d.br, natFrom: d.natFrom, anchor: d.anchor, portset: 'kernel' as const };
}

async function recordRoundTrips(d: DesiredState): Promise<boolean> {
  const dir = await mkdtemp(join(tmpdir(), 'maped-names-'));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  const owned = { ...NOTHING_OWNED, anchorLoaded: true, wan: d.wan, tunnel: d.tunnel, anchor: d.anchor, label: d.label, applied: d };
  await writeOwnership(dir, owned);
  const read = await readOwnership(dir);
  return read.problem === null && read.ownership.applied?.anchor === d.anchor && read.ownership.wan === d.wan;
}

describe('names and bounds', () => {
  it.each(ANCHORS)('anchor %j: config, desired state and ownership record agree', async (anchor) => {
    const byConfig = configAccepts(`pf anchor "${anchor}"`);
    // A name the quoted string cannot carry is judged by the names module alone.
    const byModule = anchorNameProblem(anchor) === null;
    if (!anchor.includes('"')) expect(byConfig).toBe(byModule);
    expect(desiredAccepts({ anchor })).toBe(byModule);
    if (byModule) expect(await recordRoundTrips({ ...desiredFor(COSMOTE, 'kernel'), anchor })).toBe(true);
  });

  it.each(INTERFACES)('interface %j: config, desired state, record and dhcp6leasectl query agree', async (name) => {
    const byModule = interfaceNameProblem(name) === null;
    if (!/\s|;/.test(name)) expect(configAccepts('tunnel gif0', name)).toBe(byModule);
    expect(desiredAccepts({ wan: name })).toBe(byModule);
    if (byModule) expect(await recordRoundTrips({ ...desiredFor(COSMOTE, 'kernel'), wan: name })).toBe(true);
    else expect((await queryLeasectl('/nonexistent/dhcp6leasectl', name)).ok).toBe(false);
  });

  it('a label must fit a route label (RTLABEL_LEN 32) as well as a pf label', () => {
    expect(labelProblem('maped')).toBeNull();
    expect(labelProblem('a'.repeat(31))).toBeNull();
    expect(labelProblem('a'.repeat(32))).toMatch(/longer than 31/);
    expect(desiredAccepts({ label: 'a'.repeat(32) })).toBe(false);
    expect(desiredAccepts({ label: 'no space' })).toBe(false);
  });

  it('mtu and psid bounds are those of gif(4) and RFC 7597', () => {
    expect([1279, 1280, 8192, 8193, 1400.5].map((m) => mtuProblem(m) === null)).toEqual([false, true, true, false, false]);
    expect(configAccepts('tunnel gif0 mtu 8192')).toBe(true);
    expect(configAccepts('tunnel gif0 mtu 8193')).toBe(false);
    expect(psidProblem(6, 10, 1023)).toBeNull();
    expect(psidProblem(6, 10, 1024)).toMatch(/does not fit/);
    expect(psidProblem(7, 10, 0)).toMatch(/exceed 16 bits/);
    expect(psidProblem(16, 0, 0)).toBeNull();
  });

  it('the control protocol refuses a status whose names maped.conf would refuse', () => {
    const status = {
      state: 'active',
      reason: null,
      softwire: null,
      origin: null,
      lease: null,
      rule: null,
      map: null,
      tunnel: { interface: 'gif0', mtu: 1460 },
      pf: { anchor: 'nat/maped', portset: 'kernel' },
      lastApply: null,
      nextRetryAt: null,
      warnings: [],
      forwards: [],
      pid: 1,
      version: '0',
    };
    expect(StatusSchema.safeParse(status).success).toBe(true);
    expect(StatusSchema.safeParse({ ...status, pf: { anchor: '_maped', portset: null } }).success).toBe(false);
    expect(StatusSchema.safeParse({ ...status, tunnel: { interface: 'tun0', mtu: 1460 } }).success).toBe(false);
    expect(StatusSchema.safeParse({ ...status, tunnel: { interface: 'gif0', mtu: 9000 } }).success).toBe(false);
  });

  it('pf anchor "nat/maped" passes the config check and is applied, recorded and torn down', async () => {
    const config = parseConfig('wan em0\npf anchor "nat/maped"\n', '/etc/maped.conf');
    expect(config.ok).toBe(true);
    const fake = await createFakeOpenBSD({ kernelPortset: true });
    const stateDir = await mkdtemp(join(tmpdir(), 'maped-state-'));
    cleanups.push(() => fake.cleanup(), () => rm(stateDir, { recursive: true, force: true }));
    const desired = desiredFor(COSMOTE, 'kernel', { anchor: 'nat/maped' });
    const applied = await reconcile({ desired, tools: fake.tools, stateDir, dryRun: false, timeoutMs: 10_000 });
    expect(applied).toMatchObject({ ok: true, error: null });
    expect(fake.state().anchors['nat/maped']?.length).toBeGreaterThan(0);
    expect((await readOwnership(stateDir)).ownership).toMatchObject({ anchor: 'nat/maped', anchorLoaded: true });
    const removed = await reconcile({ desired: null, tools: fake.tools, stateDir, dryRun: false, timeoutMs: 10_000 });
    expect(removed).toMatchObject({ ok: true, error: null });
    expect(fake.state().anchors['nat/maped'] ?? []).toEqual([]);
  });
});
