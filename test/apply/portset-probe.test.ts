/**
 * detectPortsetSupport against the fake pfctl, which plays stock and patched
 * pfctl and kernel in any combination (tools.mjs abiMismatch): a patched
 * pfctl on an unpatched kernel parses map-e-portset but can neither read nor
 * load rules, as the changed DIOC*RULE* ioctl numbers make the real pair do.
 */
import { spawnSync } from 'node:child_process';
import { afterEach, describe, expect, it } from 'vitest';
import { detectPortsetSupport } from '../../src/apply/index.js';
import { createFakeOpenBSD, type FakeOpenBSD, type FakeOpenBSDOptions } from '../support/fake-openbsd/index.js';

const fakes: FakeOpenBSD[] = [];
afterEach(async () => {
  for (const fake of fakes.splice(0)) await fake.cleanup();
});

async function fake(options: FakeOpenBSDOptions): Promise<FakeOpenBSD> {
  const f = await createFakeOpenBSD(options);
  fakes.push(f);
  return f;
}

const run = (f: FakeOpenBSD, args: string[], stdin = '') => spawnSync(f.tools.pfctl, args, { input: stdin, encoding: 'utf8', timeout: 30_000 });

describe('pf portset auto against the fake tools', () => {
  it('patched pfctl and kernel: kernel; stock pair: stock; no pfctl at all: stock', async () => {
    expect(await detectPortsetSupport((await fake({ kernelPortset: true })).tools.pfctl, 'maped')).toEqual({ ok: true, value: 'kernel' });
    expect(await detectPortsetSupport((await fake({ kernelPortset: false })).tools.pfctl, 'maped')).toEqual({ ok: true, value: 'stock' });
    expect(await detectPortsetSupport('/nonexistent/pfctl', 'maped')).toEqual({ ok: true, value: 'stock' });
  });

  it('tells "pfctl patched, kernel not" apart, and changes nothing while asking', async () => {
    const f = await fake({ kernelPortset: false, pfctlPortset: true });
    const verdict = await detectPortsetSupport(f.tools.pfctl, 'maped');
    expect(verdict).toEqual({
      ok: false,
      error:
        'pfctl has the map-e-portset patch but the running kernel does not take its rule ioctls (pfctl -sr: Permission denied): boot the kernel built with the patch, or install a stock pfctl',
    });
    expect(f.mutations()).toEqual([]);
    expect(f.log().map((call) => call.join(' ')).sort()).toEqual(['pfctl -a maped -sr', 'pfctl -nf -']);
  });

  it('tells a stock pfctl on a patched kernel apart too', async () => {
    const f = await fake({ kernelPortset: true, pfctlPortset: false });
    const verdict = await detectPortsetSupport(f.tools.pfctl, 'maped');
    expect(verdict.ok).toBe(false);
    if (!verdict.ok) expect(verdict.error).toMatch(/^pfctl and the running kernel disagree on the pf rule layout \(pfctl -sr: Permission denied\)/);
  });

  it('the fake plays the mismatch as the real pair fails: parse yes, load and read no, flush and kill yes', async () => {
    const f = await fake({ kernelPortset: false, pfctlPortset: true });
    const rule = 'match out on gif0 inet from 192.168.1.0/24 to any nat-to (gif0) map-e-portset 6/8/42\n';
    expect((run(f, ['-nf', '-'], rule)).status).toBe(0);
    const load = run(f, ['-o', 'none', '-a', 'maped', '-f', '-'], rule);
    expect([load.status, load.stderr.trim()]).toEqual([1, 'pfctl: DIOCADDRULE: Operation not supported by device']);
    expect(f.state().anchors['maped']).toBeUndefined();
    // The read fails but exits 0: pfctl.c 1.397 main ignores pfctl_show_rules()'s -1 (lines 2808-2812).
    const read = run(f, ['-a', 'maped', '-sr']);
    expect([read.status, read.stdout, read.stderr.trim()]).toEqual([0, '', 'pfctl: Permission denied']);
    expect((run(f, ['-a', 'maped', '-F', 'all'])).status).toBe(0);
    // States are killed by id (pfctl.c 1.397 pfctl_id_kill_states, lines 651-683); an id no state has kills none and succeeds.
    expect((run(f, ['-k', 'id', '-k', '5f3a1b2c00000001'])).status).toBe(0);
  });

  it('the patched pfctl takes offset 0 and refuses the set of port 0 alone, as parse.y of the patch does', async () => {
    const f = await fake({ kernelPortset: true });
    expect((run(f, ['-nf', '-'], 'match out on lo0 nat-to (lo0) map-e-portset 0/8/0\n')).status).toBe(0);
    const refused = run(f, ['-nf', '-'], 'match out on lo0 nat-to (lo0) map-e-portset 0/16/0\n');
    expect([refused.status, refused.stderr.trim()]).toEqual([1, 'stdin:1: map-e-portset 0/16/0: the set is port 0 alone']);
    const offset = run(f, ['-nf', '-'], 'match out on lo0 nat-to (lo0) map-e-portset 16/1/0\n');
    expect(offset.stderr.trim()).toBe('stdin:1: map-e-portset 16/1/0: offset must be 0-15');
  });
});
