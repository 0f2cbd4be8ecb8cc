/**
 * The kernel's port choice, outside the kernel: pf_mape_portset_valid() and
 * pf_mape_portset_pick() are taken from the lines the pf patch adds to
 * sys/net/pf_lb.c, compiled with the system C compiler and
 * portset-driver.c, and judged against maped's own RFC 7597 §5.1 port sets
 * (src/map/port-set.ts, itself checked against the shared vectors).
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { portSet } from '../../src/map/port-set.js';
import { renderAnchor } from '../../src/openbsd/index.js';
import { parsePfctlRules } from '../../src/openbsd/pfctl-output.js';
import { desiredFor, PARAMETER_SETS } from '../openbsd/parameter-sets.js';
import { REPO_ROOT } from '../packaging/mdoc.js';
import { addedFunction, readPatchSeries } from './cvs-diff.js';

let driver = '';
/** Where the driver is built; removed after the last test. */
let buildDir = '';

afterAll(() => {
  if (buildDir !== '') rmSync(buildDir, { recursive: true, force: true });
});

function run(args: (string | number)[]): string {
  const result = spawnSync(driver, args.map(String), { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  if (result.status !== 0) throw new Error(`driver ${args.join(' ')}: exit ${result.status}: ${result.stdout.slice(-200)}${result.stderr}`);
  return result.stdout;
}

function ports(output: string): number[] {
  return output
    .trim()
    .split('\n')
    .filter((line) => /^\d+$/.test(line))
    .map(Number);
}

/** The RFC 7597 §5.1 port set without port 0, which is never a port (a = 0, psid 0 only). */
function inSet(a: number, k: number, psid: number): Set<number> {
  const set = new Set<number>();
  for (const [low, high] of portSet(a, k, psid).ranges) for (let p = Math.max(low, 1); p <= high; p++) set.add(p);
  return set;
}

beforeAll(() => {
  const lb = readPatchSeries(REPO_ROOT)
    .flatMap((patch) => patch.files)
    .find((file) => file.path === 'sys/net/pf_lb.c');
  if (lb === undefined) throw new Error('no sys/net/pf_lb.c in the patch series');
  const dir = mkdtempSync(join(tmpdir(), 'maped-portset-'));
  buildDir = dir;
  writeFileSync(
    join(dir, 'portset-extracted.c'),
    `${addedFunction(lb, 'pf_mape_portset_valid')}\n\n${addedFunction(lb, 'pf_mape_portset_pick')}\n`,
  );
  copyFileSync(join(REPO_ROOT, 'test/patches/portset-driver.c'), join(dir, 'portset-driver.c'));
  copyFileSync(join(REPO_ROOT, 'test/patches/kernel-shim.h'), join(dir, 'kernel-shim.h'));
  driver = join(dir, 'portset-driver');
  const cc = spawnSync('cc', ['-std=c99', '-O2', '-Wall', '-Wextra', '-Werror', '-o', driver, join(dir, 'portset-driver.c')], {
    cwd: dir,
    encoding: 'utf8',
  });
  if (cc.error !== undefined) throw new Error(`cannot run the system C compiler (cc): ${cc.error.message}`);
  if (cc.status !== 0) throw new Error(`cc failed:\n${cc.stderr}`);
});

// RFC 7597 Appendix B's a=6/k=8, v6plus's a=4/k=8, the extremes of a, k and m,
// and a = 0 (one block; for psid 0 it starts at port 0, which is never handed out).
const SETS: [a: number, k: number, psid: number][] = [
  [6, 8, 52],
  [4, 8, 0x9c],
  [4, 4, 15],
  [1, 15, 0x7fff],
  [12, 4, 9],
  [15, 1, 1],
  [2, 2, 0],
  [0, 8, 0],
  [0, 6, 33],
  [0, 16, 5],
];

describe('pf_mape_portset_pick, compiled from the pf patch', () => {
  it.each(SETS)('a=%i k=%i psid=%i: every port chosen is in the RFC 7597 port set', (a, k, psid) => {
    const chosen = ports(run(['draws', a, k, psid, 5000, 7]));
    expect(chosen).toHaveLength(5000);
    const set = inSet(a, k, psid);
    for (const port of chosen) expect(set.has(port), `port ${port}`).toBe(true);
  });

  it('uses every block, each about equally often (the first block is not favoured)', () => {
    const [a, k, psid] = [4, 8, 0x9c];
    const draws = 30000;
    const chosen = ports(run(['draws', a, k, psid, draws, 11]));
    const perBlock = new Map<number, number>();
    for (const port of chosen) perBlock.set(port >> (16 - a), (perBlock.get(port >> (16 - a)) ?? 0) + 1);
    const blocks = 2 ** a - 1;
    expect([...perBlock.keys()].sort((x, y) => x - y)).toEqual(Array.from({ length: blocks }, (_, i) => i + 1));
    // Expected 2000 per block; binomial sd ≈ 43, so ±20 % is far outside chance.
    for (const [block, count] of perBlock) {
      expect(count, `block ${block}`).toBeGreaterThan((draws / blocks) * 0.8);
      expect(count, `block ${block}`).toBeLessThan((draws / blocks) * 1.2);
    }
    // ...and within the blocks, every j of the 2^m ports turns up.
    const js = new Set(chosen.map((port) => port & (2 ** (16 - a - k) - 1)));
    expect(js.size).toBe(2 ** (16 - a - k));
  });

  it('every block is used at the largest offset too (a = 15: 32767 one-port blocks)', () => {
    const chosen = ports(run(['draws', 15, 1, 0, 400000, 3]));
    expect(new Set(chosen).size).toBeGreaterThan(32767 * 0.99);
  });

  it.each(SETS.filter(([a]) => a < 15))('a=%i k=%i psid=%i: hands out each port of the set once, then fails cleanly', (a, k, psid) => {
    const output = run(['exhaust', a, k, psid, 5]);
    const given = ports(output);
    expect(output).not.toMatch(/duplicate/);
    expect(new Set(given)).toEqual(inSet(a, k, psid));
    expect(given).toHaveLength(inSet(a, k, psid).size);
    // The pick that fails has asked about every port of the set exactly once.
    expect(output.trim().split('\n').pop()).toBe(`rc 1 calls ${inSet(a, k, psid).size}`);
  });

  it.each([
    [6, 8, 52],
    [0, 8, 0],
  ])('a=%i k=%i psid=%i: with every port busy it asks about each port of the set once and returns 1', (a, k, psid) => {
    const output = run(['allbusy', a, k, psid, 9]);
    const asked = ports(output);
    expect(output.trim().split('\n').pop()).toBe('rc 1');
    expect(asked).toHaveLength(inSet(a, k, psid).size);
    expect(new Set(asked)).toEqual(inSet(a, k, psid));
  });

  it('a = 0, psid 0: port 0 is neither handed out nor asked about, ports 1-255 are', () => {
    const output = run(['exhaust', 0, 8, 0, 13]);
    const given = ports(output);
    expect(given).not.toContain(0);
    expect([...given].sort((x, y) => x - y)).toEqual(Array.from({ length: 255 }, (_, i) => i + 1));
    expect(output.trim().split('\n').pop()).toBe('rc 1 calls 255');
  });

  it.each([
    [0, 16, 0, 'the set of port 0 alone'],
    [16, 1, 0, 'offset 16'],
    [0, 0, 0, 'psid length 0 at offset 0'],
    [0, 8, 256, 'psid 2^k at offset 0'],
    [6, 0, 0, 'psid length 0'],
    [6, 11, 0, 'offset + length 17'],
    [15, 2, 0, 'offset + length 17 at the largest offset'],
    [6, 8, 256, 'psid 2^k'],
    [4, 4, 16, 'psid 2^k'],
  ])('rejects a=%i k=%i psid=%i (%s) before touching any port', (a, k, psid) => {
    expect(run(['invalid', a, k, psid]).trim()).toBe('valid 0 rc -1 calls 0');
  });

  it.each([
    [1, 1, 1],
    [15, 1, 1],
    [1, 15, 32767],
    [6, 10, 1023],
    [0, 1, 0],
    [0, 16, 1],
    [0, 16, 65535],
  ])('accepts the edges a=%i k=%i psid=%i', (a, k, psid) => {
    expect(run(['invalid', a, k, psid]).trim()).toMatch(/^valid 1 rc 0 calls 1$/);
  });
});

describe("maped's kernel-mode anchors against the patched pf", () => {
  it.each(PARAMETER_SETS.map((set) => [set.name, set] as const))(
    '%s: every map-e-portset rule maped writes has parameters the kernel accepts and no port range',
    (_name, set) => {
      const desired = desiredFor(set, 'kernel');
      const listing = parsePfctlRules(renderAnchor(desired));
      const natRules = listing.rules.filter((rule) => rule.natTo !== null);
      expect(natRules.length).toBeGreaterThan(0);
      for (const rule of natRules) {
        expect(rule.natTo!.ports, 'pfctl refuses map-e-portset with a port range').toBeNull();
        const triple = rule.natTo!.mapePortset;
        if (triple === null) throw new Error('a kernel-mode nat-to rule without map-e-portset');
        expect(triple).toEqual([desired.psidOffset, desired.psidLen, desired.psid]);
        expect(run(['invalid', ...triple]).trim(), `map-e-portset ${triple.join('/')}`).toMatch(/^valid 1 rc 0 calls 1$/);
      }
    },
  );
});
