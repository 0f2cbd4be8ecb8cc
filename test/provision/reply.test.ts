import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { deriveMapE } from '../../src/dhcpv6/index.js';
import { formatIpv4, formatIpv4Prefix, formatIpv6, formatIpv6Prefix, parseIpv6Prefix } from '../../src/map/index.js';
import { chooseKind, parseReply, validateReply, type ProvisionedMapE, type ProvisionedSoftwire, type Reply } from '../../src/provision/index.js';
import { V6PLUS_REPLY } from './v6plus-reply.js';
import { SPEC_REPLY_EXAMPLE } from './spec-example.js';
import { MAPEDCTL_ENTRY } from '../support/daemon-process.js';
import { REPO_ROOT } from '../support/vectors.js';

const run = promisify(execFile);

function mapEOf(softwire: ProvisionedSoftwire): ProvisionedMapE {
  if (softwire.kind !== 'map-e') throw new Error(`${softwire.kind}, not map-e`);
  return softwire;
}

function mustReply(value: unknown): Reply {
  const reply = validateReply(value);
  if (!reply.ok) throw new Error(reply.error);
  return reply.value;
}

describe('HB46PP reply (v6mig-prov §3.4)', () => {
  it('takes the example of §3.4 whole and chooses map_e, the first kind maped runs in its order', () => {
    const example = {
      enabler_name: 'A VNE', service_name: 'Highspeed 4over6', isp_name: 'ISP-A', ttl: 86400,
      token: '640756965820d3b9025b6941f9590af6802830ba58663fe8f043dc92b576f17a', auth: 'ok',
      order: ['464xlat', 'map_e', 'dslite'],
      map_e: { version: 0, mesh: true, br: '2001:db8:1::1',
        rules: [{ ipv6: '2001:db8:1:2000::/52', ipv4: '203.0.113.0/24', ea_length: 12, psid_offset: 4 }] },
      dslite: { aftr: 'aftr.example.net' },
      '464xlat': { nat64prefix: '2001:db8:6::/96' },
      future_kind: { anything: [1, 2, 3] },
    };
    const choice = chooseKind(mustReply(example));
    expect(choice.ok).toBe(true);
    if (!choice.ok) return;
    expect(choice.value.why).toBe('map_e is entry 2 of order [464xlat, map_e, dslite]; passed over: 464xlat (not supported)');
    const { domain, interfaceId, mesh } = mapEOf(choice.value.softwire);
    expect(interfaceId).toBe('draft03');
    expect(mesh).toBe(true);
    expect(domain.br.map(formatIpv6)).toEqual(['2001:db8:1::1']);
    expect(domain.rules.map((r) => [formatIpv6Prefix(r.ipv6Prefix), r.eaLen, r.portParams?.psidOffset, r.fmr])).toEqual([
      ['2001:db8:1:2000::/52', 12, 4, true],
    ]);
  });

  it('version 1 means the RFC 7597 interface id; 0 or absent draft-03', () => {
    const with_ = (version: unknown) => {
      const choice = chooseKind(mustReply({ ...V6PLUS_REPLY, map_e: { ...V6PLUS_REPLY.map_e, version } }));
      return choice.ok ? mapEOf(choice.value.softwire).interfaceId : choice.error;
    };
    expect(with_(1)).toBe('rfc7597');
    expect(with_(0)).toBe('draft03');
    expect(with_(undefined)).toBe('draft03');
  });

  it.each([
    ['ttl above 604800', { ttl: 604801 }, /ttl/],
    ['a short token', { token: 'abc' }, /token: not 64 lower-case hex digits/],
    ['an upper-case token', { token: 'A'.repeat(64) }, /token/],
    ['a name over 256 bytes with its quotes', { enabler_name: 'x'.repeat(255) }, /enabler_name: longer than 256 bytes/],
    ['no order', { order: undefined }, /order/],
    ['an unknown auth', { auth: 'maybe' }, /auth/],
  ])('refuses %s', (_what, change, reason) => {
    const reply = validateReply({ ...V6PLUS_REPLY, ...change });
    expect(reply.ok).toBe(false);
    if (!reply.ok) expect(reply.error).toMatch(reason);
  });

  it('accepts names of exactly 256 bytes with their quotes, in UTF-8 bytes', () => {
    expect(validateReply({ ...V6PLUS_REPLY, enabler_name: 'x'.repeat(254) }).ok).toBe(true);
    // 85 three-byte characters are 255 bytes, 257 with the quotes.
    expect(validateReply({ ...V6PLUS_REPLY, enabler_name: 'あ'.repeat(85) }).ok).toBe(false);
  });

  it('accepts 256 MAP-E rules and refuses 257', () => {
    const rules = (n: number) =>
      Array.from({ length: n }, (_, i) => ({ ipv6: `2001:db8:${i.toString(16)}::/48`, ipv4: '192.0.2.0/24', ea_length: 16, psid_offset: 6 }));
    const of = (n: number) => chooseKind(mustReply({ ...V6PLUS_REPLY, map_e: { br: '2001:db8::1', rules: rules(n) } }));
    const ok = of(256);
    expect(ok.ok && mapEOf(ok.value.softwire).domain.rules.length).toBe(256);
    const tooMany = of(257);
    expect(tooMany).toMatchObject({ ok: false, error: expect.stringMatching(/map_e \(map_e: rules: .*256/) });
  });

  it('an empty order is "no service"; an order of kinds maped cannot run, or a bad map_e, is unusable', () => {
    expect(chooseKind(mustReply({ ...V6PLUS_REPLY, order: [] }))).toMatchObject({ ok: false, error: expect.stringMatching(/order is empty/) });
    expect(chooseKind(mustReply({ ...V6PLUS_REPLY, order: ['464xlat', 'map_t'] }))).toMatchObject({
      ok: false,
      error: 'no usable kind in order [464xlat, map_t]: 464xlat (not supported), map_t (not supported)',
    });
    const badBr = chooseKind(mustReply({ ...V6PLUS_REPLY, map_e: { ...V6PLUS_REPLY.map_e, br: '106.72.0.1' } }));
    expect(badBr).toMatchObject({ ok: false, error: expect.stringMatching(/map_e: br: /) });
    // RFC 7597 §5.4: the BR is a unicast tunnel end, as maped.conf's br must be.
    for (const [br, reason] of [
      ['ff02::1', 'a multicast address'],
      ['::', 'the unspecified address'],
      ['::1', 'the loopback address'],
      ['fe80::1', 'a link-local address'],
      ['::ffff:1.2.3.4', 'an IPv4-mapped address'],
    ]) {
      const notUnicast = chooseKind(mustReply({ ...V6PLUS_REPLY, order: ['map_e'], map_e: { ...V6PLUS_REPLY.map_e, br } }));
      expect(notUnicast).toEqual({ ok: false, error: `no usable kind in order [map_e]: map_e (map_e: br: not a tunnel endpoint: ${br} is ${reason}, not a unicast address)` });
    }
    const badEa = chooseKind(mustReply({ ...V6PLUS_REPLY, map_e: { br: '2001:db8::1', rules: [{ ipv6: '2001:db8::/32', ipv4: '192.0.2.0/24', ea_length: 49, psid_offset: 4 }] } }));
    expect(badEa).toMatchObject({ ok: false, error: expect.stringMatching(/rules\.0\.ea_length/) });
  });

  it('refuses a body that is not JSON or not an object', () => {
    expect(parseReply('{"order": [')).toMatchObject({ ok: false, error: expect.stringMatching(/^reply is not JSON/) });
    expect(parseReply('[1,2]')).toMatchObject({ ok: false, error: expect.stringMatching(/^reply: top level/) });
  });

  it('v6plus: the rules of the reply on a SLAAC /64 give what `mapedctl calc --iid draft03` gives for the same rule', async () => {
    const choice = chooseKind(mustReply(V6PLUS_REPLY));
    if (!choice.ok) throw new Error(choice.error);
    const prefix = '240b:10:3251:6400::/64';
    const parsed = parseIpv6Prefix(prefix);
    if (!parsed.ok) throw new Error(parsed.error);
    const provisioned = mapEOf(choice.value.softwire);
    const derived = deriveMapE(provisioned.domain, parsed.value, provisioned.interfaceId);
    if (!derived.ok) throw new Error(derived.error);
    const { stdout } = await run(
      process.execPath,
      ['--import', 'tsx', MAPEDCTL_ENTRY, 'calc', '--rule', '240b:10::/32,106.72.0.0/16,24,4', '--prefix', prefix, '--iid', 'draft03', '--json'],
      { cwd: REPO_ROOT },
    );
    const calc = JSON.parse(stdout) as { ipv4: string; psid: number; psidLen: number; ceIPv6: string; portSets: number[][] };
    const p = derived.value.params;
    expect({ ipv4: formatIpv4(p.ipv4), psid: p.psid, psidLen: p.psidLen, ceIPv6: formatIpv6(p.ceIPv6), portSets: p.portSets }).toEqual({
      ipv4: calc.ipv4,
      psid: calc.psid,
      psidLen: calc.psidLen,
      ceIPv6: calc.ceIPv6,
      portSets: calc.portSets,
    });
    // And both are the v6plus worked example (106.72.50.81, PSID 100, draft-03 CE).
    expect([calc.ipv4, calc.psid, calc.ceIPv6]).toEqual(['106.72.50.81', 100, '240b:10:3251:6400:6a:4832:5100:6400']);
    expect(formatIpv6(derived.value.br)).toBe('2404:9200:225:100::64');
  });
});

describe('HB46PP reply: lw4o6, ipip and dslite (v6mig-prov §3.4)', () => {
  /** The kind chosen from the spec's example with another order, or the error. */
  function chosen(order: string[], change: Record<string, unknown> = {}) {
    const choice = chooseKind(mustReply({ ...SPEC_REPLY_EXAMPLE, ...change, order }));
    if (!choice.ok) return { error: choice.error };
    const softwire = choice.value.softwire;
    const aftrText = (aftr: bigint | string) => (typeof aftr === 'string' ? aftr : formatIpv6(aftr));
    if (softwire.kind === 'lw4o6') {
      const { ipv4, psidOffset, psidLen, psid, bindPrefix, aftr } = softwire;
      return { kind: 'lw4o6', why: choice.value.why, ipv4: formatIpv4(ipv4), psidOffset, psidLen, psid, bindPrefix: formatIpv6Prefix(bindPrefix), aftr: aftrText(aftr) };
    }
    if (softwire.kind === 'ipip') {
      const tunnels = softwire.tunnels.map((t) => ({ local: formatIpv6(t.local), remote: formatIpv6(t.remote), ipv4: formatIpv4Prefix(t.ipv4), host: t.host === null ? null : formatIpv4(t.host) }));
      return { kind: 'ipip', why: choice.value.why, tunnels };
    }
    if (softwire.kind === 'dslite') return { kind: 'dslite', why: choice.value.why, aftr: aftrText(softwire.aftr) };
    return { kind: softwire.kind, why: choice.value.why };
  }

  it('the example whole, its order as given: map_e (464xlat passed over), its other kinds unread', () => {
    expect(chosen(SPEC_REPLY_EXAMPLE.order)).toMatchObject({ kind: 'map-e', why: 'map_e is entry 2 of order [464xlat, map_e, dslite]; passed over: 464xlat (not supported)' });
  });

  it("lw4o6: the example's binding as given (RFC 7598 §5.3-5.4), the lwAFTR by name", () => {
    expect(chosen(['map_t', 'lw4o6'])).toEqual({
      kind: 'lw4o6',
      why: 'lw4o6 is entry 2 of order [map_t, lw4o6]; passed over: map_t (not supported)',
      ipv4: '203.0.113.16',
      psidOffset: 6,
      psidLen: 8,
      psid: 3,
      bindPrefix: '2001:db8:3:100::/56',
      aftr: 'lwaftr.example.net',
    });
  });

  it('lw4o6 without psid_length: the address is not shared; psid_offset defaults to 6; an lwAFTR address', () => {
    const lw4o6 = { lwaftr: '2001:db8:ffff::2', ipv6: '2001:db8:3:100::/56', ipv4: '203.0.113.16' };
    expect(chosen(['lw4o6'], { lw4o6 })).toMatchObject({ kind: 'lw4o6', psidLen: 0, psid: 0, psidOffset: 6, aftr: '2001:db8:ffff::2' });
  });

  it("ipip: the example's tunnel, its /29 left to the CE's first host; a host part given is the CE's address", () => {
    expect(chosen(['ipip'])).toEqual({
      kind: 'ipip',
      why: 'ipip is entry 1 of order [ipip]',
      tunnels: [{ local: '2001:db8:7:100::7', remote: '2001:db8:7::1', ipv4: '203.0.113.0/29', host: null }],
    });
    const ipip = [{ ...SPEC_REPLY_EXAMPLE.ipip[0], ipv4: '203.0.113.5/29' }, { ipv6_local: '2001:db8:8::7', ipv6_remote: '2001:db8:8::1', ipv4: '198.51.100.7' }];
    expect(chosen(['ipip'], { ipip })).toMatchObject({
      tunnels: [
        { ipv4: '203.0.113.0/29', host: '203.0.113.5' },
        { ipv4: '198.51.100.7/32', host: null },
      ],
    });
  });

  it("dslite: the example's AFTR by name; an address too", () => {
    expect(chosen(['dslite'])).toEqual({ kind: 'dslite', why: 'dslite is entry 1 of order [dslite]', aftr: 'aftr.example.net' });
    expect(chosen(['dslite'], { dslite: { aftr: '2001:db8:ffff::2' } })).toMatchObject({ aftr: '2001:db8:ffff::2' });
  });

  it.each([
    ['lw4o6 psid ≥ 2^psid_length', ['lw4o6'], { lw4o6: { ...SPEC_REPLY_EXAMPLE.lw4o6, psid: 256 } }, 'lw4o6 (lw4o6: psid: psid 256 does not fit psid-len 8 (0-255))'],
    ['lw4o6 psid_offset + psid_length > 16', ['lw4o6'], { lw4o6: { ...SPEC_REPLY_EXAMPLE.lw4o6, psid_offset: 10 } }, 'lw4o6 (lw4o6: psid: psid-offset 10 + psid-len 8 exceed 16 bits)'],
    ['lw4o6 psid_length without psid', ['lw4o6'], { lw4o6: { ...SPEC_REPLY_EXAMPLE.lw4o6, psid: undefined } }, 'lw4o6 (lw4o6: psid: missing with psid_length above 0)'],
    ['lw4o6 without lwaftr', ['lw4o6'], { lw4o6: { ...SPEC_REPLY_EXAMPLE.lw4o6, lwaftr: undefined } }, /^lw4o6 \(lw4o6: lwaftr: /],
    ['an lwaftr that is no name', ['lw4o6'], { lw4o6: { ...SPEC_REPLY_EXAMPLE.lw4o6, lwaftr: 'lw aftr!' } }, 'lw4o6 (lw4o6: lwaftr: not an AFTR: "lw aftr!" is neither an IPv6 address nor a host name)'],
    ['an lw4o6 ipv4 that is a prefix', ['lw4o6'], { lw4o6: { ...SPEC_REPLY_EXAMPLE.lw4o6, ipv4: '203.0.113.0/24' } }, /^lw4o6 \(lw4o6: ipv4: /],
    ['a link-local AFTR', ['dslite'], { dslite: { aftr: 'fe80::1' } }, 'dslite (dslite: aftr: not an AFTR: fe80::1 is a link-local address, not a unicast address)'],
    ['dslite without aftr', ['dslite'], { dslite: {} }, /^dslite \(dslite: aftr: /],
    ['an empty ipip list', ['ipip'], { ipip: [] }, /^ipip \(ipip: top level: /],
    ['17 ipip tunnels', ['ipip'], { ipip: Array(17).fill(SPEC_REPLY_EXAMPLE.ipip[0]) }, /^ipip \(ipip: top level: /],
    ['an ipip object, not a list', ['ipip'], { ipip: SPEC_REPLY_EXAMPLE.ipip[0] }, /^ipip \(ipip: top level: /],
    ['a multicast ipip remote', ['ipip'], { ipip: [{ ...SPEC_REPLY_EXAMPLE.ipip[0], ipv6_remote: 'ff02::1' }] }, 'ipip (ipip: 0.ipv6_remote: not a tunnel endpoint: ff02::1 is a multicast address, not a unicast address)'],
    ['a loopback lw4o6 ipv4', ['lw4o6'], { lw4o6: { ...SPEC_REPLY_EXAMPLE.lw4o6, ipv4: '127.0.0.1' } }, 'lw4o6 (lw4o6: ipv4: 127.0.0.1 is a loopback address)'],
    ['an lw4o6 ipv4 in 0/8', ['lw4o6'], { lw4o6: { ...SPEC_REPLY_EXAMPLE.lw4o6, ipv4: '0.0.0.0' } }, 'lw4o6 (lw4o6: ipv4: 0.0.0.0 is in 0.0.0.0/8)'],
    ['a multicast lw4o6 ipv4', ['lw4o6'], { lw4o6: { ...SPEC_REPLY_EXAMPLE.lw4o6, ipv4: '224.0.0.1' } }, 'lw4o6 (lw4o6: ipv4: 224.0.0.1 is a multicast or reserved address)'],
    ['the broadcast address as ipip ipv4', ['ipip'], { ipip: [{ ...SPEC_REPLY_EXAMPLE.ipip[0], ipv4: '255.255.255.255' }] }, 'ipip (ipip: 0.ipv4: 255.255.255.255 is a multicast or reserved address)'],
    ['an ipip ipv4 prefix in 0/8', ['ipip'], { ipip: [{ ...SPEC_REPLY_EXAMPLE.ipip[0], ipv4: '0.0.0.0/29' }] }, 'ipip (ipip: 0.ipv4: 0.0.0.0/29 is in 0.0.0.0/8)'],
    ['a loopback ipip ipv4 host', ['ipip'], { ipip: [{ ...SPEC_REPLY_EXAMPLE.ipip[0], ipv4: '127.0.0.1/8' }] }, 'ipip (ipip: 0.ipv4: 127.0.0.1/8 is a loopback address)'],
    ['an ipip ipv4 that is not IPv4', ['ipip'], { ipip: [{ ...SPEC_REPLY_EXAMPLE.ipip[0], ipv4: '2001:db8::/64' }] }, /^ipip \(ipip: 0\.ipv4: /],
  ])('refuses %s, naming the field', (_what, order, change, reason) => {
    const result = chosen(order, change);
    expect('error' in result).toBe(true);
    const error = (result as { error: string }).error;
    const passed = error.slice(error.indexOf(': ') + 2);
    if (typeof reason === 'string') expect(passed).toBe(reason);
    else expect(passed).toMatch(reason);
  });

  it('a kind whose object is bad is passed over for the next one in order, and says why', () => {
    const result = chosen(['lw4o6', 'dslite'], { lw4o6: { ...SPEC_REPLY_EXAMPLE.lw4o6, psid: 256 } });
    expect(result).toMatchObject({
      kind: 'dslite',
      why: 'dslite is entry 2 of order [lw4o6, dslite]; passed over: lw4o6 (lw4o6: psid: psid 256 does not fit psid-len 8 (0-255))',
    });
    expect(chosen(['ipip', 'dslite'], { ipip: undefined })).toMatchObject({ kind: 'dslite', why: expect.stringMatching(/passed over: ipip \(no ipip object\)$/) });
  });
});
