import { describe, expect, it } from 'vitest';
import { describeRuleView } from '../../src/cli/ctl-commands.js';
import type { RuleView } from '../../src/control/protocol.js';

const base: RuleView = {
  ipv6Prefix: '2001:db8::/40',
  ipv4Prefix: '192.0.2.0/24',
  eaLen: 16,
  psidOffset: 6,
  psidLen: 0,
  psid: null,
  fmr: false,
  br: '2001:db8:ffff::1',
  origin: 'dhcpv6',
};

describe('mapedctl show rules', () => {
  it('shows the PSID length the EA bits give when the port parameters say psid-len 0', () => {
    expect(describeRuleView(base)).toBe(
      'dhcpv6 2001:db8::/40 192.0.2.0/24 ea-len 16 psid-offset 6 psid-len 8 (from EA bits) br 2001:db8:ffff::1',
    );
  });

  it('derives it from the EA bits without port parameters, 0 for an IPv4 prefix', () => {
    expect(describeRuleView({ ...base, psidLen: null, ipv4Prefix: '106.72.0.0/15', eaLen: 25, psidOffset: 4 })).toContain(
      'psid-len 8 (from EA bits)',
    );
    expect(describeRuleView({ ...base, psidLen: null, eaLen: 4 })).toContain('psid-len 0 (from EA bits)');
  });

  it('shows explicit port parameters and where they come from', () => {
    expect(describeRuleView({ ...base, psidLen: 6, psid: 42 })).toContain('psid-len 6 psid 42 (from port parameters)');
    expect(describeRuleView({ ...base, origin: 'static', psidLen: 8, psid: 42, fmr: true })).toBe(
      'static fmr 2001:db8::/40 192.0.2.0/24 ea-len 16 psid-offset 6 psid-len 8 psid 42 (from the rule) br 2001:db8:ffff::1',
    );
  });
});
