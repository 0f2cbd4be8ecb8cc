import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { CONFIG_KEYWORDS, DEFAULT_TOOLS, printConfig, type MapedConfig } from '../../src/config/index.js';
import { parseIpv4Prefix, parseIpv6, parseIpv6Prefix, type Ipv4Prefix } from '../../src/map/index.js';
import { parsed } from './helpers.js';

const fixture = (name: string): string => readFileSync(new URL(`fixtures/${name}`, import.meta.url), 'utf8');

function v4(text: string): Ipv4Prefix {
  const prefix = parseIpv4Prefix(text);
  if (!prefix.ok) throw new Error(prefix.error);
  return prefix.value;
}
function v6(text: string) {
  const prefix = parseIpv6Prefix(text);
  if (!prefix.ok) throw new Error(prefix.error);
  return prefix.value;
}
function addr6(text: string): bigint {
  const address = parseIpv6(text);
  if (!address.ok) throw new Error(address.error);
  return address.value;
}

const DEFAULTS: MapedConfig = {
  wan: 'em0',
  leaseFile: '/var/db/dhcp6leased/em0',
  prefix: 'lease',
  tunnel: { interface: 'gif0', mtu: 'auto', peer: null, routePriority: 7 },
  natFrom: [],
  pf: { anchor: 'maped', portset: 'auto' },
  interfaceId: 'rfc7597',
  softwire: 'auto',
  rules: [],
  lw4o6: null,
  ipip: null,
  dslite: null,
  provision: null,
  onExit: 'keep',
  forwards: [],
  metrics: false,
  tools: { ifconfig: '/sbin/ifconfig', route: '/sbin/route', pfctl: '/sbin/pfctl', dhcp6leasectl: '/usr/sbin/dhcp6leasectl', sysctl: '/sbin/sysctl', logger: '/usr/bin/logger' },
  stateDir: '/var/db/maped',
  user: '_maped',
};

describe('defaults', () => {
  it('a file with only "wan" gets every documented default', () => {
    expect(parsed(fixture('minimal.conf'))).toEqual(DEFAULTS);
  });

  it('the lease file defaults to dhcp6leased’s file for the wan interface', () => {
    expect(parsed('wan vio1\n').leaseFile).toBe('/var/db/dhcp6leased/vio1');
  });

  it('the commented example spells out exactly the defaults plus its nat and rule', () => {
    expect(parsed(fixture('design-example.conf'))).toEqual({
      ...DEFAULTS,
      natFrom: [v4('192.168.1.0/24'), v4('192.168.2.0/24')],
      rules: [
        {
          ipv6Prefix: v6('2001:db8:100::/48'),
          ipv4Prefix: v4('192.0.2.0/24'),
          eaLen: 16,
          psidOffset: 6,
          psidLen: 8,
          psid: 42,
          br: addr6('2001:db8:ffff::1'),
        },
      ],
    });
  });

  it('a rule’s psid-offset defaults to 6, psid-len and psid to null; its br is the one given', () => {
    const config = parsed('wan em0\nrule {\n\tipv6-prefix 2001:db8::/32\n\tipv4-prefix 192.0.2.0/24\n\tea-len 16\n\tbr 2001:db8:ffff::1\n}\n');
    expect(config.rules).toEqual([
      { ipv6Prefix: v6('2001:db8::/32'), ipv4Prefix: v4('192.0.2.0/24'), eaLen: 16, psidOffset: 6, psidLen: null, psid: null, br: addr6('2001:db8:ffff::1') },
    ]);
  });
});

describe('every keyword', () => {
  it('the everything fixture sets each setting away from its default', () => {
    const config = parsed(fixture('everything.conf'));
    expect(config).toEqual({
      wan: 'vio0',
      leaseFile: '/var/db/dhcp6leased/vio0.lease',
      prefix: 'lease',
      tunnel: { interface: 'gif3', mtu: 1460, peer: 0x0a000001, routePriority: 20 },
      natFrom: ['10.0.0.0/24', '10.1.0.0/24', '172.16.0.0/12', '192.168.77.0/24', '100.64.0.0/10'].map(v4),
      pf: { anchor: 'maped/map-e', portset: 'stock' },
      interfaceId: 'draft03',
      rules: [
        {
          ipv6Prefix: v6('2001:db8::/32'),
          ipv4Prefix: v4('198.51.100.0/24'),
          eaLen: 16,
          psidOffset: 4,
          psidLen: 8,
          psid: null,
          br: addr6('2001:db8:ffff::1'),
        },
        { ipv6Prefix: v6('2001:db8:8000::/33'), ipv4Prefix: v4('203.0.113.0/24'), eaLen: 8, psidOffset: 6, psidLen: null, psid: null, br: addr6('2001:db8:ffff::3') },
        { ipv6Prefix: v6('2001:db8:4000::/34'), ipv4Prefix: v4('192.0.2.128/25'), eaLen: 0, psidOffset: 0, psidLen: 4, psid: 15, br: addr6('2001:db8:ffff::4') },
      ],
      softwire: 'map-e',
      lw4o6: {
        ipv4: 0xcb007110,
        psidOffset: 4,
        psidLen: 8,
        psid: 3,
        bindPrefix: v6('2001:db8:3:100::/56'),
        aftr: 'lwaftr.example.net',
        dns: '[::1]:5353',
      },
      ipip: { local: addr6('2001:db8:7:100::7'), remote: addr6('2001:db8:7::1'), ipv4: v4('203.0.113.0/29') },
      dslite: { aftr: addr6('2001:db8:ffff::2'), dns: null },
      provision: null,
      onExit: 'teardown',
      forwards: [
        { proto: 'tcp', ports: [5000, 5000], to: 0xc0a84d0a, toPort: 22 },
        { proto: 'tcp-udp', ports: [6000, 6009], to: 0x0a000005, toPort: null },
      ],
      metrics: true,
      tools: {
        ifconfig: '/tmp/fake-tools/ifconfig',
        route: '/tmp/fake-tools/route',
        pfctl: '/tmp/fake tools/pfctl',
        dhcp6leasectl: '/tmp/fake-tools/dhcp6leasectl',
        sysctl: '/tmp/fake-tools/sysctl',
        logger: '/tmp/fake-tools/logger',
      },
      stateDir: '/var/run/maped',
      user: 'nobody',
    } satisfies MapedConfig);
  });

  it.each([
    ['tunnel gif1', { interface: 'gif1', mtu: 'auto', peer: null, routePriority: 7 }],
    ['tunnel gif1 mtu auto', { interface: 'gif1', mtu: 'auto', peer: null, routePriority: 7 }],
    ['tunnel gif1 mtu 1280', { interface: 'gif1', mtu: 1280, peer: null, routePriority: 7 }],
    ['tunnel gif1 mtu 8192', { interface: 'gif1', mtu: 8192, peer: null, routePriority: 7 }],
    ['tunnel gif1 peer 0.0.0.1', { interface: 'gif1', mtu: 'auto', peer: 1, routePriority: 7 }],
    ['tunnel gif1 route-priority 9 mtu 1400 peer 10.255.255.254', { interface: 'gif1', mtu: 1400, peer: 0x0afffffe, routePriority: 9 }],
    ['tunnel gif1 route-priority 2', { interface: 'gif1', mtu: 'auto', peer: null, routePriority: 2 }],
    ['tunnel gif1 route-priority 63', { interface: 'gif1', mtu: 'auto', peer: null, routePriority: 63 }],
  ])('%s', (line, tunnel) => {
    expect(parsed(`wan em0\n${line}\n`).tunnel).toEqual(tunnel);
  });

  it.each(['auto', 'kernel', 'stock'] as const)('pf portset %s', (mode) => {
    expect(parsed(`wan em0\npf portset ${mode}\n`).pf.portset).toBe(mode);
  });

  it.each(['rfc7597', 'draft03'] as const)('interface-id %s', (mode) => {
    expect(parsed(`wan em0\ninterface-id ${mode}\n`).interfaceId).toBe(mode);
  });

  it.each([
    ['forward tcp port 5000 to 192.168.1.10 port 22', { proto: 'tcp', ports: [5000, 5000], to: 0xc0a8010a, toPort: 22 }],
    ['forward udp port 6000:6009 to 192.168.1.10', { proto: 'udp', ports: [6000, 6009], to: 0xc0a8010a, toPort: null }],
    ['forward tcp-udp port 3074 to "192.168.1.10" port 3074', { proto: 'tcp-udp', ports: [3074, 3074], to: 0xc0a8010a, toPort: 3074 }],
  ] as const)('%s', (line, forward) => {
    expect(parsed(`wan em0\n${line}\n`).forwards).toEqual([forward]);
  });

  it('forward is repeatable; a tcp and a udp forward may share a port', () => {
    const config = parsed('wan em0\nforward tcp port 53 to 192.168.1.2\nforward udp port 53 to 192.168.1.3\n');
    expect(config.forwards.map((f) => [f.proto, f.to])).toEqual([
      ['tcp', 0xc0a80102],
      ['udp', 0xc0a80103],
    ]);
  });

  it.each([
    ['yes', true],
    ['no', false],
  ] as const)('metrics %s', (word, on) => {
    expect(parsed(`wan em0\nmetrics ${word}\n`).metrics).toBe(on);
  });

  it.each(['keep', 'teardown'] as const)('on-exit %s', (mode) => {
    expect(parsed(`wan em0\non-exit ${mode}\n`).onExit).toBe(mode);
  });

  it.each(Object.keys(DEFAULT_TOOLS) as (keyof typeof DEFAULT_TOOLS)[])('tool %s replaces only that tool', (tool) => {
    const config = parsed(`wan em0\ntool ${tool} "/fake/${tool}"\n`);
    expect(config.tools).toEqual({ ...DEFAULT_TOOLS, [tool]: `/fake/${tool}` });
  });

  it('nat from takes a single prefix without braces', () => {
    expect(parsed('wan em0\nnat from 192.168.1.0/24\n').natFrom).toEqual([v4('192.168.1.0/24')]);
  });

  it('nat from { } is an empty list: only the router’s own traffic', () => {
    expect(parsed('wan em0\nnat from { }\n').natFrom).toEqual([]);
  });

  it('repeated nat from statements merge in file order', () => {
    const config = parsed('wan em0\nnat from 10.0.2.0/24\nnat from { 10.0.1.0/24 10.0.0.0/24 }\n');
    expect(config.natFrom).toEqual(['10.0.2.0/24', '10.0.1.0/24', '10.0.0.0/24'].map(v4));
  });

  it('psid may be written on its own line, before or after psid-len', () => {
    const config = parsed('wan em0\nrule {\nipv6-prefix 2001:db8::/32\nipv4-prefix 192.0.2.0/24\nea-len 16\npsid 7\npsid-len 8\nbr 2001:db8:ffff::1\n}\n');
    expect(config.rules[0]).toMatchObject({ psidLen: 8, psid: 7 });
  });

  it('psid-len 0 alone means "use the EA bits" and is kept', () => {
    const config = parsed('wan em0\nrule {\nipv6-prefix 2001:db8::/32\nipv4-prefix 192.0.2.0/24\nea-len 16\npsid-len 0\nbr 2001:db8:ffff::1\n}\n');
    expect(config.rules[0]).toMatchObject({ psidLen: 0, psid: null });
  });

  it('a rule delegating an IPv4 prefix (ipv4 /16 + ea-len 8 < 32) may carry port parameters, as DHCPv6 may', () => {
    const config = parsed('wan em0\nrule {\nipv6-prefix 2001:db8::/32\nipv4-prefix 10.0.0.0/16\nea-len 8\npsid-len 4\nbr 2001:db8:ffff::1\n}\n');
    expect(config.rules[0]).toMatchObject({ psidLen: 4, psid: null });
  });

  it('a wan interface name may be up to 15 characters (IFNAMSIZ 16)', () => {
    expect(parsed('wan abcdefghijklmn0\n').wan).toBe('abcdefghijklmn0');
  });
});

describe('lexical rules', () => {
  it('comments run to the end of the line, also right after a value', () => {
    expect(parsed('# leading\nwan em0# trailing\n  # indented\n').wan).toBe('em0');
  });

  it('# inside a quoted string is not a comment', () => {
    expect(parsed('wan em0\nstate-dir "/var/db/maped#1"\n').stateDir).toBe('/var/db/maped#1');
  });

  it('a backslash before the newline continues the line, in statements and lists', () => {
    const config = parsed('wan \\\n em0\nnat from { 10.0.0.0/24 \\\n 10.1.0.0/24 }\ntunnel gif0 \\\r\n mtu 1400\n');
    expect(config.wan).toBe('em0');
    expect(config.natFrom).toHaveLength(2);
    expect(config.tunnel.mtu).toBe(1400);
  });

  it('a file need not end with a newline, and CRLF line ends work', () => {
    expect(parsed('wan em0\r\non-exit teardown').onExit).toBe('teardown');
  });

  it('values may be bare or quoted with " or \' where OpenBSD takes a string', () => {
    const config = parsed(`wan "em1"\ntunnel 'gif2'\nnat from "10.0.0.0/8"\npf anchor mine\nstate-dir '/x'\nrule {\nipv6-prefix "2001:db8::/32"\nipv4-prefix '192.0.2.0/24'\nea-len 16\nbr "2001:db8::1"\n}\n`);
    expect(config).toMatchObject({ wan: 'em1', tunnel: { interface: 'gif2' }, natFrom: [v4('10.0.0.0/8')], pf: { anchor: 'mine' }, stateDir: '/x' });
    expect(config.rules[0]?.br).toBe(addr6('2001:db8::1'));
  });

  it('inside quotes \\" and \\\\ stand for themselves, other backslashes stay', () => {
    expect(parsed('wan em0\nstate-dir "/a\\"b\\\\c\\d"\n').stateDir).toBe('/a"b\\c\\d');
    expect(parsed("wan em0\nstate-dir '/it\\'s'\n").stateDir).toBe("/it's");
  });

  it('commas between list entries are optional, as in pf.conf', () => {
    expect(parsed('wan em0\nnat from { 10.0.0.0/24, 10.1.0.0/24,10.2.0.0/24 }\n').natFrom).toHaveLength(3);
  });

  it('a list and a block may span lines and be written on one line', () => {
    expect(parsed('wan em0\nnat from {\n\n10.0.0.0/24\n\n}\n').natFrom).toHaveLength(1);
    expect(parsed('wan em0\nrule { ipv6-prefix 2001:db8::/32\nipv4-prefix 192.0.2.0/24\nea-len 16\nbr 2001:db8:ffff::1 }\n').rules).toHaveLength(1);
  });

  it('statements may come in any order', () => {
    expect(parsed('on-exit teardown\ntunnel gif1\nwan em0\n')).toMatchObject({ wan: 'em0', onExit: 'teardown', leaseFile: '/var/db/dhcp6leased/em0' });
  });
});

describe('CONFIG_KEYWORDS', () => {
  it('is sorted and has no duplicates, like a parse.y keyword table', () => {
    expect([...CONFIG_KEYWORDS]).toEqual([...new Set(CONFIG_KEYWORDS)].sort());
  });

  it('holds every bare word the printer writes except the values', () => {
    const config = parsed(fixture('everything.conf'));
    const values = new Set([config.wan, config.tunnel.interface, config.user, ...Object.values(config.tools)]);
    const words = printConfig(config)
      .split(/\s+/)
      .filter((word) => /^[a-z][a-z0-9-]*$/.test(word) && !values.has(word));
    expect(words.length).toBeGreaterThan(20);
    for (const word of words) expect(CONFIG_KEYWORDS).toContain(word);
  });

  it('is exactly the documented vocabulary', () => {
    expect(CONFIG_KEYWORDS).toEqual([
      'aftr', 'anchor', 'auto', 'autoconf', 'bind-prefix', 'br', 'ca-file', 'dhcp6leasectl', 'dns', 'draft03', 'dslite',
      'ea-len', 'file', 'forward', 'from', 'hb46pp', 'ifconfig', 'include', 'interface-id', 'ipip', 'ipv4', 'ipv4-prefix',
      'ipv6-prefix', 'keep', 'kernel', 'lease', 'local', 'logger', 'lw4o6', 'map-e', 'metrics', 'mtu', 'nat', 'no',
      'on-exit', 'password', 'peer', 'pf', 'pfctl', 'port', 'portset', 'prefix', 'product', 'provision', 'psid', 'psid-len',
      'psid-offset', 'remote', 'rfc7597', 'route', 'route-priority', 'rule', 'server-name', 'softwire', 'state-dir', 'stock', 'sysctl',
      'tcp', 'tcp-udp', 'teardown', 'to', 'tool', 'tunnel', 'udp', 'url', 'user', 'vendorid', 'wan', 'yes',
    ]);
  });
});

describe('prefix autoconf', () => {
  it('takes the end-user prefix from the WAN’s SLAAC address, and prints back', () => {
    const config = parsed('wan em0\nprefix autoconf\n');
    expect(config.prefix).toBe('autoconf');
    expect(printConfig(config)).toMatch(/^prefix autoconf$/m);
    expect(parsed(printConfig(config))).toEqual(config);
    expect(parsed('wan em0\n').prefix).toBe('lease');
  });
});

describe('provision hb46pp', () => {
  it('takes the block as maped.conf(5) writes it, several settings on a line, and fills in product', () => {
    const config = parsed(
      'wan em0\nprovision hb46pp {\n\turl "https://prov.example.jp/config"\n\tdns "[::1]:5353"\n' +
        '\tvendorid "acde48-maped"\n\tuser "u" password "p" server-name "prov.example.jp"\n\tca-file "/etc/ssl/hb46pp-ca.pem"\n}\n',
    );
    expect(config.provision).toEqual({
      url: 'https://prov.example.jp/config',
      dns: '[::1]:5353',
      vendorid: 'acde48-maped',
      product: 'maped',
      user: 'u',
      password: 'p',
      serverName: 'prov.example.jp',
      caFile: '/etc/ssl/hb46pp-ca.pem',
    });
    expect(parsed('wan em0\nprovision hb46pp { }\n').provision).toEqual({
      url: null, dns: null, vendorid: null, product: 'maped', user: null, password: null, serverName: null, caFile: null,
    });
    expect(parsed('wan em0\n').provision).toBeNull();
  });

  it('prints every provision word as a keyword', () => {
    const config = parsed('wan em0\nprovision hb46pp { url "http://[::1]/x"\ndns ::1\nvendorid acde48\nuser u password p server-name h\nca-file /c\n}\n');
    const text = printConfig(config);
    for (const word of ['provision', 'hb46pp', 'url', 'dns', 'vendorid', 'product', 'user', 'password', 'server-name', 'ca-file']) {
      expect(text).toMatch(new RegExp(`(^|\\s)${word} `, 'm'));
      expect(CONFIG_KEYWORDS).toContain(word);
    }
    expect(parsed(text)).toEqual(config);
  });
});

describe('relative paths', () => {
  it('a relative lease file and state-dir are taken from the directory of the file they are written in', async () => {
    const { parseConfig } = await import('../../src/config/index.js');
    const parsed = parseConfig('wan em0\nlease file "lease/em0"\nstate-dir state\n', '/usr/local/share/maped/examples/maped.conf');
    expect(parsed.ok && parsed.value.leaseFile).toBe('/usr/local/share/maped/examples/lease/em0');
    expect(parsed.ok && parsed.value.stateDir).toBe('/usr/local/share/maped/examples/state');
  });
});
