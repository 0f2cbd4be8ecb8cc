/**
 * The engine under the conditions a hostile run found it failing in: leases
 * longer than a timer can hold, a retry lost when the lease became
 * unreadable, and a second prefix change arriving while dhcp6leasectl is
 * still asked about the first.
 */
import { pino } from 'pino';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { configFrom } from '../support/config.js';
import type { Driver, DriverReport } from '../../src/daemon/driver.js';
import type { Softwire } from '../../src/softwire/index.js';
import { Engine } from '../../src/daemon/engine.js';
import { MAX_TIMER_MS, setLongTimeout } from '../../src/daemon/long-timer.js';
import type { LeaseSources } from '../../src/daemon/lease-reading.js';
import { ok, parseIpv6Prefix, type Result } from '../../src/map/index.js';
import type { LeasectlStatus } from '../../src/lease/index.js';

const EXAMPLE_S46 = 's46 94 00590015001018c00002002820010db800005d000406000000005a001020010db8ffff00000000000000000001';
const leaseText = (prefix: string): string => `ia_pd 0 ${prefix} 56\n${EXAMPLE_S46}\n`;
const B = '2001:db8:12:3400::';
const C = '2001:db8:12:5600::';

class Driving implements Driver {
  calls: (Softwire | null)[] = [];
  failing = false;
  async converge(mapping: Softwire | null): Promise<DriverReport> {
    this.calls.push(mapping);
    return {
      ok: !this.failing,
      commands: [['/sbin/ifconfig', 'gif0', 'up']],
      anchorText: null,
      error: this.failing ? 'step 1 (pfctl -a maped -f -): pfctl: DIOCXCOMMIT: Device busy' : null,
      mtu: 1460,
      portset: 'kernel',
      warnings: [],
    };
  }
}

class Sources implements LeaseSources {
  text: string | null = leaseText(B);
  unreadable = false;
  leasectlCalls = 0;
  status: (() => LeasectlStatus) | null = null;
  async readFile(): Promise<string | null> {
    if (this.unreadable) throw new Error('EIO: i/o error, read');
    return this.text;
  }
  async leasectl(): Promise<Result<LeasectlStatus> | null> {
    this.leasectlCalls++;
    return this.status === null ? null : ok(this.status());
  }
}

const prefix = (text: string) => {
  const p = parseIpv6Prefix(`${text}/56`);
  if (!p.ok) throw new Error(p.error);
  return p.value;
};
const bound = (pd: string, leaseSeconds: number | null): LeasectlStatus => ({ interface: 'em0', state: 'Bound', prefixes: [prefix(pd)], leaseSeconds });

function setup() {
  const driver = new Driving();
  const sources = new Sources();
  const engine = new Engine({ config: configFrom(), driver, log: pino({ level: 'silent' }), leaseSources: sources });
  return { driver, sources, engine };
}

const engines: Engine[] = [];
afterEach(async () => {
  vi.useRealTimers();
  for (const engine of engines.splice(0)) await engine.stop(false);
});

describe('timers longer than 2^31-1 ms', () => {
  it('setLongTimeout fires once, at the time asked, however far away', () => {
    vi.useFakeTimers();
    const fired: number[] = [];
    const start = Date.now();
    setLongTimeout(() => fired.push(Date.now() - start), 25 * 86400_000);
    vi.advanceTimersByTime(MAX_TIMER_MS);
    expect(fired).toEqual([]);
    vi.advanceTimersByTime(25 * 86400_000 - MAX_TIMER_MS - 1);
    expect(fired).toEqual([]);
    vi.advanceTimersByTime(1);
    expect(fired).toEqual([25 * 86400_000]);
    vi.advanceTimersByTime(100 * 86400_000);
    expect(fired).toHaveLength(1);
  });

  it('a cancelled long timer never fires, even after its first link', () => {
    vi.useFakeTimers();
    let fired = 0;
    const timer = setLongTimeout(() => fired++, 3 * MAX_TIMER_MS);
    vi.advanceTimersByTime(MAX_TIMER_MS + 5);
    timer.cancel();
    vi.advanceTimersByTime(10 * MAX_TIMER_MS);
    expect(fired).toBe(0);
  });

  it.each([
    ['a 25-day lease', 25 * 86400],
    ['an infinite lifetime (0xffffffff, RFC 8415 §7.7)', 0xffffffff],
  ])('%s does not make the engine ask dhcp6leasectl in a loop', async (_what, seconds) => {
    const { sources, engine, driver } = setup();
    engines.push(engine);
    sources.status = () => bound(B, seconds);
    const warnings: Error[] = [];
    const onWarning = (w: Error): void => void warnings.push(w);
    process.on('warning', onWarning);
    try {
      await engine.wake('test');
      expect(engine.status().state).toBe('active');
      // A timer Node had clamped to 1 ms would have fired dozens of times by now.
      await new Promise((r) => setTimeout(r, 300));
      expect(sources.leasectlCalls).toBe(1);
      expect(driver.calls).toHaveLength(1);
      expect(warnings.filter((w) => w.name === 'TimeoutOverflowWarning')).toEqual([]);
    } finally {
      process.off('warning', onWarning);
    }
    if (seconds === 0xffffffff) expect(engine.status().lease?.expiresAt).toBeNull();
  });
});

describe('retry', () => {
  it('degraded, then the lease becomes unreadable: a retry stays scheduled and in the future', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] });
    const { sources, engine, driver } = setup();
    engines.push(engine);
    driver.failing = true;
    await engine.wake('first');
    expect(engine.status().state).toBe('degraded');
    sources.unreadable = true;
    await engine.wake('lease file changed');
    const status = engine.status();
    expect(status.state).toBe('degraded');
    expect(status.nextRetryAt).not.toBeNull();
    expect(Date.parse(status.nextRetryAt!)).toBeGreaterThan(Date.now());
    expect(status.reason).toMatch(/EIO/);
    // The retry happens: the lease is readable again and the driver works.
    sources.unreadable = false;
    driver.failing = false;
    const calls = driver.calls.length;
    await vi.advanceTimersByTimeAsync(Date.parse(status.nextRetryAt!) - Date.now() + 10);
    await vi.waitFor(() => expect(engine.status().state).toBe('active'));
    expect(driver.calls.length).toBe(calls + 1);
  });
});

describe('two prefix changes close together', () => {
  it('B is judged against dhcp6leasectl that already holds C: the file is read again and C applied, nothing withdrawn', async () => {
    const { sources, engine, driver } = setup();
    engines.push(engine);
    sources.status = () => bound(B, 7 * 86400);
    await engine.wake('first');
    expect(engine.status().state).toBe('active');
    // dhcp6leased moved on to C; the file is rewritten while maped asks about B.
    sources.text = leaseText(B.replace('3400', '4500'));
    sources.status = () => {
      sources.text = leaseText(C);
      return bound(C, 7 * 86400);
    };
    await engine.wake('lease file changed');
    expect(driver.calls.every((c) => c !== null)).toBe(true);
    expect(engine.status().state).toBe('active');
    expect(engine.status().lease?.endUserPrefix).toBe(`${C}/56`);
  });

  it('a disagreement no newer file explains still withdraws', async () => {
    const { sources, engine, driver } = setup();
    engines.push(engine);
    sources.status = () => bound(B, 7 * 86400);
    await engine.wake('first');
    sources.status = () => bound(C, 7 * 86400);
    await engine.wake('renewal');
    expect(driver.calls.at(-1)).toBeNull();
    expect(engine.status().state).toBe('withdrawn');
  });
});
