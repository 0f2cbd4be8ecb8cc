import { describe, expect, it } from 'vitest';
import { autoconfAddress, autoconfPrefix } from '../../src/lease/index.js';
import { formatIpv6, formatIpv6Prefix } from '../../src/map/index.js';
import { parseIfconfig } from '../../src/openbsd/index.js';

/** `ifconfig em0` on OpenBSD 7.8 with SLAAC (sbin/ifconfig/ifconfig.c in6_alias prints the flags). */
function em0(lines: string[]): string {
  return [
    'em0: flags=208843<UP,BROADCAST,RUNNING,SIMPLEX,MULTICAST,AUTOCONF6> mtu 1500',
    '\tlladdr 00:0c:29:4d:6e:01',
    '\tinet6 fe80::20c:29ff:fe4d:6e01%em0 prefixlen 64 scopeid 0x1',
    ...lines.map((line) => `\t${line}`),
  ].join('\n');
}

function prefixOf(text: string): string | null {
  const status = parseIfconfig(text);
  if (!status.ok) throw new Error(status.error);
  const prefix = autoconfPrefix(status.value);
  return prefix === null ? null : formatIpv6Prefix(prefix);
}

describe('autoconfPrefix', () => {
  it('is the /64 of the autoconf address', () => {
    expect(prefixOf(em0(['inet6 240b:10:3251:6400:20c:29ff:fe4d:6e01 prefixlen 64 autoconf pltime 604503 vltime 2591703']))).toBe('240b:10:3251:6400::/64');
  });

  it('passes over temporary, deprecated, tentative and static addresses', () => {
    expect(
      prefixOf(
        em0([
          'inet6 2001:db8:1:1::1 prefixlen 64',
          'inet6 240b:10:9999:9900:1:2:3:4 prefixlen 64 autoconf temporary pltime 86400 vltime 604800',
          'inet6 240b:10:8888:8800:20c:29ff:fe4d:6e01 prefixlen 64 deprecated autoconf pltime 0 vltime 7000',
          'inet6 240b:10:7777:7700:20c:29ff:fe4d:6e01 prefixlen 64 autoconf tentative pltime 604800 vltime 2592000',
          'inet6 240b:10:1111:2200:20c:29ff:fe4d:6e01 prefixlen 64 autoconf pltime 604503 vltime 2591703',
        ]),
      ),
    ).toBe('240b:10:1111:2200::/64');
  });

  it('is null without a usable autoconf address', () => {
    expect(prefixOf(em0([]))).toBeNull();
    expect(prefixOf(em0(['inet6 240b:10:9999:9900:1:2:3:4 prefixlen 64 autoconf temporary pltime 86400 vltime 604800']))).toBeNull();
  });

  it("autoconfAddress also gives the address itself, the DS-Lite tunnel source without a delegated prefix", () => {
    const status = parseIfconfig(em0(['inet6 240b:10:3251:6400:20c:29ff:fe4d:6e01 prefixlen 64 autoconf pltime 604503 vltime 2591703']));
    if (!status.ok) throw new Error(status.error);
    const slaac = autoconfAddress(status.value);
    expect(slaac === null ? null : formatIpv6(slaac.address)).toBe('240b:10:3251:6400:20c:29ff:fe4d:6e01');
    expect(slaac === null ? null : formatIpv6Prefix(slaac.prefix)).toBe('240b:10:3251:6400::/64');
  });
});
