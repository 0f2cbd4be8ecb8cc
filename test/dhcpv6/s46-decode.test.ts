import { describe, expect, it } from 'vitest';
import {
  decodeContainer,
  decodeOptions,
  deriveMapE,
  MAX_BRS_PER_CONTAINER,
  MAX_RULES_PER_CONTAINER,
  parseHex,
  toDecodeJson,
  type MapEDomain,
} from '../../src/dhcpv6/index.js';
import { formatIpv4, formatIpv6, formatIpv6Prefix, parseIpv6Prefix } from '../../src/map/index.js';

const hex = (text: string): Uint8Array => {
  const bytes = parseHex(text);
  if (!bytes.ok) throw new Error(bytes.error);
  return bytes.value;
};
const option = (code: number, payloadHex: string): string =>
  code.toString(16).padStart(4, '0') + (payloadHex.length / 2).toString(16).padStart(4, '0') + payloadHex;

// RFC 7597 Appendix A example 1 domain pieces (the same bytes as s46.jsonl's first vector).
const RULE_EX1 = option(89, '001018c00002002820010db800' + option(93, '06080000'));
const BR_1 = option(90, '20010db8ffff00000000000000000001');
const BR_2 = option(90, '20010db8ffff00000000000000000002');
const prefix = (text: string) => {
  const p = parseIpv6Prefix(text);
  if (!p.ok) throw new Error(p.error);
  return p.value;
};

describe('S46_RULE fields (RFC 7598 §4.1)', () => {
  it('reads F from the least significant flags bit and ignores the reserved bits', () => {
    const withF = decodeOptions(hex(option(94, option(89, '011018c00002002820010db800') + BR_1)));
    const reservedOnly = decodeOptions(hex(option(94, option(89, 'fe1018c00002002820010db800') + BR_1)));
    expect(withF.ok && withF.value.mapE[0]?.rules[0]?.fmr).toBe(true);
    expect(reservedOnly.ok && reservedOnly.value.mapE[0]?.rules[0]?.fmr).toBe(false);
  });

  it('masks IPv4 host bits and IPv6 pad bits the sender left set', () => {
    const decoded = decodeOptions(hex(option(94, option(89, '001018c000024d2c20010db8ce3f') + BR_1)));
    if (!decoded.ok) throw new Error(decoded.error);
    const rule = decoded.value.mapE[0]!.rules[0]!;
    expect(formatIpv4(rule.ipv4Prefix.address)).toBe('192.0.2.0');
    expect(formatIpv6Prefix(rule.ipv6Prefix)).toBe('2001:db8:ce30::/44');
  });

  it('accepts prefix6-len 0 with no prefix bytes and prefix6-len 128 with 16', () => {
    const zero = decodeOptions(hex(option(94, option(89, '000018c000020000') + BR_1)));
    const full = decodeOptions(hex(option(94, option(89, '000020c000020180' + '20010db8000000000000000000000001') + BR_1)));
    expect(zero.ok && formatIpv6Prefix(zero.value.mapE[0]!.rules[0]!.ipv6Prefix)).toBe('::/0');
    expect(full.ok && formatIpv6Prefix(full.value.mapE[0]!.rules[0]!.ipv6Prefix)).toBe('2001:db8::1/128');
  });

  it('refuses prefix6-len + ea-len beyond 128 bits', () => {
    const decoded = decodeOptions(hex(option(94, option(89, '003018c00002005820010db8000000000000') + BR_1)));
    expect(decoded).toEqual({ ok: false, error: expect.stringContaining('prefix6-len 88 + ea-len 48 exceed 128 bits') });
  });

  it('refuses a second S46_PORTPARAMS in one rule', () => {
    const pp = option(93, '06080000');
    const decoded = decodeOptions(hex(option(94, option(89, '001018c00002002820010db800' + pp + pp) + BR_1)));
    expect(decoded).toEqual({ ok: false, error: expect.stringContaining('more than one S46_PORTPARAMS') });
  });

  it('skips an unknown option nested in a rule', () => {
    const decoded = decodeOptions(hex(option(94, option(89, '001018c00002002820010db800' + option(4000, 'ffff') + option(93, '06080000')) + BR_1)));
    expect(decoded.ok && decoded.value.mapE[0]?.rules[0]?.portParams).toEqual({ psidOffset: 6, psidLen: 8, psid: 0 });
  });
});

describe('S46_PORTPARAMS (RFC 7598 §4.5)', () => {
  const ruleWith = (pp: string) => decodeOptions(hex(option(94, option(89, '001018c00002002820010db800' + option(93, pp)) + BR_1)));

  it('exposes the left-aligned wire PSID right-aligned', () => {
    const decoded = ruleWith('0406a800'); // offset 4, k 6, field 1010 1000 0000 0000 → PSID 101010 = 42
    expect(decoded.ok && decoded.value.mapE[0]?.rules[0]?.portParams).toEqual({ psidOffset: 4, psidLen: 6, psid: 42 });
  });

  it('reads a 16-bit PSID with offset 0 whole', () => {
    const decoded = ruleWith('0010beef');
    expect(decoded.ok && decoded.value.mapE[0]?.rules[0]?.portParams?.psid).toBe(0xbeef);
  });

  it('gives PSID 0 when PSID-len is 0, whatever the field holds', () => {
    const decoded = ruleWith('0600ffff');
    expect(decoded.ok && decoded.value.mapE[0]?.rules[0]?.portParams).toEqual({ psidOffset: 6, psidLen: 0, psid: 0 });
  });

  it('refuses PSID-len above 16 and offset + PSID-len above 16', () => {
    expect(ruleWith('00110000')).toEqual({ ok: false, error: expect.stringContaining('PSID-len 17 out of range 0..16') });
    expect(ruleWith('060b0000')).toEqual({ ok: false, error: expect.stringContaining('offset 6 + PSID-len 11 exceed the 16 bits') });
  });
});

describe('containers (RFC 7598 §5)', () => {
  it('refuses a DMR in a MAP-E container', () => {
    const decoded = decodeOptions(hex(option(94, RULE_EX1 + BR_1 + option(91, '4020010db8ffff0000'))));
    expect(decoded).toEqual({ ok: false, error: expect.stringContaining('S46_DMR at byte') });
    expect(!decoded.ok && decoded.error).toContain('not permitted in a MAP-E container');
  });

  it('refuses a rule in a lw4o6 container and a BR in a MAP-T container', () => {
    expect(decodeOptions(hex(option(96, BR_1 + RULE_EX1))).ok).toBe(false);
    expect(decodeOptions(hex(option(95, RULE_EX1 + option(91, '4020010db8ffff0000') + BR_1))).ok).toBe(false);
  });

  it('refuses a container nested in a container instead of descending into it', () => {
    const decoded = decodeOptions(hex(option(94, RULE_EX1 + BR_1 + option(94, RULE_EX1 + BR_1))));
    expect(decoded).toEqual({ ok: false, error: expect.stringContaining('S46_CONT_MAPE at byte 4') });
  });

  it('keeps several MAP-E containers as several domains, in order', () => {
    const decoded = decodeOptions(hex(option(94, RULE_EX1 + BR_1) + option(94, RULE_EX1 + BR_2)));
    expect(decoded.ok && decoded.value.mapE.map((d) => d.br.map(formatIpv6))).toEqual([['2001:db8:ffff::1'], ['2001:db8:ffff::2']]);
  });

  it('skips top-level options that are not containers, S46_BR included', () => {
    const decoded = decodeOptions(hex(option(1, '0001') + BR_2 + option(94, RULE_EX1 + BR_1)));
    expect(decoded.ok && toDecodeJson(decoded.value).mapE[0]?.br).toEqual(['2001:db8:ffff::1']);
  });

  it('gives no domain for input without containers, and refuses empty input bytes only as options', () => {
    expect(decodeOptions(hex(option(23, '20010db8000000000000000000000001')))).toEqual({ ok: true, value: { mapE: [], mapT: [], lw4o6: [] } });
    expect(decodeOptions(new Uint8Array(0))).toEqual({ ok: true, value: { mapE: [], mapT: [], lw4o6: [] } });
  });

  it('caps the number of rules and BRs in a container', () => {
    const manyRules = decodeOptions(hex(option(94, RULE_EX1.repeat(MAX_RULES_PER_CONTAINER + 1) + BR_1)));
    const manyBrs = decodeOptions(hex(option(94, RULE_EX1 + BR_1.repeat(MAX_BRS_PER_CONTAINER + 1))));
    expect(manyRules).toEqual({ ok: false, error: expect.stringContaining(`more than ${MAX_RULES_PER_CONTAINER} S46_RULE`) });
    expect(manyBrs).toEqual({ ok: false, error: expect.stringContaining(`more than ${MAX_BRS_PER_CONTAINER} S46_BR`) });
  });
});

describe('tunnel ends and addresses that cannot be one (RFC 7597 §5.4, RFC 7596 §5.1)', () => {
  it.each([
    ['ff020000000000000000000000000001', 'ff02::1 is a multicast address'],
    ['00000000000000000000000000000000', ':: is the unspecified address'],
    ['00000000000000000000000000000001', '::1 is the loopback address'],
    ['fe800000000000000000000000000001', 'fe80::1 is a link-local address'],
    ['00000000000000000000ffff01020304', '::ffff:102:304 is an IPv4-mapped address'],
  ])('refuses S46_BR %s in a MAP-E and a lw4o6 container', (address, reason) => {
    const br = option(90, address);
    const binding = option(92, 'c000020140' + '20010db800000000');
    expect(decodeOptions(hex(option(94, RULE_EX1 + br)))).toEqual({
      ok: false,
      error: `S46_CONT_MAPE at byte 0: S46_BR at byte ${4 + RULE_EX1.length / 2}: ${reason}, not a unicast address (RFC 7597 §5.4)`,
    });
    expect(decodeOptions(hex(option(96, br + binding)))).toEqual({ ok: false, error: expect.stringContaining(`S46_BR at byte 4: ${reason}`) });
  });

  it.each([
    ['00000000', '0.0.0.0 is in 0.0.0.0/8'],
    ['7f000001', '127.0.0.1 is a loopback address'],
    ['e0000001', '224.0.0.1 is a multicast or reserved address'],
    ['ffffffff', '255.255.255.255 is a multicast or reserved address'],
  ])('refuses S46_V4V6BIND ipv4-address %s', (ipv4, reason) => {
    const decoded = decodeOptions(hex(option(96, BR_1 + option(92, `${ipv4}40` + '20010db800000000'))));
    expect(decoded).toEqual({ ok: false, error: `S46_CONT_LW at byte 0: S46_V4V6BIND at byte 24: ipv4-address ${reason}` });
  });

  it('takes a global unicast BR and a public binding address', () => {
    const decoded = decodeOptions(hex(option(96, BR_1 + option(92, 'c000020140' + '20010db800000000'))));
    expect(decoded.ok && formatIpv4(decoded.value.lw4o6[0]!.bindings[0]!.ipv4)).toBe('192.0.2.1');
  });
});

describe('decodeContainer (a lease file s46 line payload)', () => {
  it('decodes the payload without its option header', () => {
    const decoded = decodeContainer(94, hex(RULE_EX1 + BR_1));
    expect(decoded.ok && decoded.value.kind).toBe('mapE');
  });

  it('refuses a code that is not a container', () => {
    expect(decodeContainer(89, hex(RULE_EX1))).toEqual({ ok: false, error: 'option 89 is not a Softwire46 container (94, 95 or 96)' });
  });
});

describe('deriveMapE: BMR and BR choice', () => {
  const decodeDomain = (text: string): MapEDomain => {
    const decoded = decodeOptions(hex(text));
    if (!decoded.ok || decoded.value.mapE[0] === undefined) throw new Error('no domain');
    return decoded.value.mapE[0];
  };

  it('uses the first of several BRs and says so', () => {
    const derived = deriveMapE(decodeDomain(option(94, RULE_EX1 + BR_2 + BR_1)), prefix('2001:db8:12:3400::/56'), 'rfc7597');
    if (!derived.ok) throw new Error(derived.error);
    expect(formatIpv6(derived.value.br)).toBe('2001:db8:ffff::2');
    expect(derived.value.warnings).toContain('2 BRs offered (2001:db8:ffff::2, 2001:db8:ffff::1); using the first, 2001:db8:ffff::2');
  });

  it('does not warn about one BR sent twice', () => {
    const derived = deriveMapE(decodeDomain(option(94, RULE_EX1 + BR_1 + BR_1)), prefix('2001:db8:12:3400::/56'), 'rfc7597');
    expect(derived.ok && derived.value.warnings.some((w) => w.includes('BRs offered'))).toBe(false);
  });

  it('picks the longest matching rule as BMR and lists F-flagged rules as FMRs', () => {
    const wide = option(89, '011018c00002002020010db8'); // F=1, 2001:db8::/32, ea-len 16
    const narrow = option(89, '0008 18c63364 00 30 20010db80012'.replace(/ /g, '')); // F=0, 2001:db8:12::/48, ea-len 8
    const derived = deriveMapE(decodeDomain(option(94, wide + narrow + BR_1)), prefix('2001:db8:12:3400::/56'), 'rfc7597');
    if (!derived.ok) throw new Error(derived.error);
    expect(formatIpv6Prefix(derived.value.bmr.ipv6Prefix)).toBe('2001:db8:12::/48');
    expect(derived.value.fmrs.map((r) => formatIpv6Prefix(r.ipv6Prefix))).toEqual(['2001:db8::/32']);
    expect(formatIpv4(derived.value.params.ipv4)).toBe('198.51.100.52');
  });

  it('reports a delegated prefix no rule covers', () => {
    const derived = deriveMapE(decodeDomain(option(94, RULE_EX1 + BR_1)), prefix('2001:db9::/56'), 'rfc7597');
    expect(derived).toEqual({ ok: false, error: 'no rule matches the delegated prefix 2001:db9::/56 (rule prefixes: 2001:db8::/40)' });
  });

  it('reports a domain without rules or BRs built by hand', () => {
    expect(deriveMapE({ rules: [], br: [1n] }, prefix('2001:db8::/56'), 'rfc7597')).toEqual({ ok: false, error: 'the domain has no S46_RULE' });
    expect(deriveMapE({ rules: [], br: [] }, prefix('2001:db8::/56'), 'rfc7597')).toEqual({ ok: false, error: 'the MAP-E domain has no S46_BR' });
  });
});

describe('parseHex', () => {
  it('reports truncated and non-hex text', () => {
    expect(parseHex('005e0')).toEqual({ ok: false, error: 'odd number of hex digits (5): truncated' });
    expect(parseHex('005g')).toEqual({ ok: false, error: "not a hex digit: 'g' at position 4" });
    expect(parseHex('')).toEqual({ ok: false, error: 'no hex digits' });
  });

  it('allows separators only when asked', () => {
    expect(parseHex('0x00:5e 00 00', true)).toEqual({ ok: true, value: new Uint8Array([0, 0x5e, 0, 0]) });
    expect(parseHex('00 5e').ok).toBe(false);
  });
});
