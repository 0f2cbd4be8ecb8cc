import { describe, expect, it } from 'vitest';
import { parseIpv4, parseIpv6 } from '../../src/map/index.js';
import {
  anchorMatches,
  anchorRules,
  parseIfconfig,
  parseIfconfigAll,
  parsePfctlRules,
  parsePfRuleLine,
  parseRouteShow,
  pfctlShowWarning,
  pfctlPrintedProbability,
  pfctlStoredProbability,
  renderRule,
} from '../../src/openbsd/index.js';
import { desiredFor, PARAMETER_SETS } from './parameter-sets.js';

const v6 = (s: string): bigint => {
  const r = parseIpv6(s);
  if (!r.ok) throw new Error(r.error);
  return r.value;
};
const v4 = (s: string): number => {
  const r = parseIpv4(s);
  if (!r.ok) throw new Error(r.error);
  return r.value;
};

describe('ifconfig output', () => {
  it('reads a configured gif: flags, mtu, tunnel, point-to-point address', () => {
    const text = [
      'gif0: flags=8051<UP,POINTOPOINT,RUNNING,MULTICAST> mtu 1460',
      '\tindex 5 priority 0 llprio 3',
      '\tencap: txprio payload rxprio payload',
      '\tgroups: gif egress',
      '\ttunnel: inet6 2001:db8:100:4200:0:c000:242:2a --> 2001:db8:ffff::1 ttl 64 nodf ecn',
      '\tinet 192.0.2.66 --> 0.0.0.1 netmask 0xffffffff',
      '',
    ].join('\n');
    const r = parseIfconfig(text);
    expect(r).toEqual({
      ok: true,
      value: {
        name: 'gif0',
        flags: ['UP', 'POINTOPOINT', 'RUNNING', 'MULTICAST'],
        mtu: 1460,
        tunnel: { source: v6('2001:db8:100:4200:0:c000:242:2a'), destination: v6('2001:db8:ffff::1') },
        tunnelDf: false,
        inet: [{ address: v4('192.0.2.66'), peer: v4('0.0.0.1'), netmask: 0xffffffff }],
        inet6: [],
      },
    });
  });

  it('reads a gif without tunnel and a WAN with scoped, autoconf and /128 addresses', () => {
    const gif = parseIfconfig('gif1: flags=8010<POINTOPOINT,MULTICAST> mtu 1280\n\ttunnel: (unset) ttl 64 df ecn\n');
    expect(gif.ok && gif.value.tunnel).toBe(null);
    // ifconfig.c phys_status prints df/nodf (SIOCGLIFPHYDF) whether or not a tunnel is set.
    expect(gif.ok && gif.value.tunnelDf).toBe(true);
    const silent = parseIfconfig('gif2: flags=8010<POINTOPOINT,MULTICAST> mtu 1280\n');
    expect(silent.ok && silent.value.tunnelDf).toBeNull();
    const wan = parseIfconfig(
      [
        'em0: flags=48843<UP,BROADCAST,RUNNING,SIMPLEX,MULTICAST,AUTOCONF6> mtu 1500',
        '\tlladdr 00:0c:29:4d:6e:01',
        '\tinet6 fe80::20c:29ff:fe4d:6e01%em0 prefixlen 64 scopeid 0x1',
        '\tinet6 2001:db8:ffff:1::2 prefixlen 64 autoconf pltime 604503 vltime 2591703',
        '\tinet6 2001:db8:100:4200:0:c000:242:2a prefixlen 128',
      ].join('\n'),
    );
    if (!wan.ok) throw new Error(wan.error);
    expect(wan.value.mtu).toBe(1500);
    expect(wan.value.inet6.map((a) => [a.prefixlen, a.flags])).toEqual([
      [64, []],
      [64, ['autoconf']],
      [128, []],
    ]);
    expect(wan.value.inet6[2]!.address).toBe(v6('2001:db8:100:4200:0:c000:242:2a'));
  });

  it('says where it could not read', () => {
    expect(parseIfconfig('garbage')).toEqual({ ok: false, error: 'ifconfig output: unexpected first line "garbage"' });
    expect(parseIfconfig('gif0: flags=8051<UP> mtu 1460\n\tinet 1.2.3 netmask 0xffffffff')).toEqual({
      ok: false,
      error: 'ifconfig gif0 output line 2: bad inet address "1.2.3"',
    });
  });

  // An `ifconfig -a` of a router: lo0, the WAN, a vlan, a wg0 whose lines
  // maped does not read (one would not even parse as an address), and gif0.
  const ALL = [
    'lo0: flags=2008049<UP,LOOPBACK,RUNNING,MULTICAST,LRO> mtu 32768',
    '	index 3 priority 0 llprio 3',
    '	groups: lo',
    '	inet6 ::1 prefixlen 128',
    '	inet6 fe80::1%lo0 prefixlen 64 scopeid 0x3',
    '	inet 127.0.0.1 netmask 0xff000000',
    'em0: flags=48843<UP,BROADCAST,RUNNING,SIMPLEX,MULTICAST,AUTOCONF6> mtu 1500',
    '	lladdr 00:0c:29:4d:6e:01',
    '	inet6 fe80::20c:29ff:fe4d:6e01%em0 prefixlen 64 scopeid 0x1',
    '	inet6 2001:db8:100:4200:0:c000:242:2a prefixlen 128',
    'vlan100: flags=8843<UP,BROADCAST,RUNNING,SIMPLEX,MULTICAST> mtu 1500',
    '	encap: vnetid 100 parent em1 txprio packet rxprio outer',
    '	inet 192.168.1.1 netmask 0xffffff00 broadcast 192.168.1.255',
    'wg0: flags=80c3<UP,BROADCAST,RUNNING,NOARP,MULTICAST> mtu 1420',
    '	wgport 51820',
    '	wgpeer qWl2nK9kJ1o0Xg7O6m5u4y3t2r1e0w9q8p7o6i5u4y3=',
    '		wgendpoint 203.0.113.9 51820',
    '	inet 10.9.0.1/24',
    'gif0: flags=8051<UP,POINTOPOINT,RUNNING,MULTICAST> mtu 1460',
    '	tunnel: inet6 2001:db8:100:4200:0:c000:242:2a --> 2001:db8:ffff::1 ttl 64 nodf ecn',
    '	inet 192.0.2.66 --> 0.0.0.1 netmask 0xffffffff',
    '',
  ].join('\n');

  it('picks the tunnel and the WAN out of ifconfig -a, as ifconfig <if> would read them', () => {
    const r = parseIfconfigAll(ALL, ['gif0', 'em0']);
    if (!r.ok) throw new Error(r.error);
    const block = (name: string): string => {
      const lines = ALL.split('\n');
      const from = lines.findIndex((l) => l.startsWith(`${name}: `));
      let to = from + 1;
      while (to < lines.length && /^\s/.test(lines[to]!)) to++;
      return lines.slice(from, to).join('\n');
    };
    expect(r.value.get('gif0')).toEqual((parseIfconfig(block('gif0')) as { value: unknown }).value);
    expect(r.value.get('em0')).toEqual((parseIfconfig(block('em0')) as { value: unknown }).value);
    expect(r.value.get('gif0')?.tunnel?.destination).toBe(v6('2001:db8:ffff::1'));
    expect(r.value.get('em0')?.inet6.map((a) => a.prefixlen)).toEqual([64, 128]);
  });

  it('reads an interface missing from ifconfig -a as absent, and never parses the others', () => {
    // wg0's `inet 10.9.0.1/24` is not ifconfig <if> inet syntax maped reads: it must not matter.
    expect(parseIfconfig(ALL.split('wg0:')[1]!.replace(/^/, 'wg0:')).ok).toBe(false);
    const r = parseIfconfigAll(ALL, ['gif1', 'em0']);
    if (!r.ok) throw new Error(r.error);
    expect(r.value.get('gif1')).toBeNull();
    expect(r.value.get('em0')?.name).toBe('em0');
  });

  it('names the interface whose block it could not read', () => {
    const broken = ALL.replace('inet 192.0.2.66 --> 0.0.0.1', 'inet 192.0.2 --> 0.0.0.1');
    expect(parseIfconfigAll(broken, ['gif0', 'em0'])).toEqual({
      ok: false,
      error: 'gif0: ifconfig gif0 output line 3: bad inet address "192.0.2"',
    });
  });
});

describe('route -nv show -inet output', () => {
  // As sbin/route/show.c 1.123 prints it under -n -v (pr_rthdr, lines 266-273; p_rtentry,
  // lines 296-353): maped's default at 7, dhcpleased's
  // (multipath, labelled) and a PPPoE one at 8 with the same gateway as maped's and no
  // label, a locked MTU, and lo0's routes; the header gains "Label" (pr_rthdr).
  const TABLE = [
    'Routing tables',
    '',
    'Internet:',
    'Destination        Gateway            Flags   Refs      Use   Mtu  Prio Iface Label',
    'default            0.0.0.1            UGS        0       12     -     7 gif0  "maped"',
    'default            192.168.0.1        UGSP       3      125     -     8 em0   "dhcpleased"',
    'default            0.0.0.1            UGSP       1        4  1454 L   8 pppoe0',
    '127/8              127.0.0.1          UGRS       0        0 32768     8 lo0  ',
    '192.168.0/24       192.168.0.2        UCn        1        1     -     4 em0  ',
    '224/4              127.0.0.1          URS        0        0 32768     8 lo0  ',
    '',
  ].join('\n');
  const line = (label: string): string => `Internet:\ndefault            192.168.0.1        UGS        0        0     -     8 em0   ${label}\n`;

  it('reads every default with its gateway, interface, priority, multipath flag and label, and nothing else', () => {
    expect(parseRouteShow(TABLE)).toEqual({
      ok: true,
      value: [
        { gateway: 1, interface: 'gif0', priority: 7, multipath: false, label: 'maped' },
        { gateway: v4('192.168.0.1'), interface: 'em0', priority: 8, multipath: true, label: 'dhcpleased' },
        { gateway: 1, interface: 'pppoe0', priority: 8, multipath: true, label: null },
      ],
    });
  });

  it('reads a table without defaults as none, ignores IPv6 defaults, and names a line it cannot read', () => {
    expect(parseRouteShow('Routing tables\n\nInternet:\nDestination        Gateway\n')).toEqual({ ok: true, value: [] });
    expect(parseRouteShow(`${TABLE}\nInternet6:\ndefault    fe80::1%em0    UGS    0    0    -    56 em0\n`)).toMatchObject({ ok: true, value: { length: 3 } });
    expect(parseRouteShow('Routing tables\n\nInternet:\ndefault 0.0.0.1\n')).toEqual({
      ok: false,
      error: 'route show output line 4: cannot read "default 0.0.0.1"',
    });
    // Words after the interface that routename never prints: not a label.
    expect(parseRouteShow(line('maped'))).toEqual({ ok: false, error: expect.stringContaining('route show output line 2: cannot read') });
  });

  it('keeps a default whose gateway is no IPv4 address: it still holds its priority', () => {
    const r = parseRouteShow('Internet:\ndefault            link#3             UCS        0        0     -    10 em1  \n');
    expect(r).toEqual({ ok: true, value: [{ gateway: null, interface: 'em1', priority: 10, multipath: false, label: null }] });
  });

  it('takes a label as routename quotes it, unescaped: blanks, quotes and column-like words stay in the label', () => {
    const labelOf = (text: string): string | null | undefined => {
      const r = parseRouteShow(line(text));
      return r.ok ? r.value[0]!.label : undefined;
    };
    expect(labelOf('"my label"')).toBe('my label');
    expect(labelOf('"  padded  "')).toBe('  padded  ');
    expect(labelOf('"say "hi""')).toBe('say "hi"');
    expect(labelOf('"$(reboot);`id`|\\"')).toBe('$(reboot);`id`|\\');
    // A label that reads like the end of another route's line: the columns come from the left.
    const fake = parseRouteShow(line('"0 0 - 7 gif0 "maped"'));
    expect(fake).toEqual({ ok: true, value: [expect.objectContaining({ interface: 'em0', priority: 8, label: '0 0 - 7 gif0 "maped' })] });
    // RTLABEL_LEN 32: 31 characters print whole, more cannot come from show.c.
    expect(labelOf(`"${'x'.repeat(31)}"`)).toBe('x'.repeat(31));
    expect(labelOf(`"${'x'.repeat(32)}"`)).toBeUndefined();
  });

  it('reads a label cut short by a newline it holds as far as it goes, and the rest as no route', () => {
    const r = parseRouteShow(`${line('"two').trimEnd()}\nlines"\ndefault            0.0.0.1            UGS        0        0     -     7 gif0  "maped"\n`);
    expect(r).toEqual({
      ok: true,
      value: [expect.objectContaining({ interface: 'em0', label: 'two' }), expect.objectContaining({ interface: 'gif0', label: 'maped' })],
    });
  });
});

describe('pfctl -a <anchor> -sr warnings (exit status 0)', () => {
  it('names a missing anchor apart from a refusal, and sees nothing in a quiet stderr', () => {
    expect(pfctlShowWarning('')).toBeNull();
    expect(pfctlShowWarning('pfctl: Anchor does not exist\n')).toBe('no-anchor');
    expect(pfctlShowWarning('pfctl: Permission denied\n')).toEqual({ error: 'Permission denied' });
  });
});

describe('pfctl -sr output', () => {
  it('reads back every rule maped writes, in the form pfctl prints it', () => {
    for (const mode of ['kernel', 'stock', 'unrestricted'] as const) {
      const rules = anchorRules(desiredFor(PARAMETER_SETS[1]!, mode));
      // pfctl adds the pool type and prints probabilities with %f.
      const printed = rules
        .map(renderRule)
        .map((line) => line.replace(/nat-to \(gif0\)( port \S+)?/, 'nat-to (gif0)$1 round-robin'))
        .map((line) => line.replace(/probability (\S+)/, (_, text: string) => `probability ${pfctlPrintedProbability(pfctlStoredProbability(text)!)}`))
        .join('\n');
      const listing = parsePfctlRules(printed + '\n');
      expect(listing.foreign).toEqual([]);
      expect(anchorMatches(rules, listing.rules)).toBe(true);
    }
  });

  it('notices a changed rule, a missing rule and lines it does not know', () => {
    const rules = anchorRules(desiredFor(PARAMETER_SETS[0]!, 'kernel'));
    const lines = rules.map(renderRule);
    const changed = parsePfctlRules(lines.join('\n').replace('map-e-portset 6/6/63', 'map-e-portset 6/6/62'));
    expect(anchorMatches(rules, changed.rules)).toBe(false);
    expect(anchorMatches(rules, parsePfctlRules(lines.slice(1).join('\n')).rules)).toBe(false);
    expect(parsePfctlRules('block drop in log all\n').foreign).toEqual(['block drop in log all']);
    expect(parsePfRuleLine('pass out on gif0 inet all flags S/SA keep state (max 10)').ok).toBe(false);
  });
});
