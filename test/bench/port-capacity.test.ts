/**
 * The port-capacity bench's models against what can be worked out by hand:
 * a single range holds exactly its size for one destination in both modes,
 * the kernel picker fails only with the set full, pf's range search walks
 * up then down from a random start and skips in_baddynamic() ports, and the
 * anchor maped loads, evaluated by the pf model, spreads connections evenly
 * over its ranges with the probabilities pfctl stores.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { portSet, type PortRange } from '../../src/map/index.js';
import { idealStoredProbability, probabilityTextFor } from '../../src/openbsd/index.js';
import { anchorNatChain } from '../../bench/port-capacity/anchor-outcomes.js';
import { BINS, runFigures } from '../../bench/port-capacity/figures.js';
import { compileKernelPicker, type KernelPicker } from '../../bench/port-capacity/kernel-picker.js';
import { NatStates } from '../../bench/port-capacity/nat-states.js';
import { Prng } from '../../bench/port-capacity/prng.js';
import { runStock } from '../../bench/port-capacity/simulate.js';
import { NO_PORT, searchRange, stockPick, type NatChain } from '../../bench/port-capacity/stock-model.js';
import { benchSets, stockAnchorText } from '../../bench/port-capacity/port-sets.js';
import { renderChart } from '../../bench/port-capacity/chart.js';
import { README_BEGIN, README_END, replaceReadmeTable } from '../../bench/port-capacity/report.js';
import { generateWorkload, type Workload } from '../../bench/port-capacity/workload.js';

/** `n` connections to destination 0 that never close. */
function fill(n: number, destinations = 1, limit = n): Workload {
  return { events: new Int32Array(n), arrivals: n, destinations, limit };
}

/** A chain that always searches the same ranges: what pf does with unconditional rules. */
function fixedChain(...ranges: PortRange[]): NatChain {
  return { natRanges: () => ranges };
}

const GIF = { tunnel: 'gif0', tunnelAddress: 0xc0000212, source: 0xc0a8010a };

let kernel: KernelPicker;
beforeAll(() => {
  kernel = compileKernelPicker();
});
afterAll(() => kernel?.close());

describe('one range: both modes carry exactly its size for one destination', () => {
  // a = 1 leaves one block: A = 1, ports 32768 + psid·16 + j (RFC 7597 §5.1).
  const [a, k, psid] = [1, 11, 5];
  const range = portSet(a, k, psid).ranges[0]!;

  it('the set is one range of 16 ports', () => {
    expect(portSet(a, k, psid).ranges).toHaveLength(1);
    expect(range[1] - range[0] + 1).toBe(16);
  });

  it('kernel: 16 distinct ports of the range, then -1', async () => {
    const outcomes = await kernel.run(fill(17), a, k, psid, 3);
    const given = [...outcomes.subarray(0, 16)];
    expect(new Set(given).size).toBe(16);
    for (const port of given) expect(port >= range[0] && port <= range[1], `port ${port}`).toBe(true);
    expect(outcomes[16]).toBe(-1);
  });

  it('stock: 16 distinct ports of the range, then NO_PORT', () => {
    const outcomes = runStock(fill(17), fixedChain(range), 3);
    const given = [...outcomes.subarray(0, 16)];
    expect(new Set(given).size).toBe(16);
    for (const port of given) expect(port >= range[0] && port <= range[1], `port ${port}`).toBe(true);
    expect(outcomes[16]).toBe(NO_PORT);
  });

  it('a second destination gets the whole range again (the state key holds the destination)', async () => {
    const events = Int32Array.from([...Array(16).fill(0), ...Array(16).fill(1), 0, 1]);
    const workload: Workload = { events, arrivals: 34, destinations: 2, limit: 32 };
    for (const outcomes of [await kernel.run(workload, a, k, psid, 5), runStock(workload, fixedChain(range), 5)]) {
      expect([...outcomes.subarray(0, 32)].every((port) => port >= range[0] && port <= range[1])).toBe(true);
      expect([...outcomes.subarray(32)]).toEqual([-1, -1]);
    }
  });

  it('a closed connection frees its port for the next one', async () => {
    // 16 opens, close the 6th, one more open: it must get exactly that port.
    const events = Int32Array.from([...Array(16).fill(0), -1 - 5, 0]);
    const workload: Workload = { events, arrivals: 17, destinations: 1, limit: 16 };
    for (const outcomes of [await kernel.run(workload, a, k, psid, 9), runStock(workload, fixedChain(range), 9)]) {
      expect(outcomes[16]).toBe(outcomes[5]);
    }
  });
});

describe('kernel mode (pf_mape_portset_pick from the patch)', () => {
  it.each([
    ['v6plus', 4, 8, 100],
    ['RFC 7597', 6, 8, 52],
  ])('%s, one destination, arrivals and closes: no connection fails while a port of the set is free', async (_name, a, k, psid) => {
    const size = portSet(a, k, psid).count;
    const workload = generateWorkload({ destinations: 1, limit: size, seed: 11 });
    const outcomes = await kernel.run(workload, a, k, psid, 12);
    const figures = runFigures(workload, outcomes, { a, k, psid, size });
    expect(figures.failed).toBe(true);
    expect(figures.inUseAtFailure).toBe(1);
    expect(figures.freeAtFailure).toBe(0);
    for (let bin = 0; bin < BINS; bin++) expect(figures.bins[bin]![1], `bin ${bin}`).toBe(0);
    // With the set full, every attempt fails.
    expect(figures.bins[BINS]![1]).toBe(figures.bins[BINS]![0]);
    expect(figures.bins[BINS]![0]).toBeGreaterThan(0);
  });
});

describe("stock pf's range search (pf_get_sport, pf_lb.c 1.76)", () => {
  it('goes up from a random start, then down: the start decides which free port is taken', () => {
    // Of 5000–5015 only 5003 and 5015 are free: a start at 5000–5003 (4 of 16) finds 5003
    // going up, a start at 5004–5015 finds 5015 going up.
    const states = new NatStates(1);
    for (let port = 5000; port <= 5014; port++) if (port !== 5003) states.add(0, port);
    const rng = new Prng(1);
    let low = 0;
    const draws = 16000;
    for (let i = 0; i < draws; i++) {
      const port = searchRange(states, 0, [5000, 5015], rng);
      expect([5003, 5015]).toContain(port);
      if (port === 5003) low++;
    }
    // 4000 expected, sd ≈ 55.
    expect(Math.abs(low - draws / 4)).toBeLessThan(300);
    // With 5015 taken too, a start above 5003 finds nothing going up and 5003 going down.
    states.add(0, 5015);
    for (let i = 0; i < 100; i++) expect(searchRange(states, 0, [5000, 5015], rng)).toBe(5003);
  });

  it('the first free port at or above the start is taken: starts are uniform over the range', () => {
    const states = new NatStates(1);
    const counts = new Map<number, number>();
    const rng = new Prng(2);
    for (let i = 0; i < 16000; i++) {
      const port = searchRange(states, 0, [4112, 4127], rng);
      counts.set(port, (counts.get(port) ?? 0) + 1);
    }
    expect(counts.size).toBe(16);
    // 1000 expected each; sd ≈ 31.
    for (const count of counts.values()) expect(Math.abs(count - 1000)).toBeLessThan(200);
  });

  it("skips in_baddynamic()'s TCP ports (6000–6010)", () => {
    const outcomes = runStock(fill(6), fixedChain([5998, 6011]), 4);
    const carried = [...outcomes].filter((port) => port !== NO_PORT).sort((x, y) => x - y);
    expect(carried).toEqual([5998, 5999, 6011]);
    expect([...outcomes].filter((port) => port === NO_PORT)).toHaveLength(3);
  });

  it('a one-port range is the port itself, or nothing', () => {
    const states = new NatStates(1);
    const rng = new Prng(3);
    expect(searchRange(states, 0, [7000, 7000], rng)).toBe(7000);
    states.add(0, 7000);
    expect(searchRange(states, 0, [7000, 7000], rng)).toBe(NO_PORT);
  });

  it('a connection fails when any range it is searched in is full, even if the last one has room', () => {
    // Range 1 holds 4 ports; every connection is searched in range 1 and then in range 2.
    const outcomes = runStock(fill(6), fixedChain([1232, 1235], [2256, 2259]), 6);
    // The first four take ports of range 2 (the last match decides), so range 1 never fills
    // and range 2 is what runs out: four carried, then failures.
    expect([...outcomes.subarray(0, 4)].every((port) => port >= 2256 && port <= 2259)).toBe(true);
    expect([...outcomes.subarray(4)]).toEqual([NO_PORT, NO_PORT]);
  });
});

describe('the anchor maped loads, evaluated by the pf model (test/support/pf-model)', () => {
  /** n `match` rules, rule i with the probability maped stores for 1/i (last match wins). */
  function probabilityChain(n: number, from: string): string {
    const lines = [];
    for (let i = 1; i <= n; i++) {
      const probability = i === 1 ? '' : ` probability ${probabilityTextFor(Number(idealStoredProbability(i)))}`;
      lines.push(`match out on gif0 inet from ${from} to any${probability} nat-to (gif0) port ${1000 * i}:${1000 * i + 15}`);
    }
    return lines.join('\n') + '\n';
  }

  it("maped's stock anchor for v6plus: every connection is searched in one range, each of the 15 with 1/15", () => {
    const set = benchSets().find((s) => s.name === 'v6plus')!;
    const lan = set.stock.natFrom[0]!;
    const chain = anchorNatChain(stockAnchorText(set), { tunnel: 'gif0', tunnelAddress: set.stock.ipv4, source: (lan.address + 10) >>> 0 });
    const rng = new Prng(7);
    const counts = new Map<string, number>();
    const draws = 60000;
    for (let i = 0; i < draws; i++) {
      const ranges = chain.natRanges(rng);
      expect(ranges).toHaveLength(1);
      const key = ranges[0]!.join(':');
      counts.set(key, (counts.get(key) ?? 0) + 1);
    }
    expect([...counts.keys()].sort()).toEqual(set.stock.portSets.map(([first, last]) => `${first}:${last}`).sort());
    // 4000 expected each, sd ≈ 62.
    for (const count of counts.values()) expect(Math.abs(count - draws / 15)).toBeLessThan(300);
  });

  it('a chain keyed on the translated source: each of n ranges decides 1/n, H_n ranges searched on average', () => {
    const n = 15;
    const chain = anchorNatChain(probabilityChain(n, '(gif0)'), { ...GIF, source: GIF.tunnelAddress });
    const rng = new Prng(8);
    const last = new Map<number, number>();
    let searched = 0;
    const draws = 60000;
    for (let i = 0; i < draws; i++) {
      const ranges = chain.natRanges(rng);
      searched += ranges.length;
      const decider = ranges[ranges.length - 1]![0];
      last.set(decider, (last.get(decider) ?? 0) + 1);
    }
    expect(last.size).toBe(n);
    for (const count of last.values()) expect(Math.abs(count - draws / n)).toBeLessThan(300);
    // Rule i matches with probability 1/i, each searched in its turn.
    const harmonic = Array.from({ length: n }, (_, i) => 1 / (i + 1)).reduce((x, y) => x + y);
    expect(searched / draws).toBeCloseTo(harmonic, 1);
  });

  it('a chain keyed on the inside source stops after its first rule: nat-to rewrites the source later rules see', () => {
    const chain = anchorNatChain(probabilityChain(15, '192.168.1.0/24'), GIF);
    const rng = new Prng(9);
    for (let i = 0; i < 1000; i++) expect(chain.natRanges(rng)).toEqual([[1000, 1015]]);
  });

  it('rules for other interfaces, families and directions are skipped; a nat-to without port searches 50001:65535', () => {
    const text = [
      '# a comment line',
      'pass out quick on em0 inet6 proto ipencap from 2001:db8::1 to 2001:db8::2',
      'match out on em0 inet from any to any nat-to (em0) port 2000:2015',
      'block in quick on gif0 inet from any to any',
      'match out on gif0 inet proto tcp all flags S/SA scrub (max-mss 1420)',
      'match out on gif0 inet from 192.168.1.0/24 to any nat-to (gif0)',
    ].join('\n');
    expect(anchorNatChain(text, GIF).natRanges(new Prng(1))).toEqual([[50001, 65535]]);
  });

  it("a connection the rules leave untranslated, or the admin's pf.conf blocks, is a failure", () => {
    const untranslated = anchorNatChain('match out on gif0 inet proto tcp all flags S/SA scrub (max-mss 1420)\n', GIF);
    expect(stockPick(untranslated, new NatStates(1), 0, new Prng(1))).toBe(NO_PORT);
    // adminPfConf() blocks 192.168.1.66 on gif0 before the anchor.
    const blocked = anchorNatChain('match out on gif0 inet from 192.168.1.0/24 to any nat-to (gif0) port 1:2\n', { ...GIF, source: 0xc0a80142 });
    expect(blocked.natRanges(new Prng(1))).toEqual([]);
  });

  it('refuses what the bench cannot stand for: rules that tell destinations apart, another translation address', () => {
    expect(() => anchorNatChain('match out on gif0 inet from any to 198.51.100.0/24 nat-to (gif0) port 1:2\n', GIF)).toThrow(/destinations differently/);
    expect(() => anchorNatChain('match out on gif0 inet from any to any nat-to 192.0.2.1 port 1:2\n', GIF)).toThrow(/not \(gif0\)/);
  });
});

describe('the workload', () => {
  it('is the same for the same seed, and different for another', () => {
    const spec = { destinations: 10, limit: 2400, seed: 5 };
    expect(generateWorkload(spec).events).toEqual(generateWorkload(spec).events);
    expect(generateWorkload({ ...spec, seed: 6 }).events).not.toEqual(generateWorkload(spec).events);
  });

  it('closes each connection once, after it opened; destinations uniform; about 1.6 × limit arrivals', () => {
    const w = generateWorkload({ destinations: 10, limit: 20000, seed: 7 });
    const opened = new Set<number>();
    const closed = new Set<number>();
    const perDestination = new Array<number>(10).fill(0);
    let id = 0;
    for (const event of w.events) {
      if (event >= 0) {
        opened.add(id++);
        perDestination[event]!++;
      } else {
        const which = -1 - event;
        expect(opened.has(which)).toBe(true);
        expect(closed.has(which)).toBe(false);
        closed.add(which);
      }
    }
    expect(id).toBe(w.arrivals);
    // Poisson count over 0.8 × 2 × 20000 time units: 32000 ± 179.
    expect(Math.abs(w.arrivals - 32000)).toBeLessThan(1000);
    for (const count of perDestination) expect(Math.abs(count - w.arrivals / 10)).toBeLessThan(400);
    // Closed by t = 0.8 mean lifetimes: 1 − (1 − e^−0.8)/0.8 ≈ 31 % of those opened.
    expect(closed.size / w.arrivals).toBeGreaterThan(0.28);
    expect(closed.size / w.arrivals).toBeLessThan(0.34);
  });
});

describe('the figures of a run', () => {
  it('counts carried connections, the open ones and the failures by occupancy, a port outside the set as a failure', () => {
    // One range: a = 1, k = 11, PSID 5 → 32848–32863.
    const set = { a: 1, k: 11, psid: 5, size: 16 };
    const events = Int32Array.from([0, 0, 0, -1 - 0, 0, 0]);
    const outcomes = Int32Array.from([32848, 32849, -1, 32850, 50001]);
    const figures = runFigures({ events, arrivals: 5, destinations: 1, limit: 16 }, outcomes, set);
    expect(figures.carriedBeforeFailure).toBe(2);
    expect(figures.failed).toBe(true);
    expect(figures.inUseAtFailure).toBe(2 / 16);
    expect(figures.freeAtFailure).toBe(14);
    expect(figures.rangeFillAtFailure).toEqual([2 / 16, 2 / 16]);
    expect(figures.peakOpen).toBe(2 / 16);
    // Attempts with 0, 1, 2, 1 and 2 connections open (bins of 1/20 of 16).
    expect(figures.bins.slice(0, 3)).toEqual([
      [1, 0],
      [2, 0],
      [2, 2],
    ]);
    expect(figures.bins.slice(3).every(([attempts]) => attempts === 0)).toBe(true);
  });
});

describe('the README table', () => {
  it('replaces what lies between the markers, and refuses a README without them', () => {
    const readme = `intro\n${README_BEGIN}\nold table\n${README_END}\nrest\n`;
    expect(replaceReadmeTable(readme, '| new |\n')).toBe(`intro\n${README_BEGIN}\n| new |\n${README_END}\nrest\n`);
    expect(() => replaceReadmeTable('no markers\n', '| new |\n')).toThrow(/README.md has no/);
  });
});

describe('the SVG chart', () => {
  it('draws a curve as one line per stretch with values, and escapes its text', () => {
    const svg = renderChart({
      title: 'a < b & "c"',
      xLabel: 'x',
      yLabel: 'y',
      columns: 1,
      panels: [
        {
          title: 'panel',
          curves: [{ label: 'one', color: '#000000', dashed: false, points: [[0, 0], [0.25, 0.5], [0.5, null], [0.75, 1], [1, 1]] }],
        },
      ],
    });
    expect(svg).toMatch(/^<svg xmlns="http:\/\/www.w3.org\/2000\/svg"/);
    expect(svg.trim().endsWith('</svg>')).toBe(true);
    expect(svg).toContain('a &lt; b &amp; &quot;c&quot;');
    expect(svg.match(/<polyline /g)).toHaveLength(2);
  });
});
