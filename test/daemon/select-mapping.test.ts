import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { MapedConfig, StaticRule } from '../../src/config/index.js';
import { NO_S46_OPTIONS } from '../../src/dhcpv6/index.js';
import { selectSoftwire } from '../../src/daemon/select-mapping.js';
import { parseLeaseFile } from '../../src/lease/index.js';
import { formatIpv4, formatIpv6, parseIpv4Prefix, parseIpv6, parseIpv6Prefix, type Result } from '../../src/map/index.js';
import { chooseKind, validateReply } from '../../src/provision/index.js';
import { V6PLUS_REPLY } from '../provision/v6plus-reply.js';
import { configFrom } from '../support/config.js';
import { vectorPath } from '../support/vectors.js';

function must<T>(result: Result<T>): T {
  if (!result.ok) throw new Error(result.error);
  return result.value;
}

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
