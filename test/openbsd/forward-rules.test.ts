import { describe, expect, it } from 'vitest';
import { anchorMatches, anchorRules, natIdentity, natRanges, parsePfctlRules, renderAnchor, renderRule, type ForwardSpec } from '../../src/openbsd/index.js';
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

  it('with the kernel patch the port set stays whole (maped(8): map-e-portset and rdr-to)', () => {
    expect(natRanges(desiredFor(v6plus, 'kernel', { forwards: [inSet] }))).toEqual(desiredFor(v6plus, 'kernel').portSets);
  });
});
