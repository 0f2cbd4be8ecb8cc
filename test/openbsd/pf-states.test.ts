/**
 * `pfctl -ss -vv` listings (pf_print_state.c print_state) and the choice of
 * the states a change leaves stale.
 */
import { describe, expect, it } from 'vitest';
import { parseIpv4, parseIpv6, type PortRange } from '../../src/map/index.js';
import { parseStatesWithIds, parseStatesWithIdsYielding, staleStates, STATE_LINES_PER_TURN, type StateIdentity } from '../../src/openbsd/index.js';

const LISTING = `all tcp 192.0.2.18:1232 (192.168.1.23:40000) -> 198.51.100.7:443       ESTABLISHED:ESTABLISHED
   [1234567 + 65535](+1234) wscale 7  [7654321 + 65535](+4321) wscale 7
   age 00:01:02, expires in 23:59:58, 10:12 pkts, 1234:5678 bytes, rule 3
   id: 5f3a1b2c00000001 creatorid: 6fa5c2d1
all udp 192.0.2.18:40000 (192.168.1.23:40000) -> 198.51.100.53:53       MULTIPLE:SINGLE
   age 00:00:02, expires in 00:00:58, 1:1 pkts, 60:120 bytes, rule 3
   id: 5f3a1b2c00000002 creatorid: 6fa5c2d1
all tcp 192.0.2.18:22 <- 198.51.100.7:51000       ESTABLISHED:ESTABLISHED
   age 00:10:00, expires in 23:50:00, 100:90 pkts, 9000:8000 bytes, rule 1
   id: 5f3a1b2c00000003 creatorid: 6fa5c2d1
all ipencap 2001:db8:12:3400:0:c000:212:34 -> 2001:db8:ffff::1       MULTIPLE:MULTIPLE
   age 00:01:02, expires in 00:00:58, 10:12 pkts, 1234:5678 bytes, rule 7
   id: 5f3a1b2c00000004 creatorid: 6fa5c2d1
all tcp 192.168.1.1:22 <- 192.168.1.23:50000       ESTABLISHED:ESTABLISHED
   age 00:10:00, expires in 23:50:00, 100:90 pkts, 9000:8000 bytes, rule 1
   id: 5f3a1b2c00000005 creatorid: 6fa5c2d1
all tcp 2001:db8:12:3400::1[22] <- 2001:db8:99::5[50000]       ESTABLISHED:ESTABLISHED
   id: 5f3a1b2c00000006 creatorid: 6fa5c2d1
`;

const v4 = (t: string): number => {
  const r = parseIpv4(t);
  if (!r.ok) throw new Error(r.error);
  return r.value;
};
const v6 = (t: string): bigint => {
  const r = parseIpv6(t);
  if (!r.ok) throw new Error(r.error);
  return r.value;
};

const RANGES: PortRange[] = [
  [1232, 1235],
  [2256, 2259],
];
const previous: StateIdentity = { ipv4: v4('192.0.2.18'), portSets: RANGES, ceIPv6: v6('2001:db8:12:3400:0:c000:212:34'), br: v6('2001:db8:ffff::1') };

describe('pfctl -ss -vv', () => {
  it('reads each state with its id, direction and both forms of the local side', () => {
    const states = parseStatesWithIds(LISTING);
    expect(states.map((s) => s.id)).toEqual([1, 2, 3, 4, 5, 6].map((n) => `5f3a1b2c0000000${n}`));
    expect(states[0]).toEqual({
      id: '5f3a1b2c00000001',
      proto: 'tcp',
      direction: 'out',
      local: { address: '192.0.2.18', port: 1232 },
      localOther: { address: '192.168.1.23', port: 40000 },
      remote: { address: '198.51.100.7', port: 443 },
    });
    expect(states[2]).toMatchObject({ direction: 'in', local: { address: '192.0.2.18', port: 22 }, localOther: null });
    expect(states[3]).toMatchObject({ proto: 'ipencap', local: { address: '2001:db8:12:3400:0:c000:212:34', port: null } });
    expect(states[5]).toMatchObject({ local: { address: '2001:db8:12:3400::1', port: 22 }, remote: { port: 50000 } });
  });

  it('skips what it does not understand', () => {
    expect(parseStatesWithIds('garbage\n   id: zz\nall tcp nonsense -> x\n   id: 5f3a1b2c00000009 creatorid: 6fa5c2d1\n')).toEqual([]);
  });
});

describe('stale states', () => {
  const states = parseStatesWithIds(LISTING);
  const ids = (picked: { id: string }[]): string[] => picked.map((s) => s.id.slice(-1));

  it('a new address: every state of the old one, the LAN-side ones kept', () => {
    expect(ids(staleStates(states, previous, { ...previous, ipv4: v4('192.0.2.19') }))).toEqual(['1', '2', '3']);
  });

  it('a new port set: only the states whose port left the set', () => {
    expect(ids(staleStates(states, previous, { ...previous, portSets: [[1232, 1235]] }))).toEqual(['2', '3']);
  });

  it('no port sharing any more: nothing of the same address is stale', () => {
    expect(ids(staleStates(states, previous, { ...previous, portSets: null }))).toEqual([]);
  });

  it('a new BR: the tunnel state only', () => {
    expect(ids(staleStates(states, previous, { ...previous, br: v6('2001:db8:ffff::2') }))).toEqual(['4']);
  });

  it('a teardown: every state of the address and the tunnel', () => {
    expect(ids(staleStates(states, previous, null))).toEqual(['1', '2', '3', '4']);
  });
});

describe('the apply\'s reading of a large listing', () => {
  it('gives the event loop a turn every few thousand lines, and the same states', async () => {
    const text = Array.from({ length: STATE_LINES_PER_TURN }, (_, i) =>
      [
        `all tcp 192.0.2.18:${5000 + (i % 4000)} (192.168.1.${i % 250}:${10000 + i}) -> 198.51.100.${i % 200}:443       ESTABLISHED:ESTABLISHED`,
        '   age 00:01:02, expires in 23:59:58, 10:12 pkts, 1234:5678 bytes, rule 3',
        `   id: ${i.toString(16).padStart(16, '0')} creatorid: 6fa5c2d1`,
      ].join('\n'),
    ).join('\n');
    let turns = 0;
    let done = false;
    const tick = (): void => {
      turns++;
      if (!done) setImmediate(tick);
    };
    setImmediate(tick);
    const states = await parseStatesWithIdsYielding(text);
    done = true;
    expect(turns).toBeGreaterThanOrEqual(2);
    expect(states).toEqual(parseStatesWithIds(text));
    expect(states).toHaveLength(STATE_LINES_PER_TURN);
  });
});
