/**
 * `mapedctl status` for a person, for each softwire kind: the kind and its
 * origin, the port set or why there is none, and the far end named as the
 * kind names it.
 */
import { describe, expect, it } from 'vitest';
import { describePorts, describeProvisioning, describeRuleView, describeStatus } from '../../src/cli/ctl-commands.js';
import type { ForwardView, Status } from '../../src/control/protocol.js';

const base: Status = {
  state: 'active',
  reason: null,
  softwire: null,
  origin: null,
  lease: { source: 'file', interface: 'em0', endUserPrefix: '2001:db8:12:3400::/56', dhcpState: 'Bound', expiresAt: null },
  rule: null,
  map: null,
  tunnel: { interface: 'gif0', mtu: 1460 },
  pf: { anchor: 'maped', portset: null },
  lastApply: null,
  nextRetryAt: null,
  warnings: [],
  forwards: [],
  pid: 1,
  version: '0',
};

describe('describeStatus', () => {
  it('DS-Lite: the kind, no PSID (the AFTR translates), the AFTR', () => {
    const text = describeStatus({
      ...base,
      softwire: 'dslite',
      origin: 'static',
      map: { ipv4: '192.0.0.2', ipv4PrefixLen: 32, psidOffset: null, psidLen: null, psid: null, ceIPv6: '2001:db8:12:3400:0:c000:2:0', br: '2001:db8:ffff::2', portSets: [], portCount: null },
    });
    expect(text).toMatch(/^softwire: +dslite \(static\)$/m);
    expect(text).toMatch(/^PSID: +none \(no NAT44 here: the AFTR translates\)$/m);
    expect(text).toMatch(/^AFTR: +2001:db8:ffff::2$/m);
    expect(text).not.toMatch(/^ports:/m);
    expect(text).toMatch(/^pf: +anchor "maped"$/m);
  });

  it('IPIP: every port, the remote end, the prefix length of a fixed prefix', () => {
    const text = describeStatus({
      ...base,
      softwire: 'ipip',
      origin: 'static',
      map: { ipv4: '203.0.113.9', ipv4PrefixLen: 29, psidOffset: null, psidLen: null, psid: null, ceIPv6: '2001:db8::7', br: '2001:db8::1', portSets: [], portCount: 65536 },
      pf: { anchor: 'maped', portset: 'unrestricted' },
    });
    expect(text).toMatch(/^IPv4: +203\.0\.113\.9\/29$/m);
    expect(text).toMatch(/^ports: +all$/m);
    expect(text).toMatch(/^remote: +2001:db8::1$/m);
  });

  it('lw4o6: the given port set and the lwAFTR', () => {
    const text = describeStatus({
      ...base,
      softwire: 'lw4o6',
      origin: 'dhcpv6',
      map: { ipv4: '192.0.2.33', ipv4PrefixLen: 32, psidOffset: 0, psidLen: 8, psid: 52, ceIPv6: '2001:db8:ce00:4200:0:c000:221:34', br: '2001:db8:ffff::1', portSets: [[13312, 13567]], portCount: 256 },
      pf: { anchor: 'maped', portset: 'stock' },
    });
    expect(text).toMatch(/^softwire: +lw4o6 \(dhcpv6\)$/m);
    expect(text).toMatch(/^PSID: +52\/8 offset 0 \(0\/8\/52\)$/m);
    expect(text).toMatch(/^ports: +256 in 1 ranges: 13312-13567$/m);
    expect(text).toMatch(/^lwAFTR: +2001:db8:ffff::1$/m);
  });
});

describe('forwards in status and show ports', () => {
  const ssh: ForwardView = { proto: 'tcp', ports: [1233, 1233], to: '192.168.1.10', toPort: 22, active: true, reason: null };
  const web: ForwardView = { proto: 'tcp-udp', ports: [80, 81], to: '192.168.1.20', toPort: null, active: false, reason: 'port 80 is not in the port set (psid 52/8 offset 6)' };

  it('status: one line per forward, in maped.conf words, with its verdict', () => {
    const lines = describeStatus({ ...base, forwards: [ssh, web] }).split('\n');
    expect(lines.filter((l) => l.startsWith('forward:'))).toEqual([
      'forward:    tcp port 1233 to 192.168.1.10 port 22 (active)',
      'forward:    tcp-udp port 80:81 to 192.168.1.20 (inactive: port 80 is not in the port set (psid 52/8 offset 6))',
    ]);
  });

  it('show ports: a range is followed by the forwards in force that take its ports, and only those', () => {
    const span: ForwardView = { ...ssh, proto: 'udp', ports: [1235, 2256], toPort: null };
    expect(describePorts([[1232, 1235], [2256, 2259], [3280, 3283]], [ssh, web, span])).toBe(
      [
        '1232-1235  forward tcp port 1233 to 192.168.1.10 port 22  forward udp port 1235:2256 to 192.168.1.10',
        '2256-2259  forward udp port 1235:2256 to 192.168.1.10',
        '3280-3283',
        '',
      ].join('\n'),
    );
  });
});

describe('text from leases and servers is printed with its controls escaped', () => {
  it('show provisioning: an enabler name that retitles the terminal, an order with a newline', () => {
    const text = describeProvisioning({
      state: 'active',
      url: 'https://vne.example.jp/rule.cgi',
      found: 'dns',
      t: 'b',
      lastFetch: { at: '2025-01-01T00:00:00Z', httpStatus: 200, outcome: 'valid', error: null },
      enablerName: '\u001b]0;owned\u0007',
      serviceName: 'svc\u009b2J',
      ispName: 'isp\u2028',
      ttl: 3600,
      token: true,
      auth: null,
      credentials: 'none',
      order: ['x\nmaped[42]: forged line', 'map_e'],
      kind: 'map-e',
      why: 'map_e is entry 2 of order [x\nmaped[42]: forged line, map_e]',
      interfaceId: 'rfc7597',
      data: 'server',
      savedAt: '2025-01-01T00:00:00Z',
      nextRefreshAt: null,
    });
    expect(text).not.toMatch(/[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u2028\u2029]/);
    expect(text).toMatch(/^service: +\\x1b\]0;owned\\x07 \/ svc\\x9b2J \/ isp\\u2028$/m);
    expect(text).toMatch(/^order: +\[x\\x0amaped\[42\]: forged line, map_e\]$/m);
    expect(text).not.toMatch(/^maped\[42\]/m);
  });

  it('status: a reason and a warning with a newline stay on their line', () => {
    const text = describeStatus({ ...base, state: 'degraded', reason: 'lease: bad\nstate: active', warnings: ['\u001b[2Jw'] });
    expect(text.split('\n')[0]).toBe('state:      degraded (lease: bad\\x0astate: active)');
    expect(text).toMatch(/^warning: +\\x1b\[2Jw$/m);
  });

  it('show rules: one line a rule whatever its fields hold', () => {
    const line = describeRuleView({ ipv6Prefix: '2001:db8::/40', ipv4Prefix: '192.0.2.0/24', eaLen: 16, psidOffset: 6, psidLen: null, psid: null, fmr: false, br: '2001:db8::1\nforged', origin: 'dhcpv6' });
    expect(line).not.toContain('\n');
    expect(line).toMatch(/br 2001:db8::1\\x0aforged$/);
  });
});
