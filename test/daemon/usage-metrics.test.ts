/**
 * `mapedctl show usage` and the metrics, end to end: maped as a real process
 * over fake tools whose pfctl lists a state table, mapedctl as a real process.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { UsageResultSchema } from '../../src/control/protocol.js';
import type { FakePfState } from '../support/fake-openbsd/index.js';
import { parseMetrics } from '../support/prometheus.js';
import { startExampleRouter, type ExampleRouter } from '../support/example-router.js';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

const rig = (extra: string): Promise<ExampleRouter> => startExampleRouter(extra, cleanups, { name: 'usage' });

/** psid 52/8 offset 6 (the example lease): ranges A·1024 + 208 … + 211, A = 1 … 63. */
const PORT = (a: number, j: number): number => a * 1024 + 208 + j;

const conn = (local: string, stack: string | null, proto: 'tcp' | 'udp' = 'tcp', direction: 'in' | 'out' = 'out'): FakePfState => ({
  proto,
  direction,
  local,
  stack,
  peer: '93.184.216.34:443',
});

async function waitUntil<T>(what: string, probe: () => T | undefined, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const value = probe();
    if (value !== undefined) return value;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out waiting for ${what}`);
}

// Each case starts maped and several mapedctl processes (a tsx start each): minutes on a loaded machine.
describe('port usage and metrics, end to end', { timeout: 180_000 }, () => {
  it('show usage counts the ports of the set held by pf states, per range, by host, with the peak', async () => {
    const r = await rig('');
    await r.maped.waitFor((s) => s.state === 'active', 'active', 60_000);
    r.fake.editState((s) => {
      s.stateTable = [
        conn(`192.0.2.18:${PORT(1, 0)}`, '192.168.1.10:50000'),
        conn(`192.0.2.18:${PORT(1, 1)}`, '192.168.1.10:50001'),
        conn(`192.0.2.18:${PORT(1, 1)}`, '192.168.1.10:50001', 'udp'),
        conn(`192.0.2.18:${PORT(2, 3)}`, '192.168.1.11:40000', 'udp'),
        conn(`192.0.2.18:${PORT(63, 0)}`, null),
        conn('192.0.2.18:50001', '192.168.1.12:1'),
        conn(`192.0.2.19:${PORT(1, 2)}`, '192.168.1.12:2'),
      ];
    });
    const asked = await r.ctl('show', 'usage', '--json');
    expect(asked.code, asked.stderr).toBe(0);
    const usage = UsageResultSchema.parse(JSON.parse(asked.stdout));
    expect(usage).toMatchObject({ ipv4: '192.0.2.18', total: 252, inUse: 4, peak: 4 });
    expect(usage.ranges).toHaveLength(63);
    expect(usage.ranges[0]).toEqual({ first: 1232, last: 1235, inUse: 2 });
    expect(usage.ranges[1]).toEqual({ first: 2256, last: 2259, inUse: 1 });
    expect(usage.ranges[62]).toEqual({ first: 64720, last: 64723, inUse: 1 });
    expect(usage.top).toEqual([
      { host: '192.168.1.10', ports: 2 },
      { host: '192.0.2.18', ports: 1 },
      { host: '192.168.1.11', ports: 1 },
    ]);
    expect(Date.parse(usage.at)).toBeGreaterThan(Date.now() - 60_000);

    // Fewer states now: in use falls, the peak stays.
    r.fake.editState((s) => {
      s.stateTable = [conn(`192.0.2.18:${PORT(5, 0)}`, '192.168.1.10:50000')];
    });
    const again = UsageResultSchema.parse(JSON.parse((await r.ctl('show', 'usage', '--json')).stdout));
    expect(again).toMatchObject({ inUse: 1, peak: 4 });
    const text = await r.ctl('show', 'usage');
    expect(text.stdout).toMatch(/^192\.0\.2\.18: 1 of 252 ports in use \(0\.4 %\), peak 4, at /);
    expect(text.stdout).toMatch(/^ {2}5328-5331 +1$/m);
    expect(text.stdout).toMatch(/^ {2}192\.168\.1\.10 +1$/m);
  });

  it('warns in the log once when usage passes 80 % of the set', async () => {
    const r = await rig('');
    await r.maped.waitFor((s) => s.state === 'active', 'active', 60_000);
    const fill = (n: number): void =>
      r.fake.editState((s) => {
        s.stateTable = Array.from({ length: n }, (_, i) => conn(`192.0.2.18:${PORT(1 + (i >> 2), i & 3)}`, `192.168.1.10:${10000 + i}`));
      });
    fill(202);
    expect((await r.ctl('show', 'usage', '--json')).code).toBe(0);
    fill(210);
    expect((await r.ctl('show', 'usage', '--json')).code).toBe(0);
    const warnings = r.maped.output().match(/port usage above 80 %/g) ?? [];
    expect(warnings).toHaveLength(1);
    expect(r.maped.output()).toMatch(/port usage above 80 %: 202 of 252 ports of 192\.0\.2\.18 in use/);
  });

  it('show usage without an address says why, exit 1', async () => {
    const r = await rig('');
    await r.maped.waitFor((s) => s.state === 'active', 'active', 60_000);
    writeFileSync(join(r.dir, 'lease', 'em0'), '');
    r.fake.setLeasectl('em0', null);
    await r.maped.waitFor((s) => s.state === 'withdrawn', 'withdrawn', 60_000);
    const asked = await r.ctl('show', 'usage');
    expect(asked.code).toBe(1);
    expect(asked.stderr).toMatch(/^mapedctl: no IPv4 address with a port set is in use/);
  });

  it('with metrics yes, maped.prom parses, matches mapedctl metrics, and changes after an apply', async () => {
    const r = await rig('metrics yes\n');
    const prom = join(r.dir, 'state', 'child', 'maped.prom');
    await r.maped.waitFor((s) => s.state === 'active', 'active', 60_000);
    const first = await waitUntil('a maped.prom after the first apply', () => {
      if (!existsSync(prom)) return undefined;
      const m = parseMetrics(readFileSync(prom, 'utf8'));
      return m.value('maped_applies_total', { result: 'ok' }) === 1 ? m : undefined;
    });
    expect(first.value('maped_state', { state: 'active' })).toBe(1);
    expect(first.value('maped_port_set_ports')).toBe(252);
    expect(first.value('maped_commands_total')).toBeGreaterThan(0);
    expect(first.value('maped_last_apply_duration_seconds')).toBeGreaterThan(0);
    // Metrics on: a first usage sample is taken at start, without asking.
    await waitUntil('the first usage sample', () => (parseMetrics(readFileSync(prom, 'utf8')).has('maped_ports_in_use') ? true : undefined));

    const printed = await r.ctl('metrics');
    expect(printed.code, printed.stderr).toBe(0);
    const fromCtl = parseMetrics(printed.stdout);
    expect(fromCtl.value('maped_applies_total', { result: 'ok' })).toBe(1);
    expect([...fromCtl.families.keys()]).toEqual([...parseMetrics(readFileSync(prom, 'utf8')).families.keys()]);

    const commandsBefore = first.value('maped_commands_total');
    r.lease('2001:db8:12:5600::/56');
    await r.maped.waitFor((s) => s.map?.psid === 0x56, 'the new prefix', 60_000);
    const second = await waitUntil('maped.prom after the second apply', () => {
      const m = parseMetrics(readFileSync(prom, 'utf8'));
      return m.value('maped_applies_total', { result: 'ok' }) === 2 ? m : undefined;
    });
    expect(second.value('maped_commands_total')).toBeGreaterThan(commandsBefore);
    expect(second.value('maped_last_apply_timestamp_seconds')).toBeGreaterThanOrEqual(first.value('maped_last_apply_timestamp_seconds'));
  });

  it('without metrics, no maped.prom is written and no state table is read unasked', async () => {
    const r = await rig('');
    await r.maped.waitFor((s) => s.state === 'active', 'active', 60_000);
    expect(existsSync(join(r.dir, 'state', 'child', 'maped.prom'))).toBe(false);
    expect(r.fake.log().filter((c) => c.includes('-ss'))).toEqual([]);
    const printed = await r.ctl('metrics');
    expect(parseMetrics(printed.stdout).value('maped_applies_total', { result: 'ok' })).toBe(1);
  });
});
