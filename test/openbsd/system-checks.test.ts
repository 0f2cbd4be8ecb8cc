/** The checks of what maped cannot fix itself: the anchor called from the main ruleset, pf enabled, IPv4 forwarding. */
import { describe, expect, it } from 'vitest';
import { callsAnchor, forwardingValue, pfEnabled, systemWarnings } from '../../src/openbsd/index.js';

// The main ruleset of a 7.8 default pf.conf with the anchor added, as pfctl -sr prints it.
const MAIN = [
  'block return all',
  'pass all flags S/SA',
  'block return in on ! lo0 proto tcp from any to any port 6000:6010',
  'anchor "maped" all',
  'anchor "lab/*" on em1 all',
].join('\n');
const GOOD = { mainRules: MAIN, pfInfo: 'Status: Enabled for 12 days 03:04:05           Debug: err\n', forwarding: 'net.inet.ip.forwarding=1\n' };

describe('the anchor call', () => {
  it('is an anchor rule of exactly that name, or the wildcard of its parent', () => {
    expect(callsAnchor(MAIN, 'maped')).toBe(true);
    expect(callsAnchor(MAIN, 'map')).toBe(false);
    expect(callsAnchor(MAIN, 'maped/map-e')).toBe(false);
    expect(callsAnchor(MAIN, 'lab/maped')).toBe(true);
    expect(callsAnchor(MAIN, 'lab/x/maped')).toBe(false);
    // A label or comment naming the anchor is no call.
    expect(callsAnchor('pass out all label "anchor \\"maped\\""\n', 'maped')).toBe(false);
  });
});

describe('pf status and forwarding', () => {
  it('read from pfctl -si and sysctl as they print them', () => {
    expect(pfEnabled(GOOD.pfInfo)).toBe(true);
    expect(pfEnabled('Status: Disabled for 0 days 00:00:01           Debug: err\n')).toBe(false);
    expect(pfEnabled('pfctl: /dev/pf: No such file or directory\n')).toBeNull();
    expect(forwardingValue('net.inet.ip.forwarding=1\n')).toBe(1);
    expect(forwardingValue('net.inet.ip.forwarding=2\n')).toBe(2);
    expect(forwardingValue('1\n')).toBeNull();
  });
});

describe('warnings', () => {
  it('none when all is well; one per problem, each saying what to do', () => {
    expect(systemWarnings(GOOD, 'maped')).toEqual([]);
    expect(
      systemWarnings({ mainRules: 'block return all\n', pfInfo: 'Status: Disabled for 0 days\n', forwarding: 'net.inet.ip.forwarding=0\n' }, 'maped'),
    ).toEqual([
      'pf is not enabled: nothing is translated; enable it with pfctl -e (pf=YES in rc.conf.local, the default)',
      'the main pf ruleset does not call anchor "maped": add it to /etc/pf.conf after your nat-to rules and before your filter rules',
      'net.inet.ip.forwarding is 0, not 1: the LANs cannot reach the tunnel; set net.inet.ip.forwarding=1 (and in /etc/sysctl.conf)',
    ]);
    expect(systemWarnings({ ...GOOD, pfInfo: 'pfctl: /dev/pf: Device busy\n' }, 'maped')).toEqual([
      'cannot tell whether pf is enabled: pfctl -si printed no Status line',
    ]);
    // 2 forwards IPsec traffic only.
    expect(systemWarnings({ ...GOOD, forwarding: 'net.inet.ip.forwarding=2\n' }, 'maped')).toHaveLength(1);
  });

  it('a read that fails is a warning too, naming the command and why', () => {
    const failed = { mainRules: { error: 'pfctl: /dev/pf: Permission denied' }, pfInfo: { error: 'timed out after 10 s' }, forwarding: { error: 'no tool sysctl configured' } };
    expect(systemWarnings(failed, 'maped')).toEqual([
      'cannot tell whether pf is enabled: pfctl -si: timed out after 10 s',
      'cannot read the main ruleset: pfctl -sr: pfctl: /dev/pf: Permission denied',
      'cannot read net.inet.ip.forwarding: no tool sysctl configured',
    ]);
  });
});
