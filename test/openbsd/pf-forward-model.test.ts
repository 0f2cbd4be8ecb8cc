/**
 * What pf does with maped's forward rules (maped.conf(5) `forward`): the
 * rendered anchor inside the OpenBSD 7.8 default pf.conf, evaluated by the pf
 * model, which redirects as sys/net/pf.c 1.1218 pf_test_rule and
 * sys/net/pf_lb.c 1.76 pf_get_transaddr do.
 */
import { describe, expect, it } from 'vitest';
import { formatIpv4, parseIpv4 } from '../../src/map/index.js';
import { natRanges, type DesiredState, type ForwardSpec } from '../../src/openbsd/index.js';
import { adminPfConf, evaluate, outcomes, parseRuleset, portSetFor, StateTable, type Packet } from '../support/pf-model/index.js';
import { interfacesFor, setup, tcpOut } from './anchor-in-model.js';
import { deriveSet, desiredFor, PARAMETER_SETS } from './parameter-sets.js';

const host = (text: string): number => {
  const parsed = parseIpv4(text);
  if (!parsed.ok) throw new Error(parsed.error);
  return parsed.value;
};

/** SSH to one port of the set's first range, a game's TCP and UDP to four ports of the second. */
function forwardsFor(set: (typeof PARAMETER_SETS)[number]): { ssh: ForwardSpec; game: ForwardSpec } {
  const [r1, r2] = deriveSet(set).portSets.filter(([first]) => first > 0);
  return {
    ssh: { proto: 'tcp', ports: [r1![0] + 1, r1![0] + 1], to: host('192.168.1.10'), toPort: 22 },
    game: { proto: 'tcp-udp', ports: [r2![0] + 2, r2![0] + 5], to: host('192.168.1.20'), toPort: null },
  };
}

/** A packet from the Internet through the tunnel to the CE's address. */
const inbound = (desired: DesiredState, dstPort: number, extra: Partial<Packet> = {}): Packet => ({
  dir: 'in',
  ifname: 'gif0',
  af: 'inet',
  proto: 'tcp',
  src: '203.0.113.77',
  dst: formatIpv4(desired.ipv4),
  srcPort: 51000,
  dstPort,
  ...extra,
});

/** A router's pf.conf: the 7.8 default, the anchor, then "nothing in from the Internet". */
const ROUTER_CONF = adminPfConf({ before: '', after: 'block in on egress' });

const MODES = ['kernel', 'stock', 'unrestricted'] as const;

describe.each(PARAMETER_SETS)('$name: forwards through the pf model', (set) => {
  const { ssh, game } = forwardsFor(set);

  it.each(MODES)('%s mode: an inbound SYN to a forwarded port is redirected to the LAN host, passed with state and the MSS clamp', (mode) => {
    const desired = desiredFor(set, mode, { forwards: [ssh, game] });
    expect(desired.forwards).toEqual([ssh, game]);
    for (const conf of [adminPfConf(), ROUTER_CONF]) {
      const { ruleset, env } = setup(desired, conf);
      const all = outcomes(ruleset, inbound(desired, ssh.ports[0]), env);
      expect(all).toHaveLength(1);
      const verdict = all[0]!.verdict;
      expect(verdict).toMatchObject({ action: 'pass', reason: 'rule', keepState: true, maxMss: desired.mtu - 40, translations: 0 });
      expect(verdict.rule).toMatchObject({ ruleset: 'maped', quick: true });
      expect(verdict.destination).toEqual({ address: '192.168.1.10', port: 22 });
      // The source stays the Internet host's: the LAN host sees who connects.
      expect(verdict.source).toEqual({ address: '203.0.113.77', port: 51000 });
    }
  });

  it.each(MODES)('%s mode: every port of a forwarded range goes to the same port of the host, for TCP and UDP', (mode) => {
    const desired = desiredFor(set, mode, { forwards: [ssh, game] });
    const { ruleset, env } = setup(desired, ROUTER_CONF);
    for (let port = game.ports[0]; port <= game.ports[1]; port++) {
      for (const proto of ['tcp', 'udp']) {
        const verdict = evaluate(ruleset, inbound(desired, port, { proto }), env);
        expect(verdict.action).toBe('pass');
        expect(verdict.destination).toEqual({ address: '192.168.1.20', port });
      }
    }
    // ssh is TCP only: a UDP datagram to its port is not forwarded, and the admin's block decides.
    const udp = evaluate(ruleset, inbound(desired, ssh.ports[0], { proto: 'udp' }), env);
    expect(udp).toMatchObject({ action: 'block', rule: { text: 'block in on egress' } });
    expect(udp.destination.address).toBe(formatIpv4(desired.ipv4));
  });

  it.each(MODES)('%s mode: the admin block rules still apply to traffic that is not forwarded', (mode) => {
    const desired = desiredFor(set, mode, { forwards: [ssh, game] });
    const { ruleset, env } = setup(desired, ROUTER_CONF);
    const portBeside = ssh.ports[0] + 1;
    for (const packet of [inbound(desired, portBeside), inbound(desired, 6000), inbound(desired, game.ports[1] + 1, { proto: 'udp' })]) {
      const verdict = evaluate(ruleset, packet, env);
      expect(verdict).toMatchObject({ action: 'block', rule: { text: 'block in on egress' } });
      expect(verdict.destination).toEqual({ address: formatIpv4(desired.ipv4), port: packet.dstPort });
    }
    // A forward's ACK without SYN is no new connection (flags S/SA): only its state passes it.
    expect(evaluate(ruleset, inbound(desired, ssh.ports[0], { tcpFlags: 'A' }), env).action).toBe('block');
    // The admin's rules before the anchor see forwarded traffic first: a quick block there wins.
    const banned = adminPfConf({ before: 'block in quick on gif0 inet from 203.0.113.0/24', after: 'block in on egress' });
    const { ruleset: strict } = setup(desired, banned);
    expect(evaluate(strict, inbound(desired, ssh.ports[0]), env)).toMatchObject({ action: 'block', rule: { ruleset: 'main', quick: true } });
    expect(evaluate(strict, inbound(desired, ssh.ports[0], { src: '198.51.100.9' }), env).destination.address).toBe('192.168.1.10');
  });

  it.each(MODES)('%s mode: the redirected packet leaves on the LAN untouched by the anchor, as the admin decides', (mode) => {
    const desired = desiredFor(set, mode, { forwards: [ssh] });
    const { ruleset, env } = setup(desired, ROUTER_CONF);
    const onLan = evaluate(ruleset, { ...inbound(desired, 22), dir: 'out', ifname: 'em1', dst: '192.168.1.10' }, env);
    expect(onLan).toMatchObject({ action: 'pass', translations: 0, rule: { ruleset: 'main', text: 'pass' } });
  });

  it('stock mode: a LAN connection never gets a forwarded port, and every other port of the set stays usable', () => {
    const desired = desiredFor(set, 'stock', { forwards: [ssh, game] });
    const { ruleset, env } = setup(desired);
    const forwarded = new Set<number>();
    for (const f of [ssh, game]) for (let p = f.ports[0]; p <= f.ports[1]; p++) forwarded.add(p);
    // The pools a LAN SYN can draw, all of them: together the whole set but the forwarded ports.
    const pooled = new Set<number>();
    for (const { verdict } of outcomes(ruleset, tcpOut('192.168.1.23'), env)) {
      for (let port = verdict.nat!.low; port <= verdict.nat!.high; port++) pooled.add(port);
    }
    const whole = portSetFor([desired.psidOffset, desired.psidLen, desired.psid]);
    expect([...pooled].sort((x, y) => x - y)).toEqual(whole.filter((port) => !forwarded.has(port)));
    // Connections to one destination as pf_get_sport picks their ports: never a forwarded one.
    const states = new StateTable();
    const address = formatIpv4(desired.ipv4);
    let passed = 0;
    for (let i = 0; i < whole.length; i++) {
      const verdict = evaluate(ruleset, tcpOut('192.168.1.23', { srcPort: 20000 + i }), { ...env, ports: states });
      // A drawn range that is full fails the packet (PFRES_TRANSLATE); pf does not try another.
      if (verdict.action !== 'pass') continue;
      passed++;
      expect(forwarded.has(verdict.source.port!)).toBe(false);
      states.insert('tcp', address, verdict.source.port!, '198.51.100.7', 443);
    }
    expect(passed).toBeGreaterThan(whole.length / 2);
  });

  it('kernel mode: map-e-portset draws from the whole set, forwarded ports included (maped(8) CAVEATS)', () => {
    const desired = desiredFor(set, 'kernel', { forwards: [ssh] });
    expect(natRanges(desired)).toEqual(desired.portSets);
    const { ruleset, env } = setup(desired);
    const states = new StateTable();
    const address = formatIpv4(desired.ipv4);
    const size = portSetFor([desired.psidOffset, desired.psidLen, desired.psid]).length;
    const used = new Set<number>();
    for (let i = 0; i < size; i++) {
      const port = evaluate(ruleset, tcpOut('192.168.1.23', { srcPort: 20000 + i }), { ...env, ports: states }).source.port!;
      used.add(port);
      states.insert('tcp', address, port, '198.51.100.7', 443);
    }
    // Toward one destination the forwarded port is taken too; a state of another remote end never blocks it.
    expect(used.has(ssh.ports[0])).toBe(true);
  });
});

describe('a forward outside the port set, and DS-Lite', () => {
  const set = PARAMETER_SETS[1]!;

  it('a forward of a port outside the set gets no rule: the packet is not redirected', () => {
    const outside: ForwardSpec = { proto: 'tcp', ports: [80, 80], to: host('192.168.1.10'), toPort: null };
    const desired = desiredFor(set, 'stock', { forwards: [outside] });
    expect(desired.forwards).toEqual([]);
    const { ruleset, env } = setup(desired, ROUTER_CONF);
    expect(evaluate(ruleset, inbound(desired, 80), env)).toMatchObject({ action: 'block', destination: { port: 80 } });
  });

  it('DS-Lite: nothing to forward from, no rule', () => {
    const { ssh } = forwardsFor(set);
    const desired = desiredFor(set, 'stock', { forwards: [ssh], nat: 'none', softwire: 'dslite' });
    expect(desired.portset).toBe('none');
    expect(desired.forwards).toEqual([]);
  });
});

describe('the pf model redirects as pf_get_transaddr does', () => {
  const desired = desiredFor(PARAMETER_SETS[0]!, 'stock');
  const env = { interfaces: interfacesFor(desired) };
  const to = formatIpv4(desired.ipv4);

  it('one port to one port; a range by its offset from the rule\'s first port; p:* as wide as the rule\'s range', () => {
    const rules = [
      'pass in quick on gif0 inet proto tcp from any to (gif0) port = 1000 rdr-to 192.168.1.10 port 22',
      'pass in quick on gif0 inet proto tcp from any to (gif0) port 2000:2003 rdr-to 192.168.1.11 port 3000:3003',
      'pass in quick on gif0 inet proto tcp from any to (gif0) port 4000:4003 rdr-to 192.168.1.12 port 5000:*',
      'pass in quick on gif0 inet proto tcp from any to (gif0) port 6000:6003 rdr-to 192.168.1.13',
      'pass in quick on gif0 inet proto tcp from any to (gif0) port 7000:7003 rdr-to 192.168.1.14 port 8000:8001',
    ].join('\n');
    const ruleset = parseRuleset('block\nanchor "x"', { x: rules });
    const at = (port: number) => evaluate(ruleset, { dir: 'in', ifname: 'gif0', af: 'inet', proto: 'tcp', src: '203.0.113.7', dst: to, srcPort: 40000, dstPort: port }, env).destination;
    expect(at(1000)).toEqual({ address: '192.168.1.10', port: 22 });
    expect(at(2002)).toEqual({ address: '192.168.1.11', port: 3002 });
    expect(at(4003)).toEqual({ address: '192.168.1.12', port: 5003 });
    expect(at(6001)).toEqual({ address: '192.168.1.13', port: 6001 });
    // ((ndport − dst.port[0]) % div) + proxy_port[0]: a shorter target range wraps.
    expect(at(7003)).toEqual({ address: '192.168.1.14', port: 8001 });
  });

  it('a match rule redirects at once: later rules test the translated destination', () => {
    const ruleset = parseRuleset(['block', 'match in on gif0 inet proto tcp to (gif0) port 1000 rdr-to 192.168.1.10 port 22', 'pass in on gif0 inet proto tcp to 192.168.1.10 port 22 tag seen'].join('\n'));
    const verdict = evaluate(ruleset, { dir: 'in', ifname: 'gif0', af: 'inet', proto: 'tcp', src: '203.0.113.7', dst: to, srcPort: 40000, dstPort: 1000 }, env);
    expect(verdict).toMatchObject({ action: 'pass', tag: 'seen', destination: { address: '192.168.1.10', port: 22 } });
  });

  it('a pass rule redirects only when it decides: a later matching rule decides instead', () => {
    const ruleset = parseRuleset(['pass in on gif0 inet proto tcp to (gif0) port 1000 rdr-to 192.168.1.10 port 22', 'block in on gif0'].join('\n'));
    const verdict = evaluate(ruleset, { dir: 'in', ifname: 'gif0', af: 'inet', proto: 'tcp', src: '203.0.113.7', dst: to, srcPort: 40000, dstPort: 1000 }, env);
    expect(verdict).toMatchObject({ action: 'block', destination: { address: to, port: 1000 } });
  });

  it('refuses what pfctl refuses (parse.y rule_consistent)', () => {
    expect(() => parseRuleset('pass out on gif0 rdr-to 192.168.1.10')).toThrow(/rdr-to can only be used inbound/);
    expect(() => parseRuleset('pass in on gif0 no state rdr-to 192.168.1.10')).toThrow(/require keep state/);
  });
});
