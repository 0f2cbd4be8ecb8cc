/**
 * What pf does with the anchor maped loads: the rendered text, parsed as
 * pfctl parses it, inside the OpenBSD 7.8 default pf.conf with an admin's
 * block rule before `anchor "maped"`, evaluated by the pf model
 * (test/support/pf-model) packet by packet.
 */
import { describe, expect, it } from 'vitest';
import { formatIpv4, formatIpv6, parseIpv4Prefix } from '../../src/map/index.js';
import { renderAnchor, type DesiredState } from '../../src/openbsd/index.js';
import {
  adminPfConf,
  evaluate,
  Fraction,
  ONE,
  outcomes,
  parseRuleset,
  portSetFor,
  StateTable,
  ZERO,
  type Packet,
} from '../support/pf-model/index.js';
import { interfacesFor, setup, tcpOut } from './anchor-in-model.js';
import { desiredFor, PARAMETER_SETS } from './parameter-sets.js';
import { PF_PROBABILITY_DRAWS } from '../../src/openbsd/index.js';

/** The router itself, a host of the first `nat from` network, one of a second network. */
const SOURCES = (desired: DesiredState): string[] => [formatIpv4(desired.ipv4), '192.168.1.23', '192.168.2.9'];

const MODES = ['stock', 'kernel', 'unrestricted'] as const;
const twoLans = { natFrom: [parseIpv4Prefix('192.168.1.0/24'), parseIpv4Prefix('192.168.2.0/24')].map((r) => (r.ok ? r.value : null)!) };

describe.each(PARAMETER_SETS)('$name: the anchor inside the 7.8 default pf.conf', (set) => {
  it.each(MODES)('%s mode: the router and every nat from network are translated once, into the port set, with fair shares', (mode) => {
    const desired = desiredFor(set, mode, twoLans);
    const { ruleset, env } = setup(desired);
    const n = desired.portSets.length;
    for (const src of SOURCES(desired)) {
      const all = outcomes(ruleset, tcpOut(src), env);
      let total = ZERO;
      const byRange = new Map<string, Fraction>();
      for (const { chance, verdict } of all) {
        total = total.add(chance);
        expect(verdict.action).toBe('pass');
        // The admin's `pass` decides, not the anchor.
        expect(verdict.rule?.ruleset).toBe('main');
        expect(verdict.translations).toBe(1);
        expect(verdict.source.address).toBe(formatIpv4(desired.ipv4));
        const nat = verdict.nat!;
        if (mode === 'kernel') expect(nat.mapePortset).toEqual([desired.psidOffset, desired.psidLen, desired.psid]);
        else expect(nat.mapePortset).toBeNull();
        const key = `${nat.low}:${nat.high}`;
        byRange.set(key, (byRange.get(key) ?? ZERO).add(chance));
      }
      expect(total.equals(ONE)).toBe(true);
      if (mode === 'stock') {
        // Every range of the set, each with 1/n (up to pfctl's rounding of 1/i: n/(2^32 − 2)).
        expect([...byRange.keys()].sort()).toEqual(desired.portSets.map(([lo, hi]) => `${lo}:${hi}`).sort());
        const bound = Fraction.of(BigInt(n), PF_PROBABILITY_DRAWS);
        for (const chance of byRange.values()) expect(chance.sub(Fraction.of(1, n)).abs().lessOrEqual(bound)).toBe(true);
      } else {
        expect(byRange.size).toBe(1);
      }
    }
  });

  it.each(MODES)('%s mode: the admin block rule before the anchor still blocks, and so does the _pbuild rule', (mode) => {
    const desired = desiredFor(set, mode);
    const { ruleset, env } = setup(desired);
    for (const { verdict } of outcomes(ruleset, tcpOut('192.168.1.66'), env)) {
      expect(verdict.action).toBe('block');
      expect(verdict.rule?.text).toContain('192.168.1.66');
    }
    const pbuild = tcpOut(formatIpv4(desired.ipv4), { user: '_pbuild' });
    for (const { verdict } of outcomes(ruleset, pbuild, env)) {
      expect(verdict.action).toBe('block');
      expect(verdict.rule?.user).toBe('_pbuild');
    }
  });

  it.each(MODES)('%s mode: a source outside nat from is neither translated nor passed by the anchor', (mode) => {
    const desired = desiredFor(set, mode);
    const conf = adminPfConf({ before: 'block out on gif0 inet' });
    const { ruleset, env } = setup(desired, conf);
    for (const { verdict } of outcomes(ruleset, tcpOut('10.9.9.9'), env)) {
      expect(verdict.translations).toBe(0);
      expect(verdict.action).toBe('block');
    }
    // Even a LAN source the anchor translates stays blocked: the anchor decides nothing.
    for (const { verdict } of outcomes(ruleset, tcpOut('192.168.1.23'), env)) {
      expect(verdict.action).toBe('block');
      expect(verdict.translations).toBe(1);
    }
  });

  it.each(MODES)('%s mode: SYNs through the tunnel get the MSS clamp both ways', (mode) => {
    const desired = desiredFor(set, mode);
    const { ruleset, env } = setup(desired);
    const outbound = evaluate(ruleset, tcpOut('192.168.1.23'), env);
    expect(outbound.keepState).toBe(true);
    expect(outbound.maxMss).toBe(desired.mtu - 40);
    // A connection opened from the Internet to a forwarded port: the SYN comes in on gif0.
    const inbound: Packet = { dir: 'in', ifname: 'gif0', af: 'inet', proto: 'tcp', src: '198.51.100.7', dst: formatIpv4(desired.ipv4), srcPort: 51000, dstPort: 22 };
    const verdict = evaluate(ruleset, inbound, env);
    expect(verdict.action).toBe('pass');
    expect(verdict.keepState).toBe(true);
    expect(verdict.maxMss).toBe(desired.mtu - 40);
    // UDP is not clamped.
    expect(evaluate(ruleset, tcpOut('192.168.1.23', { proto: 'udp' }), env).maxMss).toBeNull();
  });

  it('the tunnel packets between CE and BR pass quick even under "block all", and only those', () => {
    const desired = desiredFor(set, 'stock');
    const { ruleset, env } = setup(desired, adminPfConf({ before: 'block quick on em0 inet6 proto tcp\nblock all' }));
    const ce = formatIpv6(desired.ceIPv6);
    const br = formatIpv6(desired.br);
    const out: Packet = { dir: 'out', ifname: 'em0', af: 'inet6', proto: 'ipencap', src: ce, dst: br };
    const back: Packet = { dir: 'in', ifname: 'em0', af: 'inet6', proto: 'ipencap', src: br, dst: ce };
    expect(evaluate(ruleset, out, env)).toMatchObject({ action: 'pass', rule: { ruleset: 'maped', quick: true } });
    expect(evaluate(ruleset, back, env)).toMatchObject({ action: 'pass', rule: { ruleset: 'maped', quick: true } });
    expect(evaluate(ruleset, { ...back, src: '2001:db8::bad' }, env).action).toBe('block');
  });
});

describe('the pf model follows pf.c', () => {
  const desired = desiredFor(PARAMETER_SETS[0]!, 'stock');
  const env = { interfaces: interfacesFor(desired) };
  const mapAddress = formatIpv4(desired.ipv4);

  it('a nat-to chain keyed on the inside source stops after its first rule (why the anchor tags first)', () => {
    const chain = [
      'match out on gif0 inet from 192.168.1.0/24 to any nat-to (gif0) port 1024:1039',
      'match out on gif0 inet from 192.168.1.0/24 to any probability 50% nat-to (gif0) port 2048:2063',
    ].join('\n');
    const ruleset = parseRuleset('pass\nanchor "x"', { x: chain });
    const all = outcomes(ruleset, tcpOut('192.168.1.23'), env);
    expect(all).toHaveLength(1);
    expect(all[0]!.verdict.nat).toMatchObject({ low: 1024, high: 1039 });
    expect(all[0]!.verdict.source.address).toBe(mapAddress);
  });

  it('rules after the anchor see the translated source', () => {
    const ruleset = parseRuleset(adminPfConf({ after: 'block out on gif0 inet from 192.168.1.0/24\npass out on gif0 inet from (gif0) tag seen' }), {
      maped: renderAnchor(desired),
    });
    const verdict = evaluate(ruleset, tcpOut('192.168.1.23'), env);
    expect(verdict.action).toBe('pass');
    expect(verdict.rule?.text).toBe('pass out on gif0 inet from (gif0) tag seen');
  });

  it('last match decides unless quick; quick ends the evaluation inside an anchor too', () => {
    const ruleset = parseRuleset('block\npass out\nanchor "a"\nblock out proto udp', { a: 'pass out quick proto udp to port 53' });
    const dns = tcpOut('192.168.1.23', { proto: 'udp', dstPort: 53 });
    expect(evaluate(ruleset, dns, env)).toMatchObject({ action: 'pass', rule: { ruleset: 'a' } });
    expect(evaluate(ruleset, { ...dns, dstPort: 54 }, env)).toMatchObject({ action: 'block', rule: { text: 'block out proto udp' } });
    expect(evaluate(ruleset, tcpOut('192.168.1.23'), env)).toMatchObject({ action: 'pass', rule: { text: 'pass out' } });
  });

  it('probability is drawn as pf draws it: a stored s matches when the draw is below s', () => {
    const ruleset = parseRuleset('match out probability 50% tag half\npass');
    const half = 2147483648; // pfctl stores 50% as floor(0.5 * UINT_MAX + 0.5)
    expect(evaluate(ruleset, tcpOut('192.168.1.23'), { ...env, draw: () => half - 1 }).tag).toBe('half');
    expect(evaluate(ruleset, tcpOut('192.168.1.23'), { ...env, draw: () => half }).tag).toBeNull();
  });

  it('a translation without a free port drops the packet', () => {
    const ruleset = parseRuleset('pass\nmatch out on gif0 inet nat-to (gif0) port 1024', {});
    const states = new StateTable();
    const first = evaluate(ruleset, tcpOut('192.168.1.23'), { ...env, ports: states });
    expect(first).toMatchObject({ action: 'pass', source: { address: mapAddress, port: 1024 } });
    states.insert('tcp', mapAddress, 1024, '198.51.100.7', 443);
    expect(evaluate(ruleset, tcpOut('192.168.1.24'), { ...env, ports: states })).toMatchObject({ action: 'block', reason: 'translate' });
  });

  it('stock mode: one destination gets more connections than one range holds, every port in the set', () => {
    const { ruleset } = setup(desired);
    const states = new StateTable();
    const set = new Set(portSetFor([desired.psidOffset, desired.psidLen, desired.psid]));
    const perRange = desired.portSets[0]![1] - desired.portSets[0]![0] + 1;
    const used = new Set<number>();
    for (let i = 0; i < perRange * 4; i++) {
      const verdict = evaluate(ruleset, tcpOut('192.168.1.23', { srcPort: 30000 + i }), { ...env, ports: states });
      expect(verdict.action).toBe('pass');
      const port = verdict.source.port!;
      expect(set.has(port)).toBe(true);
      used.add(port);
      states.insert('tcp', mapAddress, port, '198.51.100.7', 443);
    }
    expect(used.size).toBe(perRange * 4);
  });

  it('stock pf: ICMP echo ids are drawn from 1-65535 whatever the range (pf_get_sport)', () => {
    const ruleset = parseRuleset('pass\nmatch out on gif0 inet nat-to (gif0) port 1024:1027', {});
    const ping: Packet = { dir: 'out', ifname: 'gif0', af: 'inet', proto: 'icmp', icmpType: 'echoreq', src: '192.168.1.23', dst: '198.51.100.7', srcPort: 7 };
    const ids = new Set<number>();
    for (let i = 0; i < 20; i++) ids.add(evaluate(ruleset, ping, { ...env, ports: new StateTable() }).source.port!);
    expect([...ids].some((id) => id < 1024 || id > 1027)).toBe(true);
  });
});
