import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { printConfig, type MapedConfig, type StaticRule } from '../../src/config/index.js';
import { ipv4Mask, ipv6Mask } from '../../src/map/index.js';
import { parsed } from './helpers.js';

const fixture = (name: string): string => readFileSync(new URL(`fixtures/${name}`, import.meta.url), 'utf8');

function expectRoundTrip(config: MapedConfig): void {
  const text = printConfig(config);
  const again = parsed(text);
  expect(again).toEqual(config);
  expect(printConfig(again)).toBe(text);
}

describe('printConfig', () => {
  it('writes the canonical form: every setting, defaults included, tabs inside blocks', () => {
    expect(printConfig(parsed(fixture('design-example.conf')))).toBe(
      [
        'wan em0',
        'lease file "/var/db/dhcp6leased/em0"',
        'tunnel gif0 mtu auto route-priority 7',
        'nat from { 192.168.1.0/24 192.168.2.0/24 }',
        'pf anchor "maped"',
        'pf portset auto',
        'interface-id rfc7597',
        'softwire auto',
        'rule {',
        '\tipv6-prefix 2001:db8:100::/48',
        '\tipv4-prefix 192.0.2.0/24',
        '\tea-len 16',
        '\tpsid-offset 6',
        '\tpsid-len 8 psid 42',
        '\tbr 2001:db8:ffff::1',
        '}',
        'on-exit keep',
        'metrics no',
        'tool ifconfig "/sbin/ifconfig"',
        'tool route "/sbin/route"',
        'tool pfctl "/sbin/pfctl"',
        'tool dhcp6leasectl "/usr/sbin/dhcp6leasectl"',
        'tool sysctl "/sbin/sysctl"',
        'tool logger "/usr/bin/logger"',
        'state-dir "/var/db/maped"',
        'user _maped',
        '',
      ].join('\n'),
    );
  });

  it('an empty nat list prints as { }, optional rule lines are left out', () => {
    const text = printConfig(parsed('wan em0\nrule {\nipv6-prefix 2001:db8::/32\nipv4-prefix 192.0.2.0/24\nea-len 16\npsid-len 8\nbr 2001:db8:ffff::1\n}\n'));
    expect(text).toContain('nat from { }\n');
    expect(text).toContain('\tpsid-len 8\n\tbr 2001:db8:ffff::1\n}');
    expect(text).not.toMatch(/^\tpsid /m);
  });

  it('addresses come out in RFC 5952 form whatever the input spelling', () => {
    const text = printConfig(parsed('wan em0\nrule {\nipv6-prefix 2001:0DB8:0000::/32\nipv4-prefix 192.0.2.0/24\nea-len 16\nbr 2001:db8:0:0:0:0:0:0001\n}\n'));
    expect(text).toContain('\tipv6-prefix 2001:db8::/32\n');
    expect(text).toContain('\tbr 2001:db8::1\n');
  });

  it('quotes strings so that ", \\, #, $, spaces and quotes survive', () => {
    const config = parsed('wan em0\nstate-dir "/odd \\"dir\\" #1 $x \\\\ it\'s"\n');
    expect(config.stateDir).toBe('/odd "dir" #1 $x \\ it\'s');
    expect(printConfig(config)).toContain('state-dir "/odd \\"dir\\" #1 $x \\\\ it\'s"\n');
  });
});

describe('parse(print(c)) == c', () => {
  it.each(['minimal.conf', 'design-example.conf', 'everything.conf'])('for fixture %s', (name) => {
    expectRoundTrip(parsed(fixture(name)));
  });

  it.each([
    'wan em0\nnat from { }\n',
    'wan em0\ntunnel gif9 mtu 8192\nnat from 0.0.0.0/0\n',
    'wan em0\nrule {\nipv6-prefix ::/0\nipv4-prefix 0.0.0.0/0\nea-len 48\npsid-offset 0\nbr 2001:db8:ffff::1\n}\n',
    'wan em0\nrule {\nipv6-prefix 2001:db8::/32\nipv4-prefix 192.0.2.0/24\nea-len 16\npsid-len 0\nbr 2001:db8:ffff::1\n}\n',
    'wan em0\nrule {\nipv6-prefix 2001:db8::/32\nipv4-prefix 10.0.0.0/8\nea-len 8\npsid-len 16 psid 65535\nbr 2001:db8:ffff::1\n}\n',
    'wan em0\nrule {\nipv6-prefix 2001:db8::/128\nipv4-prefix 192.0.2.1/32\nea-len 0\npsid-offset 15\npsid-len 1 psid 1\nbr 2001:db8::2\n}\n',
  ])('for %j', (text) => {
    expectRoundTrip(parsed(text));
  });

  it('for 500 seeded random configurations', () => {
    const random = seeded(7597);
    for (let i = 0; i < 500; i++) expectRoundTrip(randomConfig(random));
  });
});

/** A small deterministic generator (mulberry32) so a failure reproduces. */
function seeded(seed: number): (n: number) => number {
  let state = seed >>> 0;
  return (n) => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (((t ^ (t >>> 14)) >>> 0) % n);
  };
}

/** Up to four forwards on disjoint port ranges (overlapping ones are refused), with hosts and targets at random. */
function randomForwards(random: (n: number) => number): MapedConfig['forwards'] {
  const forwards: MapedConfig['forwards'] = [];
  let next = 1 + random(1000);
  for (let n = random(5); n > 0 && next < 60000; n--) {
    const first = next;
    const last = first + random(3) * random(50);
    next = last + 1 + random(500);
    forwards.push({
      proto: (['tcp', 'udp', 'tcp-udp'] as const)[random(3)]!,
      ports: [first, last],
      to: ((10 << 24) | random(0x1000000)) >>> 0,
      toPort: random(2) === 0 ? null : 1 + random(65535 - (last - first)),
    });
  }
  return forwards;
}

function randomConfig(random: (n: number) => number): MapedConfig {
  const pick = <T>(items: readonly T[]): T => items[random(items.length)]!;
  const path = (): string => `/${pick(['var', 'tmp', 'x y', 'q"uote', 'back\\slash', 'it\'s', '#hash', '$dollar'])}/${random(100)}`;
  const ipv4 = (): number => (random(0x10000) * 0x10000 + random(0x10000)) >>> 0;
  const ipv6 = (): bigint => (0x2001n << 112n) | (BigInt(ipv4()) << 64n) | BigInt(ipv4());

  const natFrom = new Map<string, { address: number; length: number }>();
  for (let n = random(5); n > 0; n--) {
    const length = random(33);
    const address = (ipv4() & ipv4Mask(length)) >>> 0;
    natFrom.set(`${address}/${length}`, { address, length });
  }

  const rules: StaticRule[] = [];
  for (let n = random(4); n > 0; n--) {
    const psidOffset = random(16);
    const r = random(33);
    const shared = random(2) === 0;
    // Shared: o = 32 - r + q with a + q ≤ 16; otherwise an IPv4 prefix, r + o < 32 (or = 32).
    const q = shared ? random(17 - psidOffset) : 0;
    const eaLen = Math.min(48, shared ? 32 - r + q : random(33 - r));
    const length = random(129 - eaLen);
    let psidLen: number | null = null;
    let psid: number | null = null;
    switch (random(4)) {
      case 1:
        psidLen = r + eaLen >= 32 ? Math.max(0, r + eaLen - 32) : random(17);
        break;
      case 2:
        psidLen = random(17 - psidOffset);
        psid = random(2 ** psidLen);
        break;
      case 3:
        psidLen = 0;
        break;
    }
    rules.push({
      ipv6Prefix: { address: ipv6() & ipv6Mask(length), length },
      ipv4Prefix: { address: (ipv4() & ipv4Mask(r)) >>> 0, length: r },
      eaLen,
      psidOffset,
      psidLen,
      psid,
      // A static rule must name its BR: nothing else can when the lease has no S46 option.
      br: ipv6(),
    });
  }

  const global6 = (): bigint => (ipv6() & ~(0xffn << 120n)) | (0x20n << 120n);
  // Softwire blocks: `auto` allows one static kind at most, ipip and dslite need their block.
  const softwire = pick(['auto', 'map-e', 'lw4o6', 'ipip', 'dslite'] as const);
  const aftr = (): { aftr: bigint | string; dns: string | null } => ({
    aftr: random(2) === 0 ? global6() : pick(['aftr.example.net', 'a-1.b2.jp', 'x']),
    dns: pick([null, '::1', '[::1]:5353', '127.0.0.1:53', '192.0.2.53']),
  });
  const psidLen = random(17);
  const psidOffset = psidLen === 0 ? random(16) : random(Math.min(16, 17 - psidLen));
  const lw4o6 = {
    ipv4: (((1 + random(126)) << 24) | random(2 ** 24)) >>> 0,
    psidOffset,
    psidLen,
    psid: random(2 ** psidLen),
    bindPrefix: random(2) === 0 ? null : { address: ipv6() & ipv6Mask(56), length: 56 },
    ...aftr(),
  };
  const ipipLength = pick([32, 30, 29, 24]);
  const ipip = {
    local: global6() & ~1n,
    remote: global6() | 1n,
    ipv4: { address: ((((1 + random(126)) << 24) | random(2 ** 24)) & ipv4Mask(ipipLength)) >>> 0, length: ipipLength },
  };
  const blocks = { lw4o6: random(3) === 0 ? lw4o6 : null, ipip: random(3) === 0 ? ipip : null, dslite: random(3) === 0 ? aftr() : null };
  if (softwire === 'auto') {
    const keep = rules.length > 0 ? null : pick(['lw4o6', 'ipip', 'dslite'] as const);
    for (const kind of ['lw4o6', 'ipip', 'dslite'] as const) if (kind !== keep) blocks[kind] = null;
  }
  if (softwire === 'ipip') blocks.ipip = ipip;
  if (softwire === 'dslite') blocks.dslite = aftr();

  return {
    softwire,
    ...blocks,
    wan: pick(['em0', 'vio1', 'ix12', 're3', 'abcdefghijklmn9']),
    leaseFile: path(),
    prefix: pick(['lease', 'autoconf'] as const),
    tunnel: {
      interface: `gif${random(20)}`,
      mtu: random(3) === 0 ? 'auto' : 1280 + random(8192 - 1280 + 1),
      peer: pick([null, 1, 0xc0000001, 0x0afffffe]),
      routePriority: 2 + random(62),
    },
    natFrom: [...natFrom.values()],
    pf: { anchor: pick(['maped', 'maped/map-e', 'a.b-c_1', 'X']), portset: pick(['auto', 'kernel', 'stock'] as const) },
    interfaceId: pick(['rfc7597', 'draft03'] as const),
    rules,
    provision:
      random(2) === 0
        ? null
        : {
            url: pick([null, 'https://prov.example.jp/config', 'http://[2001:db8::1]:8080/rule.cgi?a=1']),
            dns: pick([null, '2001:db8::53', '[::1]:5353', '192.0.2.53:53']),
            vendorid: pick([null, 'acde48', 'acde48-maped', '00AA11-x_Y']),
            product: pick(['maped', 'V6MIG-ROUTER']),
            ...pick([
              { user: null, password: null, serverName: null },
              { user: 'u-1', password: 'p_2', serverName: null },
              { user: 'u', password: 'p', serverName: 'prov.example.jp' },
            ]),
            caFile: pick([null, path()]),
          },
    onExit: pick(['keep', 'teardown'] as const),
    forwards: randomForwards(random),
    metrics: random(2) === 0,
    tools: { ifconfig: path(), route: path(), pfctl: path(), dhcp6leasectl: path(), sysctl: path(), logger: path() },
    stateDir: path(),
    user: pick(['_maped', 'nobody', 'maped-1', 'a.b_c']),
  };
}
