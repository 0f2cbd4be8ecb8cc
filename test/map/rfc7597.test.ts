import { describe, expect, it } from 'vitest';
import {
  deriveMap,
  formatIpv4,
  formatIpv6,
  isMapCeAddress,
  parseIpv4Prefix,
  parseIpv6,
  parseIpv6Prefix,
  portInSet,
  portSet,
  selectBmr,
  type DeriveInput,
  type MapParams,
  type Result,
} from '../../src/map/index.js';
import { must } from '../support/must.js';

function rule(ipv6: string, ipv4: string, eaLen: number, psidOffset = 6) {
  return { ipv6Prefix: must(parseIpv6Prefix(ipv6)), ipv4Prefix: must(parseIpv4Prefix(ipv4)), eaLen, psidOffset };
}

function derive(input: Partial<DeriveInput> & Pick<DeriveInput, 'rule'> & { eup: string }): Result<MapParams> {
  return deriveMap({
    rule: input.rule,
    endUserPrefix: must(parseIpv6Prefix(input.eup)),
    portParams: input.portParams ?? null,
    interfaceId: input.interfaceId ?? 'rfc7597',
  });
}

describe('RFC 7597 Appendix A', () => {
  it('Example 1: BMR 2001:db8::/40 192.0.2.0/24 EA 16 with 2001:db8:12:3400::/56 gives 192.0.2.18, PSID 0x34', () => {
    const params = must(derive({ rule: rule('2001:db8::/40', '192.0.2.0/24', 16), eup: '2001:db8:0012:3400::/56' }));
    expect(formatIpv4(params.ipv4)).toBe('192.0.2.18');
    expect(params.psidLen).toBe(8);
    expect(params.psid).toBe(0x34);
    expect(params.portSets.length).toBe(63);
    expect(params.portSets[0]).toEqual([1232, 1235]);
    expect(params.portSets[1]).toEqual([2256, 2259]);
    expect(params.portSets.at(-2)).toEqual([63696, 63699]);
    expect(params.portSets.at(-1)).toEqual([64720, 64723]);
    expect(formatIpv6(params.ceIPv6)).toBe('2001:db8:12:3400:0:c000:212:34');
  });

  it('Example 2: the BR maps 192.0.2.18 port 1232 back to the same CE (PSID from the port)', () => {
    const params = must(derive({ rule: rule('2001:db8::/40', '192.0.2.0/24', 16), eup: '2001:db8:12:3400::/56' }));
    expect(portInSet(1232, 6, 8, params.psid)).toBe(true);
    // RFC 7597 B.1: PSID = (P >> m) & (2^k - 1) with m = 2
    expect((1232 >> 2) & 0xff).toBe(0x34);
  });

  it('Example 4: no EA bits, rule /32: full address, no PSID, CE ends in c000:212:0', () => {
    const params = must(
      derive({ rule: rule('2001:db8:12:3400::/56', '192.0.2.18/32', 0), eup: '2001:db8:0012:3400::/56' }),
    );
    expect(formatIpv4(params.ipv4)).toBe('192.0.2.18');
    expect(params.psidLen).toBe(0);
    expect(params.portSets).toEqual([[0, 65535]]);
    expect(formatIpv6(params.ceIPv6)).toBe('2001:db8:12:3400:0:c000:212:0');
  });

  it('Example 5: no EA bits, PSID 0x34/8 from DHCP: 63 ranges and the PSID in the interface id', () => {
    const params = must(
      derive({
        rule: rule('2001:db8:12:3400::/56', '192.0.2.18/32', 0),
        eup: '2001:db8:12:3400::/56',
        portParams: { psidLen: 8, psid: 0x34 },
      }),
    );
    expect(params.portSets[0]).toEqual([1232, 1235]);
    expect(params.portSets.at(-1)).toEqual([64720, 64723]);
    expect(formatIpv6(params.ceIPv6)).toBe('2001:db8:12:3400:0:c000:212:34');
    expect(params.warnings).toEqual([]);
  });
});

describe('RFC 7597 Appendix B.2', () => {
  it('Example 1: a = 6, k = 8, PSID 0 gives 1024-1027 … 64512-64515', () => {
    const set = portSet(6, 8, 0);
    expect(set.ranges.length).toBe(63);
    expect(set.ranges[0]).toEqual([1024, 1027]);
    expect(set.ranges[1]).toEqual([2048, 2051]);
    expect(set.ranges.at(-2)).toEqual([63488, 63491]);
    expect(set.ranges.at(-1)).toEqual([64512, 64515]);
    expect(set.count).toBe(2 ** 8 - 2 ** 2);
  });

  it('Example 2: a = 0, k = 6, PSID 0 is the single range 0-1023, port 0 included', () => {
    expect(portSet(0, 6, 0)).toEqual({ ranges: [[0, 1023]], count: 1024 });
  });

  it('FreeBSD map_e.sh: 2/12/0x342 gives 19720-19723, 36104-36107, 52488-52491', () => {
    expect(portSet(2, 12, 0x342).ranges).toEqual([
      [19720, 19723],
      [36104, 36107],
      [52488, 52491],
    ]);
  });

  it('every port of a set maps back to its PSID, and no other port does', () => {
    for (const [a, k, psid] of [
      [6, 8, 52],
      [4, 8, 100],
      [0, 6, 5],
      [2, 12, 0x342],
      [6, 6, 63],
    ] as const) {
      const members = new Set<number>();
      for (const [first, last] of portSet(a, k, psid).ranges) for (let p = first; p <= last; p++) members.add(p);
      for (let port = 0; port < 65536; port++) expect(portInSet(port, a, k, psid)).toBe(members.has(port));
    }
  });
});

describe('edge cases', () => {
  const ex1 = rule('2001:db8::/40', '192.0.2.0/24', 16);

  it('IPv4 prefix (o + r < 32): 192.0.2.160/28, no port restriction', () => {
    const params = must(derive({ rule: rule('2001:db8::/40', '192.0.2.0/24', 4), eup: '2001:db8:a0::/44' }));
    expect(`${formatIpv4(params.ipv4)}/${params.ipv4PrefixLen}`).toBe('192.0.2.160/28');
    expect(params.portSets).toEqual([[0, 65535]]);
    expect(formatIpv6(params.ceIPv6)).toBe('2001:db8:a0::c000:2a0:0');
  });

  it('IPv4 prefix: explicit port parameters are discarded with a warning (RFC 7598 §4.5)', () => {
    const params = must(
      derive({ rule: rule('2001:db8::/40', '192.0.2.0/24', 4), eup: '2001:db8:a0::/44', portParams: { psidLen: 8, psid: 3 } }),
    );
    expect(params.psidLen).toBe(0);
    expect(params.warnings[0]).toMatch(/port parameters discarded/);
  });

  it('r = 0, o = 48: the whole IPv4 address and a single port from the EA bits', () => {
    const params = must(
      derive({ rule: rule('2001:db8::/32', '0.0.0.0/0', 48, 0), eup: '2001:db8:c000:212:4d2::/80' }),
    );
    expect(formatIpv4(params.ipv4)).toBe('192.0.2.18');
    expect(params.psidLen).toBe(16);
    expect(params.portSets).toEqual([[1234, 1234]]);
    expect(params.portCount).toBe(1);
  });

  it('explicit PSID wins over the EA bits and says so', () => {
    const params = must(derive({ rule: ex1, eup: '2001:db8:12:3400::/56', portParams: { psidLen: 8, psid: 153 } }));
    expect(params.psid).toBe(153);
    expect(params.warnings.join()).toMatch(/differs from PSID 52\/8/);
  });

  it('psid-len 0 in port parameters means "ignore the PSID field"', () => {
    const params = must(derive({ rule: ex1, eup: '2001:db8:12:3400::/56', portParams: { psidLen: 0, psid: 18 } }));
    expect(params.psid).toBe(52);
    expect(params.warnings).toEqual([]);
  });

  it('a prefix missing only PSID bits is completed by an explicit PSID (the Perl maped fixture)', () => {
    const params = must(
      derive({
        rule: rule('2001:db8:100::/48', '192.0.2.0/24', 16),
        eup: '2001:db8:100:4200::/56',
        portParams: { psidLen: 8, psid: 42 },
      }),
    );
    expect(formatIpv4(params.ipv4)).toBe('192.0.2.66');
    expect(params.psid).toBe(42);
    expect(formatIpv6(params.ceIPv6)).toBe('2001:db8:100:4200:0:c000:242:2a');
  });

  it.each([
    ['ea-len 49', { rule: rule('2001:db8::/40', '192.0.2.0/24', 49), eup: '2001:db8:12:3400::/56' }, 'ea-len out of range'],
    ['offset 17', { rule: rule('2001:db8::/40', '192.0.2.0/24', 16, 17), eup: '2001:db8:12:3400::/56' }, 'psid offset out of range'],
    ['a + k > 16', { rule: rule('2001:db8::/40', '192.0.2.0/24', 16, 10), eup: '2001:db8:12:3400::/56' }, 'psid offset + psid-len > 16'],
    ['prefix outside the rule', { rule: ex1, eup: '2001:db9:12:3400::/56' }, 'end-user prefix outside rule prefix'],
    ['prefix too short', { rule: ex1, eup: '2001:db8:12::/48' }, 'end-user prefix lacks PSID bits and no explicit PSID is given'],
    ['missing IPv4 bits', { rule: ex1, eup: '2001:db8::/44', portParams: { psidLen: 8, psid: 1 } }, 'end-user prefix lacks IPv4 address bits (shorter than rule prefix + ea-len)'],
    ['psid too large', { rule: ex1, eup: '2001:db8:12:3400::/56', portParams: { psidLen: 8, psid: 256 } }, 'psid 256 does not fit psid-len 8'],
  ] as const)('%s is refused with a one-line reason', (_name, input, reason) => {
    expect(derive(input)).toEqual({ ok: false, error: reason });
  });

  it('warns when the delegated prefix has non-zero bits after the EA field', () => {
    const params = must(derive({ rule: ex1, eup: '2001:db8:12:34ab::/64' }));
    expect(formatIpv6(params.ceIPv6)).toBe('2001:db8:12:34ab:0:c000:212:34');
    expect(params.warnings.join()).toMatch(/non-zero bits after the EA bits/);
  });

  it('an end-user prefix longer than /64 overwrites the start of the interface id', () => {
    const params = must(derive({ rule: rule('2001:db8::/32', '0.0.0.0/0', 48, 0), eup: '2001:db8:c000:212:4d2::/80' }));
    expect(formatIpv6(params.ceIPv6)).toBe('2001:db8:c000:212:4d2:c000:212:4d2');
  });
});

describe('BMR selection (RFC 7597 §5: longest match)', () => {
  const eup = must(parseIpv6Prefix('2001:db8:12:3400::/56'));
  const broad = rule('2001:db8::/32', '198.51.100.0/24', 24);
  const narrow = rule('2001:db8::/40', '192.0.2.0/24', 16);
  const other = rule('2001:db9::/32', '203.0.113.0/24', 24);

  it('picks the longest matching rule prefix and keeps the rest', () => {
    const chosen = must(selectBmr([broad, other, narrow], eup));
    expect(chosen.bmr).toBe(narrow);
    expect(chosen.others).toEqual([broad, other]);
  });

  it('refuses when no rule matches', () => {
    const result = selectBmr([other], eup);
    expect(result).toEqual({ ok: false, error: 'no rule matches end-user prefix 2001:db8:12:3400::/56 (1 rules)' });
  });

  it('refuses two different rules of the same length', () => {
    const twin = rule('2001:db8::/40', '198.51.100.0/24', 16);
    const result = selectBmr([narrow, twin], eup);
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.error).toMatch(/two rules match .* equally: 2001:db8::\/40/);
  });
});

describe('isMapCeAddress: the CE addresses of a rule, for adopting them after a lost record', () => {
  const bmr = rule('2001:db8::/40', '192.0.2.0/24', 16);
  const address = (text: string): bigint => must(parseIpv6(text));

  it('recognises the CE address of every end-user prefix under the rule, in both interface-id forms', () => {
    for (const eup of ['2001:db8:12:3400::/56', '2001:db8:12:5600::/56', '2001:db8:ff:ff00::/56', '2001:db8:0:0::/56']) {
      for (const interfaceId of ['rfc7597', 'draft03'] as const) {
        const ce = must(derive({ rule: bmr, eup, interfaceId })).ceIPv6;
        expect(isMapCeAddress(bmr, ce, null), `${eup} ${interfaceId}`).toBe(true);
      }
    }
  });

  it('an explicit PSID is part of the address it recognises', () => {
    const ports = { psidLen: 8, psid: 0x99 };
    const ce = must(derive({ rule: bmr, eup: '2001:db8:12:3400::/56', portParams: ports })).ceIPv6;
    expect(isMapCeAddress(bmr, ce, ports)).toBe(true);
    expect(isMapCeAddress(bmr, ce, null)).toBe(false);
  });

  it.each([
    ['another host of the prefix', '2001:db8:12:3400::1'],
    ['the IPv4 field of another prefix', '2001:db8:12:3400:0:c000:213:34'],
    ['the PSID field of another prefix', '2001:db8:12:3400:0:c000:212:56'],
    ['outside the rule prefix', '2001:db9:12:3400:0:c000:212:34'],
  ])('refuses %s (%s)', (_what, text) => {
    expect(isMapCeAddress(bmr, address(text), null)).toBe(false);
  });
});
