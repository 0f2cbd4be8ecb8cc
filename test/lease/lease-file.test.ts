import { describe, expect, it } from 'vitest';
import { toDecodeJson } from '../../src/dhcpv6/index.js';
import { parseLeaseFile } from '../../src/lease/index.js';
import { formatIpv6Prefix } from '../../src/map/index.js';

const PATH = '/var/db/dhcp6leased/em0';
const COSMOTE = 's46 94 00590016000e1857ca3a002a2a0205866200005d000406000000005a00102a020586000000000000000000000406';

describe('parseLeaseFile: good input', () => {
  it('reads several IA_PDs, comments and blank lines', () => {
    const lease = parseLeaseFile('# written by hand\n\nia_pd 0 2001:db8:1200:3400:: 56\nia_pd 1 2001:db8:99:: 48   # second\n', PATH);
    if (!lease.ok) throw new Error(lease.error);
    expect(lease.value.prefixes.map((p) => [p.ia, formatIpv6Prefix(p.prefix)])).toEqual([
      [0, '2001:db8:1200:3400::/56'],
      [1, '2001:db8:99::/48'],
    ]);
  });

  it('treats an empty file as a lease without prefixes', () => {
    expect(parseLeaseFile('', PATH)).toEqual({ ok: true, value: { prefixes: [], s46: { mapE: [], mapT: [], lw4o6: [] } } });
  });

  it('reads the payload quoted, as the patched dhcp6leased writes it, and unquoted, as its first revision did', () => {
    const [keyword, code, hex] = COSMOTE.split(' ') as [string, string, string];
    const quoted = parseLeaseFile(`ia_pd 0 2001:db8:100:4200:: 56\n${keyword} ${code} "${hex}"\n`, PATH);
    const bare = parseLeaseFile(`ia_pd 0 2001:db8:100:4200:: 56\n${COSMOTE}\n`, PATH);
    if (!quoted.ok) throw new Error(quoted.error);
    expect(toDecodeJson(quoted.value.s46).mapE.map((d) => d.br)).toEqual([['2a02:586::406']]);
    expect(quoted).toEqual(bare);
    // A quote that does not close is not hex.
    expect(parseLeaseFile(`${keyword} ${code} "${hex}\n`, PATH).ok).toBe(false);
  });

  it('keeps s46 containers in order, then the mape_* domain', () => {
    const text = [
      'ia_pd 0 2001:db8:100:4200:: 56',
      COSMOTE,
      'mape_rule 1 16 192.0.2.0 24 2001:db8:100:: 48',
      'mape_br 2001:db8:ffff::1',
    ].join('\n');
    const lease = parseLeaseFile(text, PATH);
    if (!lease.ok) throw new Error(lease.error);
    expect(toDecodeJson(lease.value.s46).mapE.map((d) => d.br)).toEqual([['2a02:586::406'], ['2001:db8:ffff::1']]);
    expect(lease.value.s46.mapE[1]?.rules[0]?.fmr).toBe(true);
  });
});

describe('parseLeaseFile: every bad input refuses the file with path:line: reason', () => {
  const cases: [string, string, string][] = [
    ['garbage line', 'ia_pd 0 2001:db8:: 56\nhello world', `${PATH}:2: unknown keyword 'hello'`],
    ['truncated hex', `ia_pd 0 2001:db8:: 56\n${COSMOTE.slice(0, -1)}`, `${PATH}:2: s46 94: bad hex: odd number of hex digits (91): truncated`],
    ['a payload cut at a whole byte', `ia_pd 0 2001:db8:: 56\n${COSMOTE.slice(0, -2)}`, `${PATH}:2: s46 94: S46_CONT_MAPE at byte 0: S46_BR at byte 30 has option-length 16 but only 15 bytes follow`],
    ['an s46 code that is no container', 'ia_pd 0 2001:db8:: 56\ns46 89 00', `${PATH}:2: S46 option code 89 out of range 94..96`],
    ['duplicate BR', 'ia_pd 0 2001:db8:100:4200:: 56\nmape_br 2001:db8:ffff::1\nmape_rule 0 16 192.0.2.0 24 2001:db8:100:: 48\nmape_br 2001:db8:ffff::1', `${PATH}:4: mape_br: duplicate BR 2001:db8:ffff::1`],
    ['a rule without its IPv6 prefix', 'ia_pd 0 2001:db8:: 56\nmape_rule 0 16 192.0.2.0 24', `${PATH}:2: mape_rule takes 6 fields, found 4`],
    ['a rule without its IPv6 prefix length', 'ia_pd 0 2001:db8:: 56\nmape_rule 0 16 192.0.2.0 24 2001:db8:100::', `${PATH}:2: mape_rule: rule without an IPv6 prefix length`],
    ['rules without any ia_pd', 'mape_br 2001:db8:ffff::1\nmape_rule 0 16 192.0.2.0 24 2001:db8:100:: 48', `${PATH}:2: MAP rules but no ia_pd line: no delegated prefix to apply them to`],
    ['a multicast BR', 'ia_pd 0 2001:db8:: 56\nmape_br ff02::1', `${PATH}:2: mape_br: BR address: ff02::1 is a multicast address, not a unicast address (RFC 7597 §5.4)`],
    ['an IPv4-mapped BR', 'ia_pd 0 2001:db8:: 56\nmape_br ::ffff:1.2.3.4', `${PATH}:2: mape_br: BR address: ::ffff:102:304 is an IPv4-mapped address, not a unicast address (RFC 7597 §5.4)`],
    ['a BR without a rule', 'ia_pd 0 2001:db8:: 56\nmape_br 2001:db8:ffff::1', `${PATH}: MAP-E BR given without any rule`],
    ['a rule without a BR', 'ia_pd 0 2001:db8:: 56\nmape_rule 0 16 192.0.2.0 24 2001:db8:100:: 48', `${PATH}: MAP-E rule given without any BR`],
    ['port parameters before a rule', 'ia_pd 0 2001:db8:: 56\nmape_portparams 6 8 42', `${PATH}:2: mape_portparams: port parameters before any rule`],
    ['a PSID wider than psid-len', 'ia_pd 0 2001:db8:: 56\nmape_rule 0 16 192.0.2.0 24 2001:db8:100:: 48\nmape_portparams 6 4 42', `${PATH}:3: mape_portparams: psid 42 does not fit psid-len 4`],
    ['ea-len out of range', 'ia_pd 0 2001:db8:: 56\nmape_rule 0 49 192.0.2.0 24 2001:db8:100:: 48', `${PATH}:2: mape_rule: ea-len 49 out of range 0..48`],
    ['a bad ia_pd prefix length', 'ia_pd 0 2001:db8:: 0', `${PATH}:1: prefix length 0 out of range 1..128`],
    ['a bad ia_pd address', 'ia_pd 0 2001:db8::zz 56', `${PATH}:1: ia_pd prefix: Only hex digits permitted in 'zz' in '2001:db8::zz'`],
    ['an IA number given twice', 'ia_pd 0 2001:db8:: 56\nia_pd 0 2001:db9:: 56', `${PATH}:2: ia_pd 0 given twice`],
    ['an ia_pd with a missing field', 'ia_pd 0 2001:db8::', `${PATH}:1: ia_pd takes 3 fields, found 2`],
  ];

  it.each(cases)('%s', (_what, text, message) => {
    expect(parseLeaseFile(text, PATH)).toEqual({ ok: false, error: message });
  });

  it('quotes at most 64 characters of a long bad field, with its controls escaped', () => {
    const long = parseLeaseFile(`ia_pd 0 ${'a:'.repeat(30_000)} 56`, PATH);
    expect(long).toEqual({ ok: false, error: `${PATH}:1: ia_pd prefix: At most 8 colons permitted in '${'a:'.repeat(32)}…'` });
    const controls = parseLeaseFile('ia_pd 0 2001:db8::\u001b[2J 56\n', PATH);
    expect(controls).toEqual({ ok: false, error: `${PATH}:1: ia_pd prefix: Only hex digits permitted in '\\x1b[2J' in '2001:db8::\\x1b[2J'` });
    expect(parseLeaseFile(`ia_pd ${'9'.repeat(1000)} 2001:db8:: 56`, PATH)).toEqual({ ok: false, error: `${PATH}:1: IA number '${'9'.repeat(64)}…' is not a whole number` });
  });

  it('refuses a file far larger than any lease', () => {
    const result = parseLeaseFile('#'.repeat(70_000), PATH);
    expect(result).toEqual({ ok: false, error: `${PATH}: larger than 65536 bytes, not a lease file` });
  });
});
