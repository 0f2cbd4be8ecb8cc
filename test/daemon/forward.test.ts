/**
 * `forward`, end to end: maped as a real process over the fake tools, the
 * anchor it loads, status and show ports through mapedctl, the log.
 */
import { execFile } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/index.js';
import { PortsResultSchema } from '../../src/control/protocol.js';
import type { FakeOpenBSD } from '../support/fake-openbsd/index.js';
import { MAPED_ENTRY } from '../support/daemon-process.js';
import { startExampleRouter, type ExampleRouter } from '../support/example-router.js';
import { REPO_ROOT } from '../support/vectors.js';

const run = promisify(execFile);
const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

const rig = (extra: string, kernelPortset = true): Promise<ExampleRouter> => startExampleRouter(extra, cleanups, { kernelPortset, name: 'forward' });

const FORWARDS = 'forward tcp port 1233 to 192.168.1.10 port 22\nforward udp port 80 to 192.168.1.10\n';
const SSH_RULE = 'pass in quick on gif0 inet proto tcp from any to (gif0) port = 1233 flags S/SA label "maped" rdr-to 192.168.1.10 port 22';
const anchor = (fake: FakeOpenBSD): string[] => fake.state().anchors['maped'] ?? [];

// Each case starts maped and several mapedctl processes (a tsx start each): minutes on a loaded machine.
describe('forward, end to end', { timeout: 180_000 }, () => {
  it('a forward in the port set is in the anchor and active in status; one outside is inactive with its reason, said once', async () => {
    const r = await rig(FORWARDS);
    const status = await r.maped.waitFor((s) => s.state === 'active', 'active', 60_000);
    expect(status.forwards).toEqual([
      { proto: 'tcp', ports: [1233, 1233], to: '192.168.1.10', toPort: 22, active: true, reason: null },
      { proto: 'udp', ports: [80, 80], to: '192.168.1.10', toPort: null, active: false, reason: 'port 80 is not in the port set (psid 52/8 offset 6)' },
    ]);
    expect(anchor(r.fake)).toContain(SSH_RULE);
    expect(anchor(r.fake).filter((rule) => rule.includes('rdr-to'))).toHaveLength(1);
    // Said once, at warning level (maped.8 DIAGNOSTICS).
    expect(r.maped.output().match(/^warn: forward udp port 80 to 192\.168\.1\.10 inactive: port 80 is not in the port set \(psid 52\/8 offset 6\)$/gm)).toHaveLength(1);

    const text = await r.ctl('status');
    expect(text.stdout).toMatch(/^forward: +tcp port 1233 to 192\.168\.1\.10 port 22 \(active\)$/m);
    expect(text.stdout).toMatch(/^forward: +udp port 80 to 192\.168\.1\.10 \(inactive: port 80 is not in the port set \(psid 52\/8 offset 6\)\)$/m);
    const ports = await r.ctl('show', 'ports');
    expect(ports.stdout.split('\n')[0]).toBe('1232-1235  forward tcp port 1233 to 192.168.1.10 port 22');
    expect(ports.stdout.split('\n')[1]).toBe('2256-2259');
    const json = PortsResultSchema.parse(JSON.parse((await r.ctl('show', 'ports', '--json')).stdout));
    expect(json.forwards.map((f) => f.active)).toEqual([true, false]);
  });

  it('a new mapping moves a forward out of force and a later one brings it back, each said once', async () => {
    const r = await rig(FORWARDS);
    await r.maped.waitFor((s) => s.state === 'active', 'active', 60_000);
    r.lease('2001:db8:12:5600::/56');
    const moved = await r.maped.waitFor((s) => s.map?.psid === 0x56, 'psid 0x56', 60_000);
    expect(moved.forwards[0]).toMatchObject({ active: false, reason: 'port 1233 is not in the port set (psid 86/8 offset 6)' });
    expect(anchor(r.fake).some((rule) => rule.includes('rdr-to'))).toBe(false);
    r.lease('2001:db8:12:3400::/56');
    const back = await r.maped.waitFor((s) => s.map?.psid === 0x34, 'psid 0x34 again', 60_000);
    expect(back.forwards[0]).toMatchObject({ active: true, reason: null });
    expect(anchor(r.fake)).toContain(SSH_RULE);
    const log = r.maped.output();
    expect(log.match(/^warn: forward tcp port 1233 to 192\.168\.1\.10 port 22 inactive: port 1233 is not in the port set \(psid 86\/8 offset 6\)$/gm)).toHaveLength(1);
    expect(log.match(/^forward tcp port 1233 to 192\.168\.1\.10 port 22 active again$/gm)).toHaveLength(1);
    // The udp forward stayed inactive throughout: still said only once.
    expect(log.match(/forward udp port 80 to 192\.168\.1\.10 inactive/g)).toHaveLength(1);
  });

  it('in stock mode the NAT ranges leave the forwarded port out, and a reload finds the anchor as written', async () => {
    const r = await rig(FORWARDS + 'pf portset stock\n', false);
    await r.maped.waitFor((s) => s.state === 'active', 'active', 60_000);
    const rules = anchor(r.fake);
    expect(rules).toContain(SSH_RULE);
    const natPorts = rules.flatMap((rule) => {
      // pfctl prints a one-port range as `port N`.
      const m = / port ([0-9]+)(?::([0-9]+))?$/.exec(rule.replace(/ round-robin$/, ''));
      return rule.includes('nat-to') && m !== null ? [[Number(m[1]), Number(m[2] ?? m[1])]] : [];
    });
    expect(natPorts.length).toBeGreaterThan(60);
    for (const [lo, hi] of natPorts) expect(1233 < lo! || 1233 > hi!).toBe(true);
    expect(natPorts.some(([lo, hi]) => lo === 1232 && hi === 1232)).toBe(true);
    expect(natPorts.some(([lo, hi]) => lo === 1234 && hi === 1235)).toBe(true);
    // What pfctl prints back is what maped wrote: a reload, which reads the
    // live anchor and compares it rule by rule, runs no command (mapedctl
    // reload answers once that converge is done).
    const before = r.fake.mutations().length;
    const callsBefore = r.fake.log().length;
    expect((await r.ctl('reload')).code).toBe(0);
    expect(r.fake.log().slice(callsBefore).map((call) => call.join(' '))).toContain('pfctl -a maped -sr');
    expect(r.fake.mutations().length).toBe(before);
  });

  it('maped -nv prints the forwards back as maped.conf takes them; maped -n refuses a bad one naming its place', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'maped-forward-nv-'));
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    const path = join(dir, 'maped.conf');
    writeFileSync(path, 'wan em0\nforward tcp port 1233 to 192.168.1.10 port 22\nforward tcp-udp port 2256:2259 to "192.168.1.20"\n');
    const checked = await run(process.execPath, ['--import', 'tsx', MAPED_ENTRY, '-nv', '-f', path], { cwd: REPO_ROOT });
    expect(checked.stdout).toContain('forward tcp port 1233 to 192.168.1.10 port 22\nforward tcp-udp port 2256:2259 to 192.168.1.20\n');
    const again = parseConfig(checked.stdout, path);
    const first = parseConfig(readFileSync(path, 'utf8'), path);
    if (!again.ok || !first.ok) throw new Error('the printed configuration does not parse');
    expect(again.value).toEqual(first.value);

    writeFileSync(path, 'wan em0\nforward tcp port 1233 to 192.168.1.10\nforward tcp-udp port 1230:1233 to 192.168.1.11\n');
    const refused = await run(process.execPath, ['--import', 'tsx', MAPED_ENTRY, '-n', '-f', path], { cwd: REPO_ROOT }).then(
      () => null,
      (e: { code: number; stderr: string }) => e,
    );
    expect(refused?.code).toBe(1);
    expect(refused?.stderr).toContain(`${path}:3:1: forward: port 1233 is already forwarded`);
  });
});
