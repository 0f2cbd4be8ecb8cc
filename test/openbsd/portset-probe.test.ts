/**
 * judgePortsetProbe: the two pfctl answers of `pf portset auto` (parse the
 * probe rule; read the anchor from the kernel) → a mode, or the ABI mismatch.
 */
import { describe, expect, it } from 'vitest';
import { judgePortsetProbe, PORTSET_PROBE } from '../../src/openbsd/index.js';

const passed = { ok: true, stderr: '' };
const syntaxError = { ok: false, stderr: 'stdin:1: syntax error\n' };

describe('judgePortsetProbe', () => {
  it('patched pfctl, kernel answering: kernel; stock pfctl: stock', () => {
    expect(judgePortsetProbe(passed, passed)).toEqual({ ok: true, value: 'kernel' });
    expect(judgePortsetProbe(syntaxError, passed)).toEqual({ ok: true, value: 'stock' });
  });

  it('an anchor the kernel does not have yet says nothing about the ABI', () => {
    const noAnchor = { ok: false, stderr: 'pfctl: Anchor does not exist\n' };
    expect(judgePortsetProbe(passed, noAnchor)).toEqual({ ok: true, value: 'kernel' });
    expect(judgePortsetProbe(syntaxError, { ok: false, stderr: 'pfctl: /dev/pf: Permission denied\n' })).toEqual({ ok: true, value: 'stock' });
  });

  it.each(['pfctl: Permission denied\n', 'pfctl: Operation not permitted\n'])('patched pfctl, kernel refusing its rule ioctl (%j): an error, no mode', (stderr) => {
    const verdict = judgePortsetProbe(passed, { ok: false, stderr });
    expect(verdict.ok).toBe(false);
    if (verdict.ok) return;
    expect(verdict.error).toMatch(/^pfctl has the map-e-portset patch but the running kernel does not take its rule ioctls \(pfctl -sr: /);
    expect(verdict.error).toContain('boot the kernel built with the patch');
  });

  it('the refusal counts whatever the exit status: pfctl -sr exits 0 after its warning', () => {
    expect(judgePortsetProbe(passed, { ok: true, stderr: 'pfctl: Permission denied\n' })).toMatchObject({ ok: false });
    expect(judgePortsetProbe(passed, { ok: true, stderr: 'pfctl: Anchor does not exist\n' })).toEqual({ ok: true, value: 'kernel' });
  });

  it('stock pfctl, kernel built from another pfvar.h: an error too', () => {
    const verdict = judgePortsetProbe(syntaxError, { ok: false, stderr: 'pfctl: Permission denied\n' });
    expect(verdict).toMatchObject({ ok: false });
    if (!verdict.ok) expect(verdict.error).toMatch(/^pfctl and the running kernel disagree on the pf rule layout/);
  });

  it('the probe rule uses offset 0, which only this revision of the patch accepts', () => {
    expect(PORTSET_PROBE).toBe('match out on lo0 nat-to (lo0) map-e-portset 0/8/0\n');
  });
});
