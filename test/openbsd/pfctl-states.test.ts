import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { portSet } from '../../src/map/index.js';
import {
  MAX_UNRECOGNISED_KEPT,
  parsePfctlStates,
  parsePfctlStatesYielding,
  parseStateLine,
  portUsage,
  STATE_LINES_PER_TURN,
  usageCrossing,
  TOP_HOSTS,
  type PfState,
} from '../../src/openbsd/index.js';

const fixture = (name: string): string => readFileSync(new URL(`fixtures/${name}`, import.meta.url), 'utf8');

describe('pfctl -ss parser (pf_print_state.c print_state)', () => {
  it('reads an outbound NAT state: wire side first, the stack side in parentheses', () => {
    const s = parseStateLine('all tcp 106.72.50.81:5700 (192.168.1.10:51234) -> 93.184.216.34:443       ESTABLISHED:ESTABLISHED');
    expect(s).toEqual({
      ifname: 'all',
      proto: 'tcp',
      direction: 'out',
      localWire: { address: '106.72.50.81', port: 5700, rdomain: 0 },
      localStack: { address: '192.168.1.10', port: 51234, rdomain: 0 },
      peerWire: { address: '93.184.216.34', port: 443, rdomain: 0 },
      peerStack: { address: '93.184.216.34', port: 443, rdomain: 0 },
      states: 'ESTABLISHED:ESTABLISHED',
    });
  });

  it('reads an inbound rdr-to state: the stack side first, the wire side in parentheses', () => {
    const s = parseStateLine('all tcp 192.168.1.10:22 (192.0.2.18:5000) <- 198.51.100.7:40001       ESTABLISHED:ESTABLISHED');
    expect(s?.direction).toBe('in');
    expect(s?.localWire).toEqual({ address: '192.0.2.18', port: 5000, rdomain: 0 });
    expect(s?.localStack).toEqual({ address: '192.168.1.10', port: 22, rdomain: 0 });
    expect(s?.peerWire).toEqual({ address: '198.51.100.7', port: 40001, rdomain: 0 });
  });

  it('reads IPv6 ports in brackets, bound interfaces, protocols without ports and routing domains', () => {
    const v6 = parseStateLine('em0 tcp 2001:db8:12:3400::1[22] <- 2001:db8:5::9[50000]       ESTABLISHED:ESTABLISHED');
    expect(v6).toMatchObject({ ifname: 'em0', localWire: { address: '2001:db8:12:3400::1', port: 22 }, peerWire: { port: 50000 } });
    const encap = parseStateLine('all ipencap 2001:db8:12:3400:0:c000:212:34 -> 2001:db8:ffff::1       MULTIPLE:MULTIPLE');
    expect(encap).toMatchObject({ proto: 'ipencap', localWire: { address: '2001:db8:12:3400:0:c000:212:34', port: 0 } });
    const rdomain = parseStateLine('all tcp (1) 10.0.0.1:5703 ((1) 10.1.0.5:45000) -> 10.0.0.2:80       FIN_WAIT_2:FIN_WAIT_2');
    expect(rdomain).toMatchObject({ localWire: { address: '10.0.0.1', port: 5703, rdomain: 1 }, localStack: { address: '10.1.0.5', rdomain: 1 } });
    const routed = parseStateLine('all tcp 192.0.2.18:5704 (192.168.1.9:1000) {192.0.2.1} -> 8.8.4.4:853       ESTABLISHED:ESTABLISHED');
    expect(routed).toMatchObject({ localWire: { port: 5704 }, localStack: { address: '192.168.1.9' }, peerWire: { address: '8.8.4.4' } });
  });

  it('refuses lines of other forms and impossible values', () => {
    for (const line of [
      'No ALTQ support in kernel',
      'all tcp 192.0.2.300:5700 -> 93.184.216.34:443       ESTABLISHED:ESTABLISHED',
      'all tcp 192.0.2.1:70000 -> 93.184.216.34:443       ESTABLISHED:ESTABLISHED',
      'all tcp 192.0.2.1[22] -> 2001:db8::2[80]       ESTABLISHED:ESTABLISHED',
      'all tcp 192.0.2.1:1 => 93.184.216.34:443       ESTABLISHED:ESTABLISHED',
      'all tcp 192.0.2.1:1 -> 93.184.216.34:443',
    ]) {
      expect(parseStateLine(line), line).toBeNull();
    }
  });

  it('reads the same states from -ss and -vvss, with the ids of -vv', () => {
    const brief = parsePfctlStates(fixture('pfctl-ss.txt'));
    const verbose = parsePfctlStates(fixture('pfctl-vvss.txt'));
    expect(brief.unrecognised).toEqual([]);
    expect(verbose.unrecognised).toEqual([]);
    expect(brief.states).toHaveLength(12);
    expect(verbose.states.map(({ id: _id, creatorId: _c, ...rest }) => rest)).toEqual(brief.states.map(({ id: _id, creatorId: _c, ...rest }) => rest));
    expect(brief.states.every((s) => s.id === null)).toBe(true);
    const ids = [0x12, 0x11, 0x13, 0x14, 0x15, 0x16, 0x17, 0x18, 0x19, 0x1a, 0x1b, 0x1c].map((n) => `65a1b2c3000000${n.toString(16)}`);
    expect(verbose.states.map((s) => s.id)).toEqual(ids);
    expect(verbose.states[0]!.creatorId).toBe('3c1f5e2a');
  });

  it('keeps an unknown line aside and goes on', () => {
    const listing = parsePfctlStates('all tcp 192.0.2.18:5700 -> 1.2.3.4:80       ESTABLISHED:ESTABLISHED\nsomething new\nall udp 192.0.2.18:5701 -> 1.2.3.4:53       SINGLE:NO_TRAFFIC\n');
    expect(listing.states.map((s) => s.localWire.port)).toEqual([5700, 5701]);
    expect(listing.unrecognised).toEqual(['something new']);
    expect(listing.unrecognisedCount).toBe(1);
  });

  it('keeps only the first ten unknown lines as examples, and counts them all', () => {
    const text = Array.from({ length: 5000 }, (_, i) => `not a state ${i}`).join('\n');
    const listing = parsePfctlStates(text);
    expect(listing.unrecognisedCount).toBe(5000);
    expect(listing.unrecognised).toEqual(Array.from({ length: MAX_UNRECOGNISED_KEPT }, (_, i) => `not a state ${i}`));
  });

  it('refuses dotted quads that are no address: an octet over 255, a leading zero', () => {
    for (const bad of ['192.0.2.256', '192.0.02.18', '300.1.1.1']) {
      expect(parseStateLine(`all tcp ${bad}:5700 -> 1.2.3.4:80       ESTABLISHED:ESTABLISHED`)).toBeNull();
    }
    expect(parseStateLine('all tcp 0.0.0.0:5700 -> 255.255.255.255:80       ESTABLISHED:ESTABLISHED')).not.toBeNull();
  });

  it('the daemon\'s parse gives the event loop a turn every few thousand lines, and the same listing', async () => {
    const text = Array.from({ length: 3 * STATE_LINES_PER_TURN }, (_, i) =>
      `all tcp 192.0.2.18:${5000 + (i % 4000)} (192.168.1.${i % 250}:${10000 + i}) -> 198.51.100.${i % 200}:443       ESTABLISHED:ESTABLISHED\n   id: ${i.toString(16).padStart(16, '0')} creatorid: 3c1f5e2a`,
    ).join('\n');
    let turns = 0;
    const tick = (): void => {
      turns++;
      if (!done) setImmediate(tick);
    };
    let done = false;
    setImmediate(tick);
    const listing = await parsePfctlStatesYielding(text);
    done = true;
    expect(turns).toBeGreaterThanOrEqual(2);
    expect(listing).toEqual(parsePfctlStates(text));
    expect(listing.states).toHaveLength(3 * STATE_LINES_PER_TURN);
    expect(listing.states.at(-1)!.id).toBe((3 * STATE_LINES_PER_TURN - 1).toString(16).padStart(16, '0'));
  });
});

const state = (localWire: string, localStack: string | null, proto = 'tcp', direction: 'in' | 'out' = 'out'): PfState => {
  const host = (text: string): PfState['localWire'] => {
    const [address, port] = text.split(':');
    return { address: address!, port: Number(port), rdomain: 0 };
  };
  const peer = host('203.0.113.5:443');
  return {
    ifname: 'all',
    proto,
    direction,
    localWire: host(localWire),
    localStack: host(localStack ?? localWire),
    peerWire: peer,
    peerStack: peer,
    states: 'ESTABLISHED:ESTABLISHED',
    id: null,
    creatorId: null,
  };
};

describe('port usage', () => {
  // v6plus-like: psid-offset 4, psid-len 8, psid 0x12: 15 blocks of 16 ports.
  const set = portSet(4, 8, 0x12);
  const [first, second] = set.ranges;

  it('counts distinct wire ports of the MAP address per range and in total, from the fixture', () => {
    const states = parsePfctlStates(fixture('pfctl-ss.txt')).states;
    const usage = portUsage(states, '192.0.2.18', [[5696, 5711], [9984, 9999]]);
    // 5700 (tcp), 5701 (udp, two states), 5702 (router), 9990 (tcp); 5000 is outside these ranges; icmp never counts.
    expect(usage.inUse).toBe(4);
    expect(usage.total).toBe(32);
    expect(usage.ranges).toEqual([
      { first: 5696, last: 5711, inUse: 3 },
      { first: 9984, last: 9999, inUse: 1 },
    ]);
    expect(usage.top).toEqual([
      { host: '192.168.1.10', ports: 2 },
      { host: '192.0.2.18', ports: 1 },
      { host: '192.168.1.11', ports: 1 },
    ]);
  });

  it('counts a forwarded port held by an inbound state for the inside host', () => {
    const usage = portUsage([state('192.0.2.18:5000', '192.168.1.10:22', 'tcp', 'in')], '192.0.2.18', [[4992, 5007]]);
    expect(usage.inUse).toBe(1);
    expect(usage.top).toEqual([{ host: '192.168.1.10', ports: 1 }]);
  });

  it('ignores other addresses, ports outside the set and ICMP ids', () => {
    const inside = first![0];
    const usage = portUsage(
      [
        state(`192.0.2.19:${inside}`, '192.168.1.2:1000'),
        state('192.0.2.18:50001', '192.168.1.2:1001'),
        state(`192.0.2.18:${inside}`, '192.168.1.2:1002', 'icmp'),
        state(`192.0.2.18:${second![1]}`, '192.168.1.2:1003', 'udp'),
      ],
      '192.0.2.18',
      set.ranges,
    );
    expect(usage.total).toBe(240);
    expect(usage.inUse).toBe(1);
    expect(usage.ranges[1]).toEqual({ first: second![0], last: second![1], inUse: 1 });
    expect(usage.ranges.filter((r) => r.inUse > 0)).toHaveLength(1);
  });

  it('ranks hosts by ports held and keeps the first ten', () => {
    const states: PfState[] = [];
    let port = first![0];
    const ports = set.ranges.flatMap(([a, b]) => Array.from({ length: b - a + 1 }, (_, i) => a + i));
    for (let h = 1; h <= 12; h++) {
      for (let n = 0; n < h; n++) states.push(state(`192.0.2.18:${ports[port++ - first![0]]}`, `192.168.1.${h}:${2000 + n}`));
    }
    const usage = portUsage(states, '192.0.2.18', set.ranges);
    expect(usage.inUse).toBe(78);
    expect(usage.top).toHaveLength(TOP_HOSTS);
    expect(usage.top[0]).toEqual({ host: '192.168.1.12', ports: 12 });
    expect(usage.top.at(-1)).toEqual({ host: '192.168.1.3', ports: 3 });
    expect(usage.ranges.reduce((n, r) => n + r.inUse, 0)).toBe(usage.inUse);
  });

  it('warns once when usage crosses 80 % upwards, again only after falling back', () => {
    let above = false;
    const warnings: number[] = [];
    for (const inUse of [100, 192, 193, 240, 200, 150, 230, 239]) {
      const step = usageCrossing(above, { inUse, total: 240 });
      if (step.warn) warnings.push(inUse);
      above = step.above;
    }
    expect(warnings).toEqual([193, 230]);
    expect(usageCrossing(false, { inUse: 0, total: 0 })).toEqual({ above: false, warn: false });
  });
});
