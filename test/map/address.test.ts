import { Address4, Address6 } from 'ip-address';
import { describe, expect, it } from 'vitest';
import { AsciiSink, formatIpv4, formatIpv6, parseIpv4, parseIpv6, parseIpv6Prefix, parseIpv4Prefix, scanIpv4 } from '../../src/map/index.js';

/** A small deterministic generator so failures reproduce. */
function* randomAddresses(seed: number, count: number): Generator<bigint> {
  let state = BigInt(seed);
  for (let i = 0; i < count; i++) {
    state = (state * 6364136223846793005n + 1442695040888963407n) & ((1n << 64n) - 1n);
    const high = state;
    state = (state * 6364136223846793005n + 1442695040888963407n) & ((1n << 64n) - 1n);
    let value = (high << 64n) | state;
    // Zero out random groups so '::' compression gets exercised.
    for (let g = 0; g < 8; g++) if (((state >> BigInt(g * 3)) & 3n) === 0n) value &= ~(0xffffn << BigInt(16 * g));
    yield value;
  }
}

describe('IPv6 text, against the ip-address library', () => {
  it('formats in RFC 5952 form exactly as ip-address correctForm() does', () => {
    for (const value of randomAddresses(1, 5000)) {
      expect(formatIpv6(value)).toBe(Address6.fromBigInt(value).correctForm());
    }
  });

  it('writes into an AsciiSink exactly what ip-address correctForm() prints, edge runs of zeros included', () => {
    const edges = [0n, 1n, 1n << 112n, (1n << 128n) - 1n, 0xffffn << 16n, (1n << 112n) | 1n, 0x20010db8n << 96n];
    for (const value of [...edges, ...randomAddresses(3, 5000)]) {
      const sink = new AsciiSink(4);
      sink.ipv6(value);
      expect(sink.toString()).toBe(Address6.fromBigInt(value).correctForm());
    }
  });

  it('parses every form ip-address prints back to the same number', () => {
    for (const value of randomAddresses(2, 5000)) {
      const address = Address6.fromBigInt(value);
      for (const text of [address.correctForm(), address.canonicalForm(), address.to4in6()]) {
        const parsed = parseIpv6(text);
        expect(parsed.ok && parsed.value).toBe(value);
        expect(new Address6(text).bigInt()).toBe(value);
      }
    }
  });

  it('parses an embedded IPv4 tail', () => {
    expect(parseIpv6('::ffff:192.0.2.1')).toEqual({ ok: true, value: new Address6('::ffff:192.0.2.1').bigInt() });
  });

  it.each([
    ['2001:zz8::', "Only hex digits permitted in 'zz8' in '2001:zz8::'"],
    ['2001:db8', "At least 3 parts expected from '2001:db8'"],
    ['1:2:3:4:5:6:7', "Exactly 8 parts expected without '::' in '1:2:3:4:5:6:7'"],
    ['1::2::3', "At most one '::' permitted in '1::2::3'"],
    ['12345::', "At most 4 characters permitted in '12345' in '12345::'"],
    ['fe80::1%em0', "Zone identifiers are not permitted in 'fe80::1%em0'"],
  ])('refuses %s', (text, message) => {
    expect(parseIpv6(text)).toEqual({ ok: false, error: message });
    // ip-address accepts zone ids (a prefix in a rule or lease never has one); everything else it refuses too.
    if (!text.includes('%')) expect(() => new Address6(text)).toThrow();
  });
});

describe('IPv4 text', () => {
  it('round-trips and agrees with ip-address', () => {
    for (const text of ['0.0.0.0', '192.0.2.18', '255.255.255.255', '10.1.2.3']) {
      const parsed = parseIpv4(text);
      expect(parsed.ok && parsed.value).toBe(Number(new Address4(text).bigInt()));
      expect(parsed.ok && formatIpv4(parsed.value)).toBe(text);
    }
  });

  it('writes into an AsciiSink what formatIpv4 prints', () => {
    for (const value of [0, 1, 0x0a000001, 0xc0000212, 0xffffffff, 0x7f000001, 0x01020304]) {
      const sink = new AsciiSink(2);
      sink.ipv4(value);
      expect(sink.toString()).toBe(formatIpv4(value));
      expect(sink.toString()).toBe(Address4.fromInteger(value).correctForm());
    }
  });

  it('writes whole numbers into an AsciiSink as String() does, across the 2^31 and 2^53 edges', () => {
    const values = [0, 9, 10, 99, 100, 65535, 65536, 2 ** 31 - 1, 2 ** 31, 2 ** 32 + 7, 2 ** 53 - 1];
    let state = 12345;
    for (let i = 0; i < 2000; i++) {
      state = (state * 1103515245 + 12345) % 2 ** 31;
      values.push(Math.floor((state / 2 ** 31) * 2 ** (i % 54)));
    }
    for (const value of values) {
      const sink = new AsciiSink(1);
      sink.uint(value);
      expect(sink.toString(), String(value)).toBe(String(value));
    }
  });

  it.each([
    ['192.0.2', "Expected 4 octets in '192.0.2'"],
    ['192.0.2.256', "Octet 256 (> 255) not permitted in '192.0.2.256'"],
    ['192.0.2.x', "Only decimal digits permitted in 'x' in '192.0.2.x'"],
    ['192.0.2.01', "Leading zeros are not permitted in '01' in '192.0.2.01'"],
  ])('refuses %s', (text, message) => {
    expect(parseIpv4(text)).toEqual({ ok: false, error: message });
  });
});

describe('prefixes', () => {
  it('clear host bits', () => {
    expect(parseIpv6Prefix('2001:db8:0:ffff::/40')).toEqual({ ok: true, value: { address: 0x20010db8n << 96n, length: 40 } });
    expect(parseIpv4Prefix('192.0.2.77/24')).toEqual({ ok: true, value: { address: 0xc0000200, length: 24 } });
  });

  it.each([
    ['2001:db8::/', "'' is not a valid netmask"],
    ['2001:db8::/129', "'129' is not a valid netmask"],
    ['192.0.2.0/33', "'33' is not a valid netmask"],
    ['2001:db8::', "'2001:db8::' has no prefix length"],
  ])('refuse %s', (text, message) => {
    const result = text.includes('.') ? parseIpv4Prefix(text) : parseIpv6Prefix(text);
    expect(result).toEqual({ ok: false, error: message });
  });
});

describe('errors quote at most MAX_SHOWN characters of the input, controls escaped', () => {
  const cut = `'${'a:'.repeat(32)}…'`;
  it.each([
    ['a 60,000-character IPv6 address', () => parseIpv6('a:'.repeat(30_000)), `At most 8 colons permitted in ${cut}`],
    ['a 60,000-character IPv6 prefix', () => parseIpv6Prefix(`${'a:'.repeat(30_000)}/56`), `At most 8 colons permitted in ${cut}`],
    ['one 60,000-digit IPv6 group', () => parseIpv6(`1::${'f'.repeat(60_000)}`), `At most 4 characters permitted in '${'f'.repeat(64)}…' in '1::${'f'.repeat(61)}…'`],
    ['a 60,000-character IPv4 address', () => parseIpv4('1'.repeat(60_000)), `Expected 4 octets in '${'1'.repeat(64)}…'`],
    ['a prefix length of 60,000 digits', () => parseIpv4Prefix(`192.0.2.0/${'9'.repeat(60_000)}`), `'${'9'.repeat(64)}…' is not a valid netmask`],
  ])('%s', (_what, parse, message) => {
    expect(parse()).toEqual({ ok: false, error: message });
  });

  it('escapes C0, DEL, C1 and the line separators in what it quotes', () => {
    expect(parseIpv6('2001:db8::\u001b]0;x\u0007\n\u007f\u009b\u2028')).toEqual({
      ok: false,
      error: "At most 4 characters permitted in '\\x1b]0;x\\x07\\x0a\\x7f\\x9b\\u2028' in '2001:db8::\\x1b]0;x\\x07\\x0a\\x7f\\x9b\\u2028'",
    });
  });
});

describe('scanIpv4, the allocation-free dotted-quad scan parseIpv4 tries first', () => {
  // An independent reference: four octets 0-255 in decimal, no leading zero.
  const OCTET = '(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])';
  const REFERENCE = new RegExp(`^${OCTET}(\\.${OCTET}){3}$`);

  it('accepts exactly what the reference accepts, with the same value, and parseIpv4 agrees', () => {
    const texts = [
      '0.0.0.0', '255.255.255.255', '192.0.2.18', '10.0.0.1', '1.2.3.4',
      '256.0.0.1', '01.2.3.4', '1.2.3.04', '00.0.0.0', '1.2.3', '1.2.3.4.5', '1..2.3', '.1.2.3', '1.2.3.', '',
      '1.2.3.4 ', ' 1.2.3.4', '1.2.3.a', '1.2.3.1000', '1.2.3.-1', '１.2.3.4', '1.2.3.4/24',
    ];
    // And a sweep of quads from a fixed-seed generator, some with out-of-range or zero-padded octets.
    let state = 12345;
    const next = (): number => (state = (state * 1103515245 + 12345) % 2147483648) / 2147483648;
    for (let i = 0; i < 2000; i++) {
      const octet = (): string => {
        const n = Math.floor(next() * 300);
        return next() < 0.05 ? `0${n}` : String(n);
      };
      texts.push([octet(), octet(), octet(), octet()].join('.'));
    }
    for (const text of texts) {
      const scanned = scanIpv4(text);
      const expected = REFERENCE.test(text) ? text.split('.').reduce((v, o) => v * 256 + Number(o), 0) : null;
      expect(scanned, text).toBe(expected);
      expect(parseIpv4(text).ok, text).toBe(expected !== null);
    }
  });
});
