import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { configFrom } from '../support/config.js';
import type { ConvergeOptions, Driver, DriverReport } from '../../src/daemon/driver.js';
import type { Softwire } from '../../src/softwire/index.js';
import { Engine } from '../../src/daemon/engine.js';
import { retryDelayMs } from '../../src/daemon/retry-delay.js';
import type { LeaseSources } from '../../src/daemon/lease-reading.js';
import { ok } from '../../src/map/index.js';
import { parseLeaseFile, type LeasectlStatus } from '../../src/lease/index.js';
import { formatIpv6, parseIpv6Prefix } from '../../src/map/index.js';

const LEASE_FILE = '/var/db/dhcp6leased/em0';
const EXAMPLE_S46 =
  's46 94 00590015001018c00002002820010db800005d000406000000005a001020010db8ffff00000000000000000001';

/** A driver that records targets and can be told to fail. */
class RecordingDriver implements Driver {
  calls: (Softwire | null)[] = [];
  failing = false;
  /** What the plan warns about when a mapping is applied (none when withdrawing). */
  planWarnings: string[] = [];
  lookAhead?: Driver['lookAhead'];
  lookAheads: (object | undefined)[] = [];
  /** The softwires each convergence was told maped knows (for adopting after a lost ownership record). */
  knownSoftwires: (readonly Softwire[] | undefined)[] = [];
  async converge(mapping: Softwire | null, _config?: unknown, options?: ConvergeOptions): Promise<DriverReport> {
    this.calls.push(mapping);
    this.lookAheads.push(options?.lookAhead);
    this.knownSoftwires.push(options?.knownSoftwires);
    return {
      ok: !this.failing,
      commands: this.failing ? [] : [['/sbin/ifconfig', 'gif0', 'up']],
      anchorText: null,
      error: this.failing ? 'step 1 (/sbin/pfctl -a maped -f -): stdin:1: syntax error' : null,
      mtu: 1460,
      portset: 'kernel',
      warnings: mapping === null ? [] : [...this.planWarnings],
    };
  }
}

class Sources implements LeaseSources {
  text: string | null = `ia_pd 0 2001:db8:12:3400:: 56\n${EXAMPLE_S46}\n`;
  leasectlStatus: LeasectlStatus | null = null;
  async readFile(): Promise<string | null> {
    return this.text;
  }
  async leasectl() {
    return this.leasectlStatus === null ? null : ok(this.leasectlStatus);
  }
}

function setup() {
  const driver = new RecordingDriver();
  const sources = new Sources();
  const engine = new Engine({ config: configFrom(), driver, log: pino({ level: 'silent' }), leaseSources: sources });
  return { driver, sources, engine };
}

describe('Engine', () => {
  it('applies the first lease and reports active with the derived values', async () => {
    const { driver, engine } = setup();
    await engine.wake('test');
    expect(driver.calls).toHaveLength(1);
    const status = engine.status();
    expect(status.state).toBe('active');
    expect(status.map).toMatchObject({ ipv4: '192.0.2.18', psid: 52, psidLen: 8, ceIPv6: '2001:db8:12:3400:0:c000:212:34', br: '2001:db8:ffff::1' });
    expect(status.rule?.origin).toBe('dhcpv6');
    expect(status.lastApply).toMatchObject({ ok: true, commands: 1, error: null });
  });

  it('each convergence knows the softwire to apply and the one applied last; a failed apply does not replace the last', async () => {
    const driver = new RecordingDriver();
    const sources = new Sources();
    const config = configFrom('wan em0\nsoftwire lw4o6\nlw4o6 { ipv4 203.0.113.16 psid-offset 6 psid-len 8 psid 3 aftr 2001:db8:ffff::2 }\n');
    const engine = new Engine({ config, driver, log: pino({ level: 'silent' }), leaseSources: sources });
    const sources6 = (known: readonly Softwire[] | undefined) => known?.map((s) => `${s.kind} ${formatIpv6(s.tunnel.source)}`);
    const lease = (hextet: string) => (sources.text = `ia_pd 0 2001:db8:12:${hextet}:: 56\n`);
    lease('3400');
    await engine.wake('first');
    lease('5600');
    await engine.wake('new prefix');
    driver.failing = true;
    lease('7800');
    await engine.wake('fails');
    driver.failing = false;
    lease('9a00');
    await engine.wake('retry');
    expect(driver.knownSoftwires.map(sources6)).toEqual([
      ['lw4o6 2001:db8:12:3400:0:cb00:7110:3'],
      ['lw4o6 2001:db8:12:5600:0:cb00:7110:3', 'lw4o6 2001:db8:12:3400:0:cb00:7110:3'],
      ['lw4o6 2001:db8:12:7800:0:cb00:7110:3', 'lw4o6 2001:db8:12:5600:0:cb00:7110:3'],
      ['lw4o6 2001:db8:12:9a00:0:cb00:7110:3', 'lw4o6 2001:db8:12:5600:0:cb00:7110:3'],
    ]);
  });

  it('a changed lease file starts a look-ahead read that converge receives; a renewal with the same text starts none', async () => {
    const { driver, sources, engine } = setup();
    const made: object[] = [];
    driver.lookAhead = () => {
      const token = {};
      made.push(token);
      return token;
    };
    await engine.wake('first');
    await engine.wake('renewal');
    sources.text = `ia_pd 0 2001:db8:12:5600:: 56\n${EXAMPLE_S46}\n`;
    await engine.wake('new prefix');
    expect(made).toHaveLength(2);
    expect(driver.lookAheads).toHaveLength(2);
    expect(driver.lookAheads[0]).toBe(made[0]);
    expect(driver.lookAheads[1]).toBe(made[1]);
    expect(driver.calls).toHaveLength(2);
  });

  it('the live state is asked for before dhcp6leasectl when a rewritten file is applied on its word, after it when its answer decides', async () => {
    const { driver, sources, engine } = setup();
    const asked: string[] = [];
    driver.lookAhead = () => {
      asked.push('live state');
      return {};
    };
    const leasectl = sources.leasectl.bind(sources);
    sources.leasectl = () => {
      asked.push('dhcp6leasectl');
      return leasectl();
    };
    await engine.wake('the file found at start');
    sources.text = `ia_pd 0 2001:db8:12:5600:: 56\n${EXAMPLE_S46}\n`;
    await engine.wake('rewritten by dhcp6leased');
    expect(asked).toEqual(['dhcp6leasectl', 'live state', 'live state', 'dhcp6leasectl']);
  });

  it('renewal with identical lease runs no command', async () => {
    const { driver, engine } = setup();
    await engine.wake('first');
    await engine.wake('renewal');
    await engine.wake('renewal');
    expect(driver.calls).toHaveLength(1);
  });

  it('a malformed lease keeps the applied configuration and sets reason', async () => {
    const { driver, sources, engine } = setup();
    await engine.wake('first');
    sources.text = 'ia_pd 0 2001:db8:12:3400:: 56\ns46 94 0059zz\n';
    await engine.wake('garbage');
    expect(driver.calls).toHaveLength(1);
    const status = engine.status();
    expect(status.state).toBe('active');
    expect(status.reason).toMatch(/^lease \/var\/db\/dhcp6leased\/em0:2: /);
    expect(status.map?.ipv4).toBe('192.0.2.18');
  });

  it('a new prefix is applied again', async () => {
    const { driver, sources, engine } = setup();
    await engine.wake('first');
    sources.text = `ia_pd 0 2001:db8:12:5600:: 56\n${EXAMPLE_S46}\n`;
    await engine.wake('new prefix');
    expect(driver.calls).toHaveLength(2);
    expect(engine.status().map).toMatchObject({ psid: 0x56, ceIPv6: '2001:db8:12:5600:0:c000:212:56' });
  });

  it('a lease that dhcp6leasectl no longer lists is withdrawn', async () => {
    const { driver, sources, engine } = setup();
    const eup = parseIpv6Prefix('2001:db8:12:3400::/56');
    if (!eup.ok) throw new Error(eup.error);
    sources.leasectlStatus = { interface: 'em0', state: 'Bound', prefixes: [eup.value], leaseSeconds: 600 };
    await engine.wake('first');
    expect(engine.status().lease).toMatchObject({ dhcpState: 'Bound' });
    expect(engine.status().lease?.expiresAt).not.toBeNull();
    sources.leasectlStatus = { interface: 'em0', state: 'Init', prefixes: [], leaseSeconds: null };
    await engine.wake('expiry');
    expect(driver.calls.at(-1)).toBeNull();
    const status = engine.status();
    expect(status.state).toBe('withdrawn');
    expect(status.reason).toMatch(/not current \(dhcp6leased: Init\)/);
    expect(status.map).toBeNull();
    await engine.stop(false);
  });

  it("a plan's warning (stock pf and ICMP) is logged once at warning level, and status drops it once withdrawn", async () => {
    const { driver, sources } = setup();
    const icmp = 'stock pf: ICMP echo ids are not confined to the port set';
    driver.planWarnings = [icmp];
    const logged: { level: number; msg: string }[] = [];
    const log = pino({ level: 'debug' }, { write: (line: string) => void logged.push(JSON.parse(line) as { level: number; msg: string }) });
    const engine = new Engine({ config: configFrom(), driver, log, leaseSources: sources });
    const eup = parseIpv6Prefix('2001:db8:12:3400::/56');
    if (!eup.ok) throw new Error(eup.error);
    sources.leasectlStatus = { interface: 'em0', state: 'Bound', prefixes: [eup.value], leaseSeconds: 600 };
    await engine.wake('first');
    await engine.wake('renewal');
    sources.text = `ia_pd 0 2001:db8:12:5600:: 56\n${EXAMPLE_S46}\n`;
    const moved = parseIpv6Prefix('2001:db8:12:5600::/56');
    if (!moved.ok) throw new Error(moved.error);
    sources.leasectlStatus = { ...sources.leasectlStatus, prefixes: [moved.value] };
    await engine.wake('new prefix');
    expect(driver.calls).toHaveLength(2);
    const said = logged.filter((l) => l.msg === icmp);
    expect(said).toHaveLength(1);
    expect(said[0]!.level).toBe(pino.levels.values.warn);
    expect(engine.status().warnings).toEqual([icmp]);

    sources.leasectlStatus = { interface: 'em0', state: 'Init', prefixes: [], leaseSeconds: null };
    await engine.wake('expiry');
    expect(engine.status().state).toBe('withdrawn');
    expect(engine.status().warnings).toEqual([]);
    await engine.stop(false);
  });

  it('-v logs no command of a real apply (reconcile logs each as it starts); a dry run lists what it would run', async () => {
    const logged: string[] = [];
    const log = pino({ level: 'debug' }, { write: (line: string) => void logged.push((JSON.parse(line) as { msg: string }).msg) });
    for (const dryRun of [false, true]) {
      logged.length = 0;
      const engine = new Engine({ config: configFrom(), driver: new RecordingDriver(), log, leaseSources: new Sources(), dryRun });
      await engine.wake('first');
      expect(logged.filter((m) => m.includes('/sbin/ifconfig gif0 up'))).toEqual(dryRun ? ['dry run: /sbin/ifconfig gif0 up'] : []);
    }
  });

  it('a failed apply is degraded with a retry time, and recovers on the next try', async () => {
    const { driver, engine } = setup();
    driver.failing = true;
    await engine.wake('first');
    let status = engine.status();
    expect(status.state).toBe('degraded');
    expect(status.reason).toMatch(/^step 1 .*syntax error; retry in 1 s$/);
    expect(status.nextRetryAt).not.toBeNull();
    driver.failing = false;
    await engine.wake('retry');
    status = engine.status();
    expect(status.state).toBe('active');
    expect(status.nextRetryAt).toBeNull();
    await engine.stop(false);
  });

  it('no lease file: waiting, and nothing is run', async () => {
    const { driver, sources, engine } = setup();
    sources.text = null;
    await engine.wake('start');
    expect(engine.status()).toMatchObject({ state: 'waiting', reason: `no lease file ${LEASE_FILE}` });
    expect(driver.calls).toHaveLength(0);
  });

  it('stop with teardown removes what was applied', async () => {
    const { driver, engine } = setup();
    await engine.wake('first');
    await engine.stop(true);
    expect(driver.calls).toHaveLength(2);
    expect(driver.calls[1]).toBeNull();
  });

  it('backs off exponentially, capped at five minutes', () => {
    expect([0, 1, 2, 3, 8, 9, 30].map(retryDelayMs)).toEqual([1000, 2000, 4000, 8000, 256000, 300000, 300000]);
  });

  it('shows the rules and the ports', async () => {
    const { engine } = setup();
    await engine.wake('first');
    expect(engine.showRules().rules).toEqual([
      expect.objectContaining({ ipv6Prefix: '2001:db8::/40', ipv4Prefix: '192.0.2.0/24', eaLen: 16, origin: 'dhcpv6', br: '2001:db8:ffff::1' }),
    ]);
    expect(engine.showPorts().portSets[0]).toEqual([1232, 1235]);
  });
});

describe('Engine: a lease file rewritten while maped watches', () => {
  const A = `ia_pd 0 2001:db8:12:3400:: 56\n${EXAMPLE_S46}\n`;
  const B = `ia_pd 0 2001:db8:12:5600:: 56\n${EXAMPLE_S46}\n`;
  const prefix = (text: string) => {
    const p = parseIpv6Prefix(text);
    if (!p.ok) throw new Error(p.error);
    return p.value;
  };
  const bound = (p: string): LeasectlStatus => ({ interface: 'em0', state: 'Bound', prefixes: [prefix(p)], leaseSeconds: 600 });

  /** dhcp6leasectl answers only when told to; `asked` counts the questions. */
  class HeldSources extends Sources {
    asked = 0;
    private answers: (() => void)[] = [];
    override async leasectl() {
      this.asked++;
      await new Promise<void>((resolve) => this.answers.push(resolve));
      return this.leasectlStatus === null ? null : ok(this.leasectlStatus);
    }
    answer(): void {
      for (const resolve of this.answers.splice(0)) resolve();
    }
    async until(what: () => boolean): Promise<void> {
      for (let i = 0; i < 1000 && !what(); i++) await new Promise((r) => setImmediate(r));
      expect(what()).toBe(true);
    }
  }

  function held() {
    const driver = new RecordingDriver();
    const sources = new HeldSources();
    sources.text = A;
    sources.leasectlStatus = bound('2001:db8:12:3400::/56');
    const engine = new Engine({ config: configFrom(), driver, log: pino({ level: 'silent' }), leaseSources: sources });
    return { driver, sources, engine };
  }

  /** held(), started: its first look has had dhcp6leasectl's answer and is over. */
  async function started() {
    const h = held();
    const first = h.engine.wake('start');
    await h.sources.until(() => h.sources.asked === 1);
    h.sources.answer();
    await first;
    return h;
  }

  it('the file found at start waits for dhcp6leasectl (it may be from before a reboot); a rewritten one is applied while it is asked, then confirmed', async () => {
    const { driver, sources, engine } = held();
    const first = engine.wake('start');
    await sources.until(() => sources.asked === 1);
    expect(driver.calls).toHaveLength(0);
    sources.answer();
    await first;
    expect(driver.calls).toHaveLength(1);

    sources.text = B;
    sources.leasectlStatus = bound('2001:db8:12:5600::/56');
    const changed = engine.wake('lease file changed');
    await sources.until(() => driver.calls.length === 2);
    expect(sources.asked).toBe(2);
    // Applied on the file's word: dhcp6leasectl has not answered yet.
    expect(engine.status()).toMatchObject({ state: 'active', map: { psid: 0x56 }, lease: { dhcpState: null, expiresAt: null } });
    sources.answer();
    await changed;
    expect(engine.status()).toMatchObject({ state: 'active', lease: { endUserPrefix: '2001:db8:12:5600::/56', dhcpState: 'Bound' } });
    expect(engine.status().lease?.expiresAt).not.toBeNull();
    expect(driver.calls).toHaveLength(2);
    await engine.stop(false);
  });

  it('a rewritten file dhcp6leasectl then does not list: asked again before anything more is applied, and withdrawn', async () => {
    const { driver, sources, engine } = await started();

    sources.text = B;
    sources.leasectlStatus = { interface: 'em0', state: 'Init', prefixes: [], leaseSeconds: null };
    const changed = engine.wake('lease file changed');
    await sources.until(() => driver.calls.length === 2);
    sources.answer();
    // The second look waits for the answer: nothing is applied before it.
    await sources.until(() => sources.asked === 3);
    expect(driver.calls).toHaveLength(2);
    sources.answer();
    await changed;
    expect(sources.asked).toBe(3);
    expect(driver.calls.at(-1)).toBeNull();
    expect(engine.status()).toMatchObject({ state: 'withdrawn', reason: expect.stringMatching(/not current \(dhcp6leased: Init\)/) });
    await engine.stop(false);
  });

  it('a rewritten file without MAP-E options of its own (they may come from dhcp6leasectl) waits for its answer', async () => {
    const { driver, sources, engine } = await started();
    sources.text = 'ia_pd 0 2001:db8:12:5600:: 56\n';
    // The earlier Perl maped's patch: the MAP-E options in dhcp6leasectl's output only.
    const file = parseLeaseFile(B, LEASE_FILE);
    if (!file.ok || file.value.s46 === undefined) throw new Error('the example lease has S46 options');
    sources.leasectlStatus = { ...bound('2001:db8:12:5600::/56'), s46: file.value.s46 };
    const changed = engine.wake('lease file changed');
    await sources.until(() => sources.asked === 2);
    for (let i = 0; i < 20; i++) await new Promise((r) => setImmediate(r));
    expect(driver.calls).toHaveLength(1);
    sources.answer();
    await changed;
    expect(driver.calls).toHaveLength(2);
    expect(engine.status()).toMatchObject({ state: 'active', map: { psid: 0x56 }, lease: { dhcpState: 'Bound' } });
    await engine.stop(false);
  });
});

describe('Engine with an AFTR by name', () => {
  it('asks the DNS once while the answer lasts, again after the tunnel failed, and follows an AFTR that moved', async () => {
    const { startDnsServer } = await import('../support/dns-server.js');
    const dns = await startDnsServer('127.0.0.1');
    try {
      dns.set('aftr.example.net', 'AAAA', ['2001:db8:ffff::2'], 3600);
      const driver = new RecordingDriver();
      const sources = new Sources();
      sources.text = 'ia_pd 0 2001:db8:12:3400:: 56\n';
      const config = configFrom(`wan em0\ndslite { aftr "aftr.example.net" dns "${dns.endpoint}" }\n`);
      const engine = new Engine({ config, driver, log: pino({ level: 'silent' }), leaseSources: sources });

      driver.failing = true;
      await engine.wake('first');
      expect(engine.status().state).toBe('degraded');
      expect(dns.queries).toHaveLength(1);

      // The tunnel did not come up: the name is asked again, and the AFTR has moved.
      dns.set('aftr.example.net', 'AAAA', ['2001:db8:ffff::7'], 3600);
      driver.failing = false;
      await engine.wake('retry');
      expect(dns.queries).toHaveLength(2);
      expect(engine.status()).toMatchObject({ state: 'active', softwire: 'dslite', origin: 'static', map: { br: '2001:db8:ffff::7' } });

      // A renewal while the answer lasts asks nothing.
      await engine.wake('renewal');
      expect(dns.queries).toHaveLength(2);
      await engine.stop(false);
    } finally {
      await dns.close();
    }
  });
});

describe('Engine: the AFTR answer running out', () => {
  it('wakes when the TTL runs out, asks again, and moves the tunnel to the new AFTR', async () => {
    const { startDnsServer } = await import('../support/dns-server.js');
    const { AftrResolver } = await import('../../src/daemon/aftr-resolver.js');
    const dns = await startDnsServer('127.0.0.1');
    const driver = new RecordingDriver();
    const sources = new Sources();
    sources.text = 'ia_pd 0 2001:db8:12:3400:: 56\n';
    const config = configFrom(`wan em0\ndslite { aftr "aftr.example.net" dns "${dns.endpoint}" }\n`);
    // An answer kept one second at least, so that a TTL of 1 runs out within the test.
    const engine = new Engine({ config, driver, log: pino({ level: 'silent' }), leaseSources: sources, aftrResolver: new AftrResolver(Date.now, 1) });
    try {
      dns.set('aftr.example.net', 'AAAA', ['2001:db8:ffff::2'], 1);
      await engine.wake('first');
      expect(engine.status().map?.br).toBe('2001:db8:ffff::2');
      dns.set('aftr.example.net', 'AAAA', ['2001:db8:ffff::7'], 3600);
      // No wake from here on: only the TTL timer can bring the new address in.
      const deadline = Date.now() + 60_000;
      while (engine.status().map?.br !== '2001:db8:ffff::7' && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      expect(engine.status()).toMatchObject({ state: 'active', map: { br: '2001:db8:ffff::7' } });
      expect(dns.queries.length).toBeGreaterThanOrEqual(2);
      const last = driver.calls.at(-1);
      expect(last && formatIpv6(last.tunnel.remote)).toBe('2001:db8:ffff::7');
    } finally {
      await engine.stop(false);
      await dns.close();
    }
  }, 90_000);
});
