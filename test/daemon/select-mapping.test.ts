import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { MapedConfig, StaticRule } from '../../src/config/index.js';
import { NO_S46_OPTIONS } from '../../src/dhcpv6/index.js';
import { selectSoftwire, type AftrLookup } from '../../src/daemon/select-mapping.js';
import { parseLeaseFile } from '../../src/lease/index.js';
import { err, formatIpv4, formatIpv6, ok, parseIpv4Prefix, parseIpv6, parseIpv6Prefix } from '../../src/map/index.js';
import { chooseKind, validateReply } from '../../src/provision/index.js';
import { V6PLUS_REPLY } from '../provision/v6plus-reply.js';
import { SPEC_REPLY_EXAMPLE } from '../provision/spec-example.js';
import { configFrom } from '../support/config.js';
import { vectorPath } from '../support/vectors.js';
import { must } from '../support/must.js';

function config(rules: StaticRule[] = [], interfaceId: 'rfc7597' | 'draft03' = 'rfc7597'): MapedConfig {
  return { ...configFrom(`wan em0\ninterface-id ${interfaceId}\n`), rules };
}

const v6plusRule: StaticRule = {
  ipv6Prefix: must(parseIpv6Prefix('240b:10::/31')),
  ipv4Prefix: must(parseIpv4Prefix('106.72.0.0/15')),
  eaLen: 25,
  psidOffset: 4,
  psidLen: null,
  psid: null,
  br: must(parseIpv6('2404:9200:225:100::64')),
};

function leaseOf(name: string) {
  const lease = must(parseLeaseFile(readFileSync(vectorPath('lease', name), 'utf8'), name));
  return { interface: 'em0', endUserPrefix: lease.prefixes[0]!.prefix, s46: lease.s46 };
}

describe('selectSoftwire', () => {
  it('uses the DHCPv6 rule of the Cosmote lease (87.202.58.210, PSID 63)', () => {
    const selection = selectSoftwire(config(), leaseOf('s46-cosmote.lease'));
    expect(selection.ok).toBe(true);
    if (!selection.ok) return;
    expect(selection.softwire.origin).toBe('dhcpv6');
    expect(formatIpv4(selection.softwire.ipv4.address)).toBe('87.202.58.210');
    expect((selection.softwire.nat.into === 'portset' ? selection.softwire.nat.psid : null)).toBe(63);
    expect(formatIpv6(selection.softwire.tunnel.remote)).toBe('2a02:586::406');
    expect(selection.rules).toHaveLength(1);
  });

  it('falls to the static rule with a stock lease, draft-03 interface id as configured', () => {
    const lease = { interface: 'em0', endUserPrefix: must(parseIpv6Prefix('240b:10:3251:6400::/56')), s46: NO_S46_OPTIONS };
    const selection = selectSoftwire(config([v6plusRule], 'draft03'), lease);
    expect(selection.ok).toBe(true);
    if (!selection.ok) return;
    expect(selection.softwire.origin).toBe('static');
    expect(formatIpv4(selection.softwire.ipv4.address)).toBe('106.72.50.81');
    expect(formatIpv6(selection.softwire.tunnel.source)).toBe('240b:10:3251:6400:6a:4832:5100:6400');
  });

  it('a DHCPv6 rule wins over a static one', () => {
    const selection = selectSoftwire(config([v6plusRule]), leaseOf('s46-cosmote.lease'));
    expect(selection.ok && selection.softwire.origin).toBe('dhcpv6');
  });

  it('says why when neither the lease nor the config has a softwire', () => {
    const selection = selectSoftwire(config(), leaseOf('stock.lease'));
    expect(selection).toMatchObject({
      ok: false,
      reason: 'no softwire: the lease carries no S46 option, there is no provisioning data, and maped.conf has no rule, lw4o6, ipip or dslite block',
    });
  });

  describe('MAP-E precedence: DHCPv6, then HB46PP provisioning, then static', () => {
    const reply = chooseKind(must(validateReply(V6PLUS_REPLY)));
    if (!reply.ok) throw new Error(reply.error);
    const provisioned = reply.value.softwire;
    const slaac = { interface: 'em0', endUserPrefix: must(parseIpv6Prefix('240b:10:3251:6400::/64')), s46: NO_S46_OPTIONS, provisioned };
    const otherStatic: StaticRule = { ...v6plusRule, ipv6Prefix: must(parseIpv6Prefix('240b::/16')), ipv4Prefix: must(parseIpv4Prefix('192.0.2.0/24')), eaLen: 16 };

    it('provisioning wins over a static rule, with the draft-03 interface id of map_e version 0', () => {
      const selection = selectSoftwire(config([otherStatic], 'rfc7597'), slaac);
      if (!selection.ok) throw new Error(selection.reason);
      expect(selection.softwire.origin).toBe('provisioning');
      expect(formatIpv4(selection.softwire.ipv4.address)).toBe('106.72.50.81');
      expect(formatIpv6(selection.softwire.tunnel.source)).toBe('240b:10:3251:6400:6a:4832:5100:6400');
      expect(selection.why).toBe(
        'HB46PP provisioning (map_e version 0, draft-03 interface id); BMR 240b:10::/32 by longest match of 240b:10:3251:6400::/64',
      );
      expect(selection.rules.map((r) => r.origin)).toEqual(['provisioning', 'provisioning']);
    });

    it('DHCPv6 S46 options win over provisioning', () => {
      const selection = selectSoftwire(config(), { ...leaseOf('s46-cosmote.lease'), provisioned });
      expect(selection.ok && selection.softwire.origin).toBe('dhcpv6');
    });

    it('provisioned rules that do not cover the prefix hand over to a static rule, and say so', () => {
      const elsewhere = { ...slaac, endUserPrefix: must(parseIpv6Prefix('240b:99:1:2::/64')) };
      const selection = selectSoftwire(config([otherStatic]), elsewhere);
      if (!selection.ok) throw new Error(selection.reason);
      expect(selection.softwire.origin).toBe('static');
      expect(selection.softwire.warnings[0]).toMatch(/^HB46PP MAP-E rules unusable: no rule matches/);
      expect(selection.why).toMatch(/passed over: HB46PP MAP-E rules unusable/);
    });
  });

  it('refuses a static rule without br', () => {
    const lease = { interface: 'em0', endUserPrefix: must(parseIpv6Prefix('240b:10:3251:6400::/56')), s46: NO_S46_OPTIONS };
    const selection = selectSoftwire(config([{ ...v6plusRule, br: null }]), lease);
    expect(selection).toMatchObject({ ok: false, reason: 'static rule 240b:10::/31 has no br' });
  });

  it('uses the Perl-patch mape_* lines with their explicit PSID (compat-mape-lines.lease)', () => {
    const selection = selectSoftwire(config(), leaseOf('compat-mape-lines.lease'));
    expect(selection.ok).toBe(true);
    if (!selection.ok) return;
    expect(formatIpv4(selection.softwire.ipv4.address)).toBe('192.0.2.66');
    expect((selection.softwire.nat.into === 'portset' ? selection.softwire.nat.psid : null)).toBe(42);
    expect(formatIpv6(selection.softwire.tunnel.source)).toBe('2001:db8:100:4200:0:c000:242:2a');
  });
});

describe('provisioned lw4o6, ipip and dslite (v6mig-prov §3.4) on a SLAAC /64', () => {
  const provisionedFrom = (order: string[], change: Record<string, unknown> = {}) => {
    const choice = chooseKind(must(validateReply({ ...SPEC_REPLY_EXAMPLE, ...change, order })));
    return must(choice.ok ? ok(choice.value.softwire) : err(choice.error));
  };
  const slaac = (prefix: string, wanAddress: string | null = null) => ({
    interface: 'em0',
    endUserPrefix: must(parseIpv6Prefix(prefix)),
    wanAddress: wanAddress === null ? null : must(parseIpv6(wanAddress)),
    s46: NO_S46_OPTIONS,
  });
  /** The names of the spec's example, as a DNS server would answer them; every name asked is kept. */
  const asked: [string, string | null][] = [];
  const lookup: AftrLookup = (name, dns) => {
    asked.push([name, dns]);
    if (name === 'lwaftr.example.net') return ok(must(parseIpv6('2001:db8:ffff::4')));
    if (name === 'aftr.example.net') return ok(must(parseIpv6('2001:db8:ffff::6')));
    return err(`AFTR ${name} does not resolve (ENOTFOUND)`);
  };
  const withProvision = configFrom('wan em0\nprovision hb46pp {\n\turl "http://[2001:db8::80]/config"\n\tdns "[::1]:5353"\n}\n');

  it("lw4o6: the binding as given, the tunnel source from the bind prefix and the /64 (RFC 7596 §5.1), the lwAFTR's name resolved with provision's dns", () => {
    asked.length = 0;
    const lease = { ...slaac('2001:db8:3:100::/64'), provisioned: provisionedFrom(['lw4o6']) };
    const selection = selectSoftwire(withProvision, lease, lookup);
    if (!selection.ok) throw new Error(selection.reason);
    const { softwire } = selection;
    expect(softwire).toMatchObject({ kind: 'lw4o6', origin: 'provisioning', remoteName: 'lwaftr.example.net', rule: null });
    expect(selection.why).toBe('HB46PP provisioning (lw4o6)');
    expect(formatIpv4(softwire.ipv4.address)).toBe('203.0.113.16');
    // | 16 bits 0 | 203.0.113.16 | PSID 3 | (RFC 7597 §6) in the CE's /64.
    expect(formatIpv6(softwire.tunnel.source)).toBe('2001:db8:3:100:0:cb00:7110:3');
    expect(formatIpv6(softwire.tunnel.remote)).toBe('2001:db8:ffff::4');
    // a = 6, k = 8, PSID 3: ports A·1024 + 3·4 + j, A = 1..63 (RFC 7597 §5.1).
    expect(softwire.nat).toMatchObject({ into: 'portset', psidOffset: 6, psidLen: 8, psid: 3, portCount: 252 });
    expect(softwire.nat.into === 'portset' && softwire.nat.portSets[0]).toEqual([1036, 1039]);
    expect(asked).toEqual([['lwaftr.example.net', '[::1]:5353']]);
  });

  it('lw4o6: a bind prefix that is not ours is refused; a name that does not resolve is a reason to retry', () => {
    const elsewhere = { ...slaac('2001:db8:99:100::/64'), provisioned: provisionedFrom(['lw4o6']) };
    expect(selectSoftwire(withProvision, elsewhere, lookup)).toMatchObject({
      ok: false,
      reason: 'provisioned lw4o6: bind prefix 2001:db8:3:100::/56 is not part of the delegated prefix 2001:db8:99:100::/64',
    });
    const gone = { ...slaac('2001:db8:3:100::/64'), provisioned: provisionedFrom(['lw4o6'], { lw4o6: { ...SPEC_REPLY_EXAMPLE.lw4o6, lwaftr: 'gone.example.net' } }) };
    expect(selectSoftwire(withProvision, gone, lookup)).toMatchObject({ ok: false, retry: true, reason: 'provisioned lw4o6: AFTR gone.example.net does not resolve (ENOTFOUND)' });
  });

  it("dslite: the AFTR by name, tunnelled from the WAN's own SLAAC address (no prefix delegated)", () => {
    const lease = { ...slaac('2001:db8:aa:bb00::/64', '2001:db8:aa:bb00:20c:29ff:fe4d:6e01'), provisioned: provisionedFrom(['dslite']) };
    const selection = selectSoftwire(withProvision, lease, lookup);
    if (!selection.ok) throw new Error(selection.reason);
    expect(selection.softwire).toMatchObject({ kind: 'dslite', origin: 'provisioning', remoteName: 'aftr.example.net', nat: { into: 'none' } });
    expect(selection.softwire.tunnel).toEqual({ source: must(parseIpv6('2001:db8:aa:bb00:20c:29ff:fe4d:6e01')), remote: must(parseIpv6('2001:db8:ffff::6')), onWan: true });
    expect(formatIpv4(selection.softwire.ipv4.address)).toBe('192.0.0.2');
  });

  it("ipip: the offered tunnel whose local end is in the CE's prefix; none, when no local end is", () => {
    const ipip = [
      { ipv6_local: '2001:db8:8:100::7', ipv6_remote: '2001:db8:8::1', ipv4: '198.51.100.7' },
      SPEC_REPLY_EXAMPLE.ipip[0],
    ];
    const ours = selectSoftwire(withProvision, { ...slaac('2001:db8:7:100::/64'), provisioned: provisionedFrom(['ipip'], { ipip }) }, lookup);
    if (!ours.ok) throw new Error(ours.reason);
    expect(ours.softwire).toMatchObject({ kind: 'ipip', origin: 'provisioning', warnings: [], nat: { into: 'address' } });
    expect([formatIpv6(ours.softwire.tunnel.source), formatIpv6(ours.softwire.tunnel.remote)]).toEqual(['2001:db8:7:100::7', '2001:db8:7::1']);
    // 203.0.113.0/29: the CE takes its first host, the administrator routes the rest.
    expect([formatIpv4(ours.softwire.ipv4.address), ours.softwire.ipv4.prefixLen]).toEqual(['203.0.113.1', 29]);
    // maped would add the local end to the WAN: another host's address is never taken.
    const other = selectSoftwire(withProvision, { ...slaac('2001:db8:9:100::/64'), provisioned: provisionedFrom(['ipip'], { ipip }) }, lookup);
    expect(other).toEqual({
      ok: false,
      rules: [],
      reason: "provisioned ipip: no tunnel's local end (2001:db8:8:100::7, 2001:db8:7:100::7) is in the end-user prefix 2001:db8:9:100::/64",
    });
  });

  it('precedence: DHCPv6 option 96 over provisioning; provisioning over a static block; a named kind takes only its kind', () => {
    const lw4o6 = provisionedFrom(['lw4o6']);
    const dhcp = selectSoftwire(withProvision, { ...leaseOf('s46-cosmote.lease'), provisioned: lw4o6 }, lookup);
    expect(dhcp.ok && [dhcp.softwire.kind, dhcp.softwire.origin]).toEqual(['map-e', 'dhcpv6']);
    const withStatic = configFrom('wan em0\ndslite { aftr 2001:db8:ffff::9 }\n');
    const dslite = provisionedFrom(['dslite'], { dslite: { aftr: '2001:db8:ffff::2' } });
    const provisioned = selectSoftwire(withStatic, { ...slaac('2001:db8:aa:bb00::/64'), provisioned: dslite }, lookup);
    expect(provisioned.ok && [provisioned.softwire.origin, formatIpv6(provisioned.softwire.tunnel.remote)]).toEqual(['provisioning', '2001:db8:ffff::2']);
    // softwire dslite with provisioning that chose lw4o6: the static dslite block.
    const named = selectSoftwire(configFrom('wan em0\nsoftwire dslite\ndslite { aftr 2001:db8:ffff::9 }\n'), { ...slaac('2001:db8:3:100::/64'), provisioned: lw4o6 }, lookup);
    expect(named.ok && [named.softwire.kind, named.softwire.origin]).toEqual(['dslite', 'static']);
  });
});
