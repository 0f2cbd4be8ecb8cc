import { describe, expect, it } from 'vitest';
import { portSet } from '../../src/map/index.js';
import { describeForward, forwardScope, forwardStates, rangesWithout, type ForwardScope, type ForwardSpec } from '../../src/openbsd/index.js';

const HOST = 0xc0a8010a; // 192.168.1.10
const forward = (ports: [number, number], proto: ForwardSpec['proto'] = 'tcp', toPort: number | null = null): ForwardSpec => ({ proto, ports, to: HOST, toPort });

// RFC 7597 Appendix A example: psid 52/8 offset 6, ranges A·1024 + 208 … + 211.
const portsetNat = (psid: number) => ({ into: 'portset', psidOffset: 6, psidLen: 8, psid, portSets: portSet(6, 8, psid).ranges }) as const;
const psid52: ForwardScope = forwardScope(portsetNat(52), 'map-e');
const psid53: ForwardScope = forwardScope(portsetNat(53), 'map-e');

describe('forward states', () => {
  it('a forward inside the port set is active; one outside says which port and which set', () => {
    const states = forwardStates([forward([1233, 1233]), forward([80, 80]), forward([2256, 2259], 'udp')], psid52);
    expect(states.map((s) => [s.active, s.reason])).toEqual([
      [true, null],
      [false, 'port 80 is not in the port set (psid 52/8 offset 6)'],
      [true, null],
    ]);
  });

  it('a range is active only when every port is in the set, and the first port outside is named', () => {
    const [state] = forwardStates([forward([1234, 1237])], psid52);
    expect(state).toMatchObject({ active: false, reason: 'port 1236 is not in the port set (psid 52/8 offset 6)' });
    const [across] = forwardStates([forward([1232, 2256])], psid52);
    expect(across?.reason).toBe('port 1236 is not in the port set (psid 52/8 offset 6)');
    const [beyond] = forwardStates([forward([64723, 64724])], psid52);
    expect(beyond?.reason).toBe('port 64724 is not in the port set (psid 52/8 offset 6)');
  });

  it('a mapping change moves a forward from active to inactive and back', () => {
    const forwards = [forward([1233, 1233])];
    const scopes = [psid52, psid53, forwardScope(null, null), psid52];
    const verdicts = scopes.map((scope) => forwardStates(forwards, scope)[0]);
    expect(verdicts.map((v) => v?.active)).toEqual([true, false, false, true]);
    expect(verdicts[1]?.reason).toBe('port 1233 is not in the port set (psid 53/8 offset 6)');
    expect(verdicts[2]?.reason).toBe('no softwire is active');
  });

  it('without port sharing (IPIP, psid-len 0) every port can be forwarded', () => {
    const whole = forwardScope({ into: 'address' }, 'ipip');
    expect(forwardStates([forward([1, 1]), forward([80, 80]), forward([1, 65535])], whole).every((s) => s.active)).toBe(true);
  });

  it('DS-Lite has no address of its own: every forward is inactive, saying why', () => {
    const states = forwardStates([forward([1233, 1233]), forward([80, 80], 'udp')], forwardScope({ into: 'none' }, 'dslite'));
    expect(states.map((s) => [s.active, s.reason])).toEqual([
      [false, 'dslite has no IPv4 address of its own to forward from (the AFTR translates)'],
      [false, 'dslite has no IPv4 address of its own to forward from (the AFTR translates)'],
    ]);
  });

  it('is described as in the configuration', () => {
    expect(describeForward(forward([5000, 5009], 'tcp-udp'))).toBe('tcp-udp port 5000:5009 to 192.168.1.10');
    expect(describeForward(forward([5000, 5000], 'tcp', 22))).toBe('tcp port 5000 to 192.168.1.10 port 22');
  });
});

describe('rangesWithout: what stock NAT may still hand out', () => {
  it('splits a range around a forwarded port and a forwarded range', () => {
    expect(rangesWithout([[1232, 1235], [2256, 2259]], [[1233, 1233]])).toEqual([[1232, 1232], [1234, 1235], [2256, 2259]]);
    expect(rangesWithout([[4096, 4111]], [[4100, 4103], [4108, 4108]])).toEqual([[4096, 4099], [4104, 4107], [4109, 4111]]);
  });

  it('drops a range the forwards cover whole, and takes holes in any order, overlapping or not', () => {
    expect(rangesWithout([[1232, 1235], [2256, 2259]], [[2258, 2259], [1232, 1235], [2256, 2257]])).toEqual([]);
    expect(rangesWithout([[1, 100]], [[50, 60], [1, 10], [55, 70], [100, 100]])).toEqual([[11, 49], [71, 99]]);
  });

  it('keeps every port that no forward takes, and no other', () => {
    const ranges = portSet(4, 8, 0x12).ranges;
    const holes: [number, number][] = [[ranges[0]![0] + 3, ranges[0]![0] + 5], [ranges[7]![0], ranges[7]![1]], [ranges[14]![1], ranges[14]![1]]];
    const left = rangesWithout(ranges, holes);
    const count = (rs: readonly (readonly [number, number])[]): number => rs.reduce((n, [a, b]) => n + b - a + 1, 0);
    expect(count(left)).toBe(240 - 3 - 16 - 1);
    for (const [a, b] of left) for (const [lo, hi] of holes) expect(b < lo || a > hi).toBe(true);
    expect(left.every(([a, b], i) => a <= b && (i === 0 || left[i - 1]![1] < a))).toBe(true);
  });
});
