/**
 * Goldens: for the Cosmote, v6plus (draft-03) and OpenSync parameter sets, in
 * the kernel, stock and unrestricted port-set modes, the exact argv list of a
 * first apply on a machine with nothing configured, and the anchor text.
 * The files under golden/ were reviewed by hand; a change to them is a change
 * of behaviour.
 */
import { describe, expect, it } from 'vitest';
import { EMPTY_LIVE_STATE, NOTHING_OWNED, planApply } from '../../src/apply/index.js';
import { renderAnchor } from '../../src/openbsd/index.js';
import { desiredFor, PARAMETER_SETS } from './parameter-sets.js';

const TOOLS = { ifconfig: '/sbin/ifconfig', route: '/sbin/route', pfctl: '/sbin/pfctl', sysctl: '/sbin/sysctl' };

describe.each(PARAMETER_SETS)('$name', (set) => {
  it.each(['kernel', 'stock', 'unrestricted'] as const)('%s mode: first-apply argv and anchor text', async (mode) => {
    const desired = desiredFor(set, mode);
    expect(desired.portset).toBe(mode);
    const plan = planApply(desired, EMPTY_LIVE_STATE, NOTHING_OWNED);
    if (!plan.ok) throw new Error(plan.error);
    const argvLines = plan.value.steps.map((s) => JSON.stringify([TOOLS[s.command.tool], ...s.command.args]));
    const anchor = renderAnchor(desired);
    // The anchor goes in on stdin of the load command, nowhere else.
    expect(plan.value.steps.filter((s) => s.command.stdin !== undefined).map((s) => s.command.stdin)).toEqual([anchor]);
    const text = `# argv\n${argvLines.join('\n')}\n# anchor\n${anchor}`;
    await expect(text).toMatchFileSnapshot(`golden/${set.name}-${mode}.txt`);
  });
});

it('the parameter sets derive the published values', () => {
  const cosmote = desiredFor(PARAMETER_SETS[0]!, 'kernel');
  expect([cosmote.ipv4 >>> 24, (cosmote.ipv4 >>> 16) & 255, (cosmote.ipv4 >>> 8) & 255, cosmote.ipv4 & 255]).toEqual([87, 202, 58, 210]);
  expect([cosmote.psid, cosmote.psidLen, cosmote.psidOffset]).toEqual([63, 6, 6]);
});
