import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { deriveMapE, type MapEDomain } from '../../src/dhcpv6/index.js';
import { parseLeasectl, parseLeaseFile } from '../../src/lease/index.js';
import { formatIpv4, formatIpv6, formatIpv6Prefix, type Ipv6Prefix } from '../../src/map/index.js';
import { vectorPath } from '../support/vectors.js';

type Expected = Record<string, Record<string, unknown>>;
const expected = JSON.parse(readFileSync(vectorPath('lease', 'expected.json'), 'utf8')) as Expected;
const read = (name: string): string => readFileSync(vectorPath('lease', name), 'utf8');

/** The fields expected.json gives for a derived lease. */
function derivedView(domain: MapEDomain, prefix: Ipv6Prefix): Record<string, unknown> {
  const derived = deriveMapE(domain, prefix, 'rfc7597');
  if (!derived.ok) throw new Error(derived.error);
  const p = derived.value.params;
  return {
    endUserPrefix: formatIpv6Prefix(prefix),
    br: formatIpv6(derived.value.br),
    ipv4: formatIpv4(p.ipv4),
    psidOffset: p.psidOffset,
    psidLen: p.psidLen,
    psid: p.psid,
    ceIPv6: formatIpv6(p.ceIPv6),
    portCount: p.portCount,
    firstPortSet: p.portSets[0],
    lastPortSet: p.portSets[p.portSets.length - 1],
  };
}

const leaseFiles = Object.keys(expected).filter((name) => name.endsWith('.lease'));
const derivedLeaseFiles = leaseFiles.filter((name) => 'ipv4' in expected[name]!);

describe('test/vectors/lease against expected.json', () => {
  it('covers every file in the directory', () => {
    expect(Object.keys(expected).sort()).toEqual(
      ['compat-br-last-zero-psid.lease', 'compat-dhcp6leasectl-m.txt', 'compat-mape-lines.lease', 's46-cosmote.lease', 'stock-dhcp6leasectl-l.txt', 'stock.lease'],
    );
  });

  it.each(derivedLeaseFiles)('%s parses and derives to the expected parameters', (name) => {
    const lease = parseLeaseFile(read(name), name);
    if (!lease.ok) throw new Error(lease.error);
    expect(lease.value.s46.mapE).toHaveLength(1);
    expect(lease.value.prefixes).toHaveLength(1);
    expect(derivedView(lease.value.s46.mapE[0]!, lease.value.prefixes[0]!.prefix)).toEqual(expected[name]);
  });

  it('stock.lease gives the prefix and no rules (a static rule must supply them)', () => {
    const lease = parseLeaseFile(read('stock.lease'), 'stock.lease');
    if (!lease.ok) throw new Error(lease.error);
    expect(lease.value.prefixes.map((p) => ({ ia: p.ia, prefix: formatIpv6Prefix(p.prefix) }))).toEqual([
      { ia: 0, prefix: expected['stock.lease']!.endUserPrefix },
    ]);
    expect(lease.value.s46).toEqual({ mapE: [], mapT: [], lw4o6: [] });
  });

  it('stock-dhcp6leasectl-l.txt gives interface, state, prefix and the lease time', () => {
    const status = parseLeasectl(read('stock-dhcp6leasectl-l.txt'));
    if (!status.ok) throw new Error(status.error);
    const want = expected['stock-dhcp6leasectl-l.txt']!;
    expect(status.value.interface).toBe(want.interface);
    expect(status.value.state).toBe(want.state);
    expect(status.value.prefixes.map(formatIpv6Prefix)).toEqual([want.endUserPrefix]);
    expect(want.lease).toBe('7 days');
    expect(status.value.leaseSeconds).toBe(7 * 86400);
    expect(status.value.s46).toBeUndefined();
  });

  it('our patched dhcp6leasectl -l: an "S46 94:" line carries the same container as the lease file s46 line', () => {
    const lease = read('s46-cosmote.lease');
    const line = /^s46 (\d+) ([0-9a-f]+)$/m.exec(lease)!;
    const code = line[1]!;
    const hex = line[2]!;
    const prefix = /^ia_pd 0 (\S+) (\d+)$/m.exec(lease)!;
    const shown = `em0 [Bound]\n\tIA_PD 0: ${prefix[1]}/${prefix[2]}\n\tlease 1 hour\n\tS46 ${code}: ${hex}\n`;
    const status = parseLeasectl(shown);
    if (!status.ok) throw new Error(status.error);
    const domain = status.value.s46?.mapE[0];
    if (domain === undefined) throw new Error('no S46 container');
    expect(derivedView(domain, status.value.prefixes[0]!)).toEqual(expected['s46-cosmote.lease']);
    const bad = parseLeasectl(shown.replace(`S46 ${code}: ${hex}`, `S46 ${code}: ${hex.slice(0, 21)}`));
    expect(bad).toEqual({ ok: false, error: expect.stringMatching(/^dhcp6leasectl:4: S46 94: /) });
    expect(parseLeasectl(shown.replace(`S46 ${code}:`, 'S46 97:'))).toEqual({ ok: false, error: expect.stringMatching(/^dhcp6leasectl:4: S46 option code/) });
  });

  it('compat-dhcp6leasectl-m.txt: the MAP-E block derives to the expected parameters, lease-seconds wins', () => {
    const status = parseLeasectl(read('compat-dhcp6leasectl-m.txt'));
    if (!status.ok) throw new Error(status.error);
    expect(status.value.state).toBe('Bound');
    expect(status.value.leaseSeconds).toBe(60);
    const domain = status.value.s46?.mapE[0];
    if (domain === undefined) throw new Error('no MAP-E block');
    expect(derivedView(domain, status.value.prefixes[0]!)).toEqual(expected['compat-dhcp6leasectl-m.txt']);
  });
});
