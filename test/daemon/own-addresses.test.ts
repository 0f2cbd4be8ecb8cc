/**
 * Which /128s on the WAN maped takes as its own after a lost ownership
 * record (src/daemon/own-addresses.ts): for every softwire kind, the
 * address it adds, under the prefix delegated now and an earlier one, the
 * bindings it knows (the current and the one applied before), and never an
 * address of another host on the same prefix. The expected addresses are
 * written out by hand from RFC 7597 §6's interface identifier
 * (| 16 bits 0 | IPv4 address | PSID |, RFC 7596 §5.1 for lw4o6).
 */
import { describe, expect, it } from 'vitest';
import { ownAddressTest } from '../../src/daemon/own-addresses.js';
import { selectSoftwire } from '../../src/daemon/select-mapping.js';
import { NO_S46_OPTIONS } from '../../src/dhcpv6/index.js';
import { parseIpv4, parseIpv6, parseIpv6Prefix } from '../../src/map/index.js';
import {
  dsliteSoftwire,
  ipipSoftwire,
  lw4o6Softwire,
  SOFTWIRE_KINDS,
  type Lw4o6Binding,
  type Softwire,
  type SoftwireKind,
} from '../../src/softwire/index.js';
import { configFrom } from '../support/config.js';
import { must } from '../support/must.js';

const v6 = (text: string): bigint => must(parseIpv6(text));
const prefix6 = (text: string) => must(parseIpv6Prefix(text));

const AFTR = v6('2001:db8:ffff::2');
/** 203.0.113.16 = cb00:7110, PSID 3 of 8 bits. */
const BINDING: Lw4o6Binding = { ipv4: must(parseIpv4('203.0.113.16')), psidOffset: 6, psidLen: 8, psid: 3, bindPrefix: null, aftr: AFTR };
const PREFIX_A = '2001:db8:3:100::/56';
const PREFIX_B = '2001:db8:3:200::/56';

const lw4o6 = (binding: Partial<Lw4o6Binding>, prefix: string): Softwire => must(lw4o6Softwire({ ...BINDING, ...binding }, prefix6(prefix), 'static'));
const dslite = (prefix: string, wanAddress: string | null = null): Softwire =>
  must(dsliteSoftwire({ aftr: AFTR, aftrName: null }, prefix6(prefix), 'static', wanAddress === null ? null : v6(wanAddress)));
const ipip = (local: string): Softwire =>
  must(ipipSoftwire({ local: v6(local), remote: v6('2001:db8:7::1'), ipv4: { address: must(parseIpv4('203.0.113.1')), length: 32 } }, 'static'));

/** The bundled example's rule (RFC 7597 Appendix A Example 1): 2001:db8::/40 → 192.0.2.0/24, ea-len 16, offset 6. */
const MAP_CONFIG = configFrom('wan em0\nrule {\n\tipv6-prefix 2001:db8::/40\n\tipv4-prefix 192.0.2.0/24\n\tea-len 16\n\tpsid-offset 6\n\tbr 2001:db8:ffff::1\n}\n');
function mapE(prefix: string) {
  const selection = selectSoftwire(MAP_CONFIG, { interface: 'em0', endUserPrefix: prefix6(prefix), s46: NO_S46_OPTIONS });
  if (!selection.ok) throw new Error(selection.reason);
  return selection;
}

/** Which of `addresses` the test made of `known` takes as maped's. */
function recognised(test: (address: bigint) => boolean, addresses: readonly string[]): string[] {
  return addresses.filter((a) => test(v6(a)));
}

describe('lw4o6 (RFC 7596 §5.1: the B4 address is not made from EA bits)', () => {
  const currentA = '2001:db8:3:100:0:cb00:7110:3';
  const earlierB = '2001:db8:3:200:0:cb00:7110:3';

  it('the address of the current binding, and of the same binding under an earlier prefix', () => {
    expect(lw4o6({}, PREFIX_A).tunnel.source).toBe(v6(currentA));
    // Running on B now, A's address left behind by a lost record is still ours, and the other way round.
    expect(recognised(ownAddressTest([], [lw4o6({}, PREFIX_B)]), [currentA, earlierB])).toEqual([currentA, earlierB]);
    expect(recognised(ownAddressTest([], [lw4o6({}, PREFIX_A)]), [currentA, earlierB])).toEqual([currentA, earlierB]);
  });

  it('a previous binding (another PSID, another IPv4 address) is known only while it is: the one applied last is passed in', () => {
    const previous = lw4o6({ psid: 4 }, PREFIX_A);
    const other = lw4o6({ ipv4: must(parseIpv4('203.0.113.17')) }, PREFIX_A);
    const addresses = ['2001:db8:3:100:0:cb00:7110:4', '2001:db8:3:100:0:cb00:7111:3'];
    expect(recognised(ownAddressTest([], [lw4o6({}, PREFIX_B), previous]), addresses)).toEqual([addresses[0]]);
    expect(recognised(ownAddressTest([], [lw4o6({}, PREFIX_B), other]), addresses)).toEqual([addresses[1]]);
    expect(recognised(ownAddressTest([], [lw4o6({}, PREFIX_B)]), addresses)).toEqual([]);
  });

  it('not a foreign /128 on the WAN: the same prefix with another interface identifier, another PSID, another IPv4 address, the draft-03 layout', () => {
    const test = ownAddressTest([], [lw4o6({}, PREFIX_A)]);
    const foreign = [
      '2001:db8:3:100::1',
      '2001:db8:3:100:21a:2bff:fe3c:4d5e',
      '2001:db8:3:100:0:cb00:7110:4',
      '2001:db8:3:100:0:cb00:7110:0',
      '2001:db8:3:100:0:cb00:7111:3',
      '2001:db8:3:100:cb:71:1000:300',
    ];
    expect(recognised(test, foreign)).toEqual([]);
  });

  it('without address sharing the PSID field is 0 (RFC 7597 §6), under any prefix', () => {
    const test = ownAddressTest([], [lw4o6({ psidLen: 0, psid: 0 }, PREFIX_A)]);
    expect(recognised(test, ['2001:db8:3:100:0:cb00:7110:0', '2001:db8:3:200:0:cb00:7110:0', '2001:db8:3:100:0:cb00:7110:3'])).toEqual([
      '2001:db8:3:100:0:cb00:7110:0',
      '2001:db8:3:200:0:cb00:7110:0',
    ]);
  });

  it('a binding /128 is that address alone, not made from a prefix', () => {
    const softwire = lw4o6({ bindPrefix: prefix6('2001:db8:3:100::beef/128') }, PREFIX_A);
    const test = ownAddressTest([], [softwire]);
    expect(recognised(test, ['2001:db8:3:100::beef', '2001:db8:3:200::beef', '2001:db8:3:100:0:cb00:7110:3'])).toEqual(['2001:db8:3:100::beef']);
  });

  it('a bind prefix inside the delegated one: its first /64, and the same binding in the /64 of a later bind prefix', () => {
    const softwire = lw4o6({ bindPrefix: prefix6('2001:db8:3:1f0::/60') }, PREFIX_A);
    expect(softwire.tunnel.source).toBe(v6('2001:db8:3:1f0:0:cb00:7110:3'));
    const test = ownAddressTest([], [softwire]);
    expect(recognised(test, ['2001:db8:3:1f0:0:cb00:7110:3', '2001:db8:3:2f0:0:cb00:7110:3', '2001:db8:3:1f0::3'])).toEqual([
      '2001:db8:3:1f0:0:cb00:7110:3',
      '2001:db8:3:2f0:0:cb00:7110:3',
    ]);
  });
});

describe('DS-Lite (RFC 6333) and IPIP (RFC 2473)', () => {
  it("DS-Lite with a delegated prefix: 192.0.0.2's identifier in the prefix's first /64, now or earlier; nothing else there", () => {
    const test = ownAddressTest([], [dslite(PREFIX_B)]);
    expect(recognised(test, ['2001:db8:3:200:0:c000:2:0', '2001:db8:3:100:0:c000:2:0', '2001:db8:3:200::1', '2001:db8:3:200:0:c000:1:0'])).toEqual([
      '2001:db8:3:200:0:c000:2:0',
      '2001:db8:3:100:0:c000:2:0',
    ]);
  });

  it("DS-Lite on SLAAC adds nothing, so adopts nothing: never the WAN's own address", () => {
    const slaac = '2001:db8:3:100:21a:2bff:fe3c:4d5e';
    const softwire = dslite('2001:db8:3:100::/64', slaac);
    expect(softwire.tunnel).toMatchObject({ source: v6(slaac), onWan: true });
    expect(recognised(ownAddressTest([], [softwire]), [slaac, '2001:db8:3:100:0:c000:2:0'])).toEqual([]);
  });

  it('IPIP: its local end as given, no other address of its prefix', () => {
    const test = ownAddressTest([], [ipip('2001:db8:7:100::7'), ipip('2001:db8:7:100::9')]);
    expect(recognised(test, ['2001:db8:7:100::7', '2001:db8:7:100::9', '2001:db8:7:100::8', '2001:db8:7:200::7'])).toEqual([
      '2001:db8:7:100::7',
      '2001:db8:7:100::9',
    ]);
  });
});

describe('MAP-E (RFC 7597): the rules recognise the CE addresses of every prefix', () => {
  it('the CE address of the current and of an earlier prefix by the rule; the softwire alone knows its own address only', () => {
    const now = mapE('2001:db8:12:5600::/56');
    const addresses = ['2001:db8:12:5600:0:c000:212:56', '2001:db8:12:3400:0:c000:212:34', '2001:db8:12:3400:0:c000:212:35', '2001:db8:12:3400::1'];
    expect(recognised(ownAddressTest(now.rules, [now.softwire]), addresses)).toEqual(addresses.slice(0, 2));
    expect(recognised(ownAddressTest([], [now.softwire]), addresses)).toEqual(addresses.slice(0, 1));
  });
});

describe('every kind', () => {
  /** One softwire of each kind on prefix A (a Record: a new kind must be added here). */
  const EXAMPLES: Record<SoftwireKind, Softwire> = {
    'map-e': mapE('2001:db8:12:3400::/56').softwire,
    lw4o6: lw4o6({}, PREFIX_A),
    ipip: ipip('2001:db8:3:100::7'),
    dslite: dslite(PREFIX_A),
  };

  it.each(SOFTWIRE_KINDS.map((kind) => [kind]))('%s: the address it adds is recognised, a host beside it in its /64 is not', (kind) => {
    const softwire = EXAMPLES[kind];
    const test = ownAddressTest([], [softwire]);
    expect(test(softwire.tunnel.source)).toBe(true);
    const neighbour = (softwire.tunnel.source & ~0xffffffffffffffffn) | 0x21a2bfffe3c4d5en;
    expect(test(neighbour)).toBe(false);
    // Known to no one: nothing is adopted.
    expect(ownAddressTest([], [])(softwire.tunnel.source)).toBe(false);
  });
});
