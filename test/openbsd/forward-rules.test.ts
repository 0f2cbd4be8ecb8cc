import { describe, expect, it } from 'vitest';
import { parseIpv4Prefix, parseIpv6, parseIpv6Prefix } from '../../src/map/index.js';
import {
  anchorMatches,
  anchorRules,
  desiredState,
  forwardScope,
  forwardStates,
  natIdentity,
  natRanges,
  parsePfctlRules,
  renderAnchor,
  renderRule,
  softwireInput,
  type ForwardSpec,
} from '../../src/openbsd/index.js';
import { dsliteSoftwire, ipipSoftwire, lw4o6Softwire } from '../../src/softwire/index.js';
import { deriveSet, desiredFor, PARAMETER_SETS } from './parameter-sets.js';

const HOST = 0xc0a8010a; // 192.168.1.10
const v6plus = PARAMETER_SETS[1]!;
const ranges = deriveSet(v6plus).portSets;
const [r1, r2] = [ranges[0]!, ranges[1]!];
const inSet: ForwardSpec = { proto: 'tcp', ports: [r1[0] + 2, r1[0] + 2], to: HOST, toPort: 22 };
const rangeInSet: ForwardSpec = { proto: 'tcp-udp', ports: [r2[0], r2[0] + 3], to: HOST + 1, toPort: null };
const outside: ForwardSpec = { proto: 'udp', ports: [80, 80], to: HOST, toPort: null };

const forwardLines = (text: string): string[] => text.split('\n').filter((l) => l.includes('rdr-to'));

describe('forward rules in the anchor', () => {
  it.each(['kernel', 'stock'] as const)('%s mode: one quick pass … rdr-to per protocol of each forward in the set, none for a port outside', (mode) => {
    const desired = desiredFor(v6plus, mode, { forwards: [inSet, rangeInSet, outside] });
    expect(desired.forwards).toEqual([inSet, rangeInSet]);
    expect(forwardLines(renderAnchor(desired))).toEqual([
      `pass in quick on gif0 inet proto tcp from any to (gif0) port = ${r1[0] + 2} flags S/SA label "maped" rdr-to 192.168.1.10 port 22`,
      `pass in quick on gif0 inet proto tcp from any to (gif0) port ${r2[0]}:${r2[0] + 3} flags S/SA label "maped" rdr-to 192.168.1.11 port ${r2[0]}:${r2[0] + 3}`,
      `pass in quick on gif0 inet proto udp from any to (gif0) port ${r2[0]}:${r2[0] + 3} label "maped" rdr-to 192.168.1.11 port ${r2[0]}:${r2[0] + 3}`,
    ]);
  });

  it('without port sharing every port can be forwarded', () => {
    const desired = desiredFor(PARAMETER_SETS[2]!, 'unrestricted', { forwards: [outside] });
    expect(forwardLines(renderAnchor(desired))).toEqual([
      'pass in quick on gif0 inet proto udp from any to (gif0) port = 80 label "maped" rdr-to 192.168.1.10 port 80',
    ]);
  });

  it('come after the MSS clamp (quick ends the evaluation) and before the NAT rules', () => {
    const rules = anchorRules(desiredFor(v6plus, 'stock', { forwards: [inSet] }));
    const mss = rules.findIndex((r) => r.maxMss !== null);
    const forward = rules.findIndex((r) => r.rdrTo !== null);
    const nat = rules.findIndex((r) => r.natTo !== null);
    expect(mss).toBeGreaterThanOrEqual(0);
    expect(mss).toBeLessThan(forward);
    expect(forward).toBeLessThan(nat);
  });

  it('read back as pfctl prints them, they are the rules maped wrote', () => {
    const desired = desiredFor(v6plus, 'kernel', { forwards: [inSet, rangeInSet] });
    const printed = anchorRules(desired).map(renderRule).join('\n');
    expect(anchorMatches(anchorRules(desired), parsePfctlRules(printed).rules)).toBe(true);
    const other = desiredFor(v6plus, 'kernel', { forwards: [{ ...inSet, toPort: 2222 }, rangeInSet] });
    expect(anchorMatches(anchorRules(other), parsePfctlRules(printed).rules)).toBe(false);
  });
});

describe('stock mode NAT around forwarded ports', () => {
  it('splits the affected ranges so outbound NAT never hands out a forwarded port', () => {
    const plain = desiredFor(v6plus, 'stock');
    const forwarded = desiredFor(v6plus, 'stock', { forwards: [inSet, rangeInSet, outside] });
    const port = inSet.ports[0];
    expect(natRanges(forwarded)).toEqual([[r1[0], port - 1], [port + 1, r1[1]], [r2[0] + 4, r2[1]], ...natRanges(plain).slice(2)]);
    // The port set itself, and so what decides which states die, stays whole.
    expect(forwarded.portSets).toEqual(plain.portSets);
    expect(natIdentity(forwarded)).toBe(natIdentity(plain));
    const natPorts = anchorRules(forwarded).flatMap((r) => (r.natTo?.ports ? [r.natTo.ports] : []));
    for (const [lo, hi] of natPorts) {
      expect(port < lo || port > hi).toBe(true);
      expect(hi < rangeInSet.ports[0] || lo > rangeInSet.ports[1]).toBe(true);
    }
  });

  it('forwards that take every port of the set leave stock NAT nothing: refused, the last good state stays', () => {
    const set = deriveSet(v6plus).portSets.filter(([first]) => first > 0);
    const everything: ForwardSpec[] = set.map(([first, last]) => ({ proto: 'udp', ports: [first, last], to: HOST, toPort: null }));
    const br = parseIpv6(v6plus.br);
    if (!br.ok) throw new Error(br.error);
    const input = { wan: 'em0', tunnel: 'gif0', mtu: 1460, wanMtu: 1500, map: deriveSet(v6plus), br: br.value, natFrom: [], anchor: 'maped', forwards: everything };
    expect(desiredState({ ...input, portset: 'stock' })).toEqual({ ok: false, error: 'the forwards take every port of the set: none is left for outbound NAT' });
    expect(desiredState({ ...input, portset: 'kernel' }).ok).toBe(true);
  });

  it('with the kernel patch the port set stays whole (maped(8): map-e-portset and rdr-to)', () => {
    expect(natRanges(desiredFor(v6plus, 'kernel', { forwards: [inSet] }))).toEqual(desiredFor(v6plus, 'kernel').portSets);
  });
});

describe('forwards for every softwire kind with a NAT of its own', () => {
  const v6 = (text: string): bigint => {
    const r = parseIpv6(text);
    if (!r.ok) throw new Error(r.error);
    return r.value;
  };
  const must = <T>(r: { ok: true; value: T } | { ok: false; error: string }): T => {
    if (!r.ok) throw new Error(r.error);
    return r.value;
  };
  const prefix = (text: string) => must(parseIpv6Prefix(text));
  // lw4o6 psid 3/8 offset 6 (RFC 7596): ports A·1024 + 12 … + 15; 1036 is one of them, 80 is not.
  const lw4o6 = must(lw4o6Softwire({ ipv4: 0xcb007110, psidOffset: 6, psidLen: 8, psid: 3, bindPrefix: null, aftr: v6('2001:db8:ffff::2') }, prefix('2001:db8:3:100::/56'), 'static'));
  const ipip = must(ipipSoftwire({ local: v6('2001:db8:7:100::7'), remote: v6('2001:db8:7::1'), ipv4: must(parseIpv4Prefix('203.0.113.1/32')) }, 'static'));
  const dslite = must(dsliteSoftwire({ aftr: v6('2001:db8:ffff::2'), aftrName: null }, prefix('2001:db8:aa:bb00::/56'), 'static'));
  const forwards: ForwardSpec[] = [
    { proto: 'tcp', ports: [1036, 1036], to: HOST, toPort: 22 },
    { proto: 'udp', ports: [80, 80], to: HOST, toPort: null },
  ];

  it.each([
    ['lw4o6', lw4o6, [true, false]],
    ['ipip', ipip, [true, true]],
    ['dslite', dslite, [false, false]],
  ] as const)('%s: the anchor redirects exactly the forwards status shows in force', (_name, softwire, active) => {
    for (const portset of ['kernel', 'stock'] as const) {
      const desired = must(desiredState({ wan: 'em0', tunnel: 'gif0', mtu: 1460, wanMtu: 1500, ...softwireInput(softwire), natFrom: [], anchor: 'maped', portset, forwards }));
      // Status (the engine) judges from the softwire, the anchor from the desired state: they agree.
      const shown = forwardStates(forwards, forwardScope(softwire.nat, softwire.kind));
      expect(shown.map((s) => s.active)).toEqual(active);
      expect(desired.forwards).toEqual(shown.filter((s) => s.active).map((s) => s.forward));
      const redirects = forwardLines(renderAnchor(desired));
      expect(redirects).toHaveLength(desired.forwards.length);
      if (active[0]) expect(redirects[0]).toBe('pass in quick on gif0 inet proto tcp from any to (gif0) port = 1036 flags S/SA label "maped" rdr-to 192.168.1.10 port 22');
    }
  });
});
