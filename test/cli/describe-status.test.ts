/**
 * `mapedctl status` for a person, for each softwire kind: the kind and its
 * origin, the port set or why there is none, and the far end named as the
 * kind names it.
 */
import { describe, expect, it } from 'vitest';
import { describePorts, describeStatus } from '../../src/cli/ctl-commands.js';
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
