/**
 * Each softwire kind from its RFC to the commands and the anchor: the
 * derivation (lw4o6 from a real DHCPv6 option 96 and from a static block,
 * IPIP and DS-Lite from their blocks), the argv of a first apply, the anchor
 * text, and the refusals of bad input.
 */
import { describe, expect, it } from 'vitest';
import { EMPTY_LIVE_STATE, NOTHING_OWNED, planApply } from '../../src/apply/index.js';
import type { MapedConfig } from '../../src/config/index.js';
import { selectSoftwire, type AftrLookup, type LeaseFacts } from '../../src/daemon/select-mapping.js';
import { decodeOptions, parseHex, NO_S46_OPTIONS, type S46Options } from '../../src/dhcpv6/index.js';
import { describeCommand, desiredState, renderAnchor, softwireInput } from '../../src/openbsd/index.js';
import { err, formatIpv4, formatIpv6, ok, parseIpv4Prefix, parseIpv6, parseIpv6Prefix, portInSet } from '../../src/map/index.js';
import { checkPortParams, dsliteSoftwire, ipipSoftwire, lw4o6Softwire, lw4o6TunnelSource, type Softwire } from '../../src/softwire/index.js';
import { configFrom } from '../support/config.js';
import { readJsonLines } from '../support/vectors.js';
import { firstApplyCommands } from '../support/first-apply.js';
import { must } from '../support/must.js';

const v6 = (text: string): bigint => must(parseIpv6(text));
const prefix6 = (text: string) => must(parseIpv6Prefix(text));

function lease(endUserPrefix: string, s46: S46Options = NO_S46_OPTIONS) {
  return { interface: 'em0', endUserPrefix: prefix6(endUserPrefix), s46 };
}

function selected(config: MapedConfig, facts: LeaseFacts, lookup?: AftrLookup): Softwire {
  const selection = selectSoftwire(config, facts, lookup);
  if (!selection.ok) throw new Error(selection.reason);
  return selection.softwire;
}

/** The commands of a first apply on a machine with nothing of maped's, as the tools would see them. */
function firstApply(softwire: Softwire, portset: 'kernel' | 'stock' = 'kernel') {
  const desired = must(
    desiredState({ wan: 'em0', tunnel: 'gif0', mtu: 1460, wanMtu: 1500, ...softwireInput(softwire), natFrom: [must(parseIpv4Prefix('192.168.1.0/24'))], anchor: 'maped', portset }),
  );
  const plan = must(planApply(desired, EMPTY_LIVE_STATE, NOTHING_OWNED));
  return { desired, commands: plan.steps.map((s) => describeCommand(s.command)), anchor: renderAnchor(desired) };
}

/** Every `nat-to` line of an anchor text. */
const natLines = (anchor: string): string[] => anchor.split('\n').filter((line) => line.includes('nat-to'));

interface S46Vector {
  name: string;
  optionsHex: string;
  endUserPrefix: string;
}
const LW4O6 = readJsonLines<S46Vector>('s46.jsonl').find((v) => v.name === 'lw4o6-bind56-psid8')!;

describe('lw4o6 (RFC 7596, RFC 7598 §5.3-5.4)', () => {
  it('from a real option 96 (Kea): IPv4, PSID, length and offset given; source from the bind prefix; NAT confined to PSID 52', () => {
    const s46 = must(decodeOptions(must(parseHex(LW4O6.optionsHex))));
    const softwire = selected(configFrom('wan em0\n'), lease(LW4O6.endUserPrefix, s46));
    expect(softwire).toMatchObject({ kind: 'lw4o6', origin: 'dhcpv6', rule: null });
    expect(formatIpv4(softwire.ipv4.address)).toBe('192.0.2.33');
    expect(softwire.nat).toMatchObject({ into: 'portset', psidOffset: 0, psidLen: 8, psid: 52, portSets: [[13312, 13567]], portCount: 256 });
    // RFC 7596 §5.1 with RFC 7597 §6: bind prefix /56, subnet 0, IID 0:c000:221:34 (192.0.2.33, PSID 52).
    expect(formatIpv6(softwire.tunnel.source)).toBe('2001:db8:ce00:4200:0:c000:221:34');
    expect(formatIpv6(softwire.tunnel.remote)).toBe('2001:db8:ffff::1');

    // Offset 0 is one contiguous block: the kernel patch takes it as it is (never port 0),
    // a stock pf gets it as one port range rule.
    const { commands, anchor, desired } = firstApply(softwire);
    expect(desired.portset).toBe('kernel');
    expect(commands).toEqual(firstApplyCommands({ source: '2001:db8:ce00:4200:0:c000:221:34', remote: '2001:db8:ffff::1', ipv4: '192.0.2.33' }));
    expect(anchor).toMatch(/^# maped: lw4o6 lwB4 192\.0\.2\.33, port set psid 52\/8 offset 0 via map-e-portset$/m);
    expect(natLines(anchor)).toEqual([
      'match out on gif0 inet from (gif0) to any label "maped" nat-to (gif0) map-e-portset 0/8/52',
      'match out on gif0 inet from 192.168.1.0/24 to any label "maped" nat-to (gif0) map-e-portset 0/8/52',
    ]);
    const stock = firstApply(softwire, 'stock');
    expect(stock.anchor).toMatch(/^# maped: lw4o6 lwB4 192\.0\.2\.33, port set psid 52\/8 offset 0 as 1 port ranges$/m);
    // Stock mode: each source tags its range (one here), and one tagged rule translates.
    expect(natLines(stock.anchor)).toEqual(['match out on gif0 inet all label "maped" tagged maped-1 nat-to (gif0) port 13312:13567']);
    expect(stock.anchor).toContain('match out on gif0 inet from 192.168.1.0/24 to any label "maped" tag maped-1');
  });

  it('a static block as maped.conf(5) shows it: the kernel port set 6/8/3, every port of it and no other', () => {
    const config = configFrom('wan em0\nlw4o6 {\n\tipv4 203.0.113.16\n\tpsid-offset 6 psid-len 8 psid 3\n\tbind-prefix 2001:db8:3:100::/56\n\taftr 2001:db8:ffff::2\n}\n');
    const softwire = selected(config, lease('2001:db8:3:100::/56'));
    expect(softwire).toMatchObject({ kind: 'lw4o6', origin: 'static' });
    expect(formatIpv6(softwire.tunnel.source)).toBe('2001:db8:3:100:0:cb00:7110:3');
    const nat = softwire.nat;
    if (nat.into !== 'portset') throw new Error('no port set');
    expect(nat.portCount).toBe(63 * 4);
    for (const [first, last] of nat.portSets) for (let port = first; port <= last; port++) expect(portInSet(port, 6, 8, 3)).toBe(true);
    expect(natLines(firstApply(softwire).anchor)).toEqual([
      'match out on gif0 inet from (gif0) to any label "maped" nat-to (gif0) map-e-portset 6/8/3',
      'match out on gif0 inet from 192.168.1.0/24 to any label "maped" nat-to (gif0) map-e-portset 6/8/3',
    ]);
  });

  it('the tunnel source follows the longer of bind prefix and delegated prefix; a /128 binding is the address', () => {
    const binding = { ipv4: 0xcb007110, psidLen: 8, psid: 3 };
    const eup = prefix6('2001:db8:3:100::/56');
    expect(formatIpv6(must(lw4o6TunnelSource({ ...binding, bindPrefix: prefix6('2001:db8:3:142::/64') }, eup)))).toBe('2001:db8:3:142:0:cb00:7110:3');
    expect(formatIpv6(must(lw4o6TunnelSource({ ...binding, bindPrefix: prefix6('2001:db8:3::/48') }, eup)))).toBe('2001:db8:3:100:0:cb00:7110:3');
    expect(formatIpv6(must(lw4o6TunnelSource({ ...binding, bindPrefix: prefix6('2001:db8:3:100::77/128') }, eup)))).toBe('2001:db8:3:100::77');
    expect(lw4o6TunnelSource({ ...binding, bindPrefix: prefix6('2001:db8:4::/48') }, eup)).toEqual(
      err('bind prefix 2001:db8:4::/48 is not part of the delegated prefix 2001:db8:3:100::/56'),
    );
  });

  it('a /128 binding outside the delegated prefix is refused: it would put another host\'s address on the WAN', () => {
    const binding = { ipv4: 0xcb007110, psidLen: 8, psid: 3 };
    const eup = prefix6('2001:db8:3:100::/56');
    for (const outside of ['2001:4860:4860::8888/128', 'fe80::1/128', 'ff02::1/128', '::1/128']) {
      expect(lw4o6TunnelSource({ ...binding, bindPrefix: prefix6(outside) }, eup)).toEqual(
        err(`bind prefix ${outside} is not part of the delegated prefix 2001:db8:3:100::/56`),
      );
    }
    // A delegated prefix that is no global unicast one gives no source either.
    expect(lw4o6TunnelSource({ ...binding, bindPrefix: null }, prefix6('fe80::/64'))).toEqual(
      err('tunnel source fe80::cb00:7110:3 is a link-local address, not a unicast address'),
    );
  });

  it('refuses port parameters RFC 7598 §4.5 does not allow', () => {
    expect(checkPortParams(6, 8, 256)).toBe('psid 256 does not fit psid-len 8 (0-255)');
    expect(checkPortParams(10, 8, 0)).toBe('psid-offset 10 + psid-len 8 exceed 16 bits');
    expect(checkPortParams(16, 0, 0)).toBe('psid-offset 16 out of range (0-15)');
    expect(checkPortParams(6, 17, 0)).toBe('psid-len 17 out of range (0-16)');
    expect(checkPortParams(0, 16, 65535)).toBeNull();
    const bad = lw4o6Softwire({ ipv4: 1, psidOffset: 6, psidLen: 4, psid: 16, bindPrefix: null, aftr: 1n }, prefix6('2001:db8::/56'), 'dhcpv6');
    expect(bad).toEqual(err('lw4o6: psid 16 does not fit psid-len 4 (0-15)'));
  });

  it('an option 96 without a binding is unusable, and says so', () => {
    const s46: S46Options = { ...NO_S46_OPTIONS, lw4o6: [{ br: [v6('2001:db8::1')], bindings: [] }] };
    expect(selectSoftwire(configFrom('wan em0\n'), lease('2001:db8::/56', s46))).toMatchObject({
      ok: false,
      reason: 'DHCPv6 lw4o6 container has no S46_V4V6BIND',
    });
  });
});

describe('IPIP (RFC 2473) with a fixed address', () => {
  it('a /32: local added to the WAN, tunnel to remote, plain nat-to over every port', () => {
    const config = configFrom('wan em0\nipip {\n\tlocal 2001:db8:7:100::7\n\tremote 2001:db8:7::1\n\tipv4 203.0.113.1\n}\n');
    const softwire = selected(config, lease('2001:db8:7:100::/56'));
    expect(softwire).toMatchObject({ kind: 'ipip', origin: 'static', nat: { into: 'address' }, ipv4: { prefixLen: 32 } });
    const { commands, anchor, desired } = firstApply(softwire);
    expect(desired.portset).toBe('unrestricted');
    expect(commands).toEqual(firstApplyCommands({ source: '2001:db8:7:100::7', remote: '2001:db8:7::1', ipv4: '203.0.113.1' }));
    expect(natLines(anchor)).toEqual([
      'match out on gif0 inet from (gif0) to any label "maped" nat-to (gif0)',
      'match out on gif0 inet from 192.168.1.0/24 to any label "maped" nat-to (gif0)',
    ]);
    expect(anchor).toContain('pass out quick on em0 inet6 proto ipencap from 2001:db8:7:100::7 to 2001:db8:7::1 label "maped"');
  });

  it('a prefix: the CE takes its first host address and keeps the prefix length for status', () => {
    const softwire = must(ipipSoftwire({ local: v6('2001:db8::7'), remote: v6('2001:db8::1'), ipv4: must(parseIpv4Prefix('203.0.113.8/29')) }, 'static'));
    expect(formatIpv4(softwire.ipv4.address)).toBe('203.0.113.9');
    expect(softwire.ipv4.prefixLen).toBe(29);
    expect(firstApply(softwire).commands).toContain('ifconfig gif0 inet 203.0.113.9 0.0.0.1 netmask 255.255.255.255');
  });

  it('refuses a tunnel to itself', () => {
    expect(ipipSoftwire({ local: 5n << 120n, remote: 5n << 120n, ipv4: { address: 1, length: 32 } }, 'static')).toEqual(
      err('ipip: local and remote are the same address'),
    );
  });
});

describe('DS-Lite B4 (RFC 6333)', () => {
  it('192.0.0.2 towards 192.0.0.1 (§5.7), default route via 192.0.0.1, no NAT44, MSS clamp kept', () => {
    const config = configFrom('wan em0\ndslite { aftr 2001:db8:ffff::2 }\n');
    const softwire = selected(config, lease('2001:db8:12:3400::/56'));
    expect(softwire).toMatchObject({ kind: 'dslite', origin: 'static', nat: { into: 'none' }, rule: null });
    const { commands, anchor, desired } = firstApply(softwire);
    expect(desired.portset).toBe('none');
    expect(commands).toEqual(firstApplyCommands({ source: '2001:db8:12:3400:0:c000:2:0', remote: '2001:db8:ffff::2', ipv4: '192.0.0.2', peer: '192.0.0.1' }));
    expect(natLines(anchor)).toEqual([]);
    expect(anchor).toContain('match on gif0 inet proto tcp all flags S/SA scrub (max-mss 1420) label "maped"');
    expect(anchor).toMatch(/^# maped: DS-Lite B4 192\.0\.0\.2, no NAT44 here/m);
  });

  it('an AFTR by name: resolved through the lookup; a name that does not resolve is a reason to retry', () => {
    const config = configFrom('wan em0\ndslite { aftr "aftr.example.net" }\n');
    const asked: string[] = [];
    const lookup: AftrLookup = (name) => {
      asked.push(name);
      return name === 'aftr.example.net' ? ok(v6('2001:db8:ffff::9')) : err(`AFTR ${name} does not resolve (ENOTFOUND)`);
    };
    const softwire = selected(config, lease('2001:db8:12:3400::/56'), lookup);
    expect(formatIpv6(softwire.tunnel.remote)).toBe('2001:db8:ffff::9');
    expect(softwire.remoteName).toBe('aftr.example.net');
    expect(asked).toEqual(['aftr.example.net']);
    const failing: AftrLookup = (name) => err(`AFTR ${name} does not resolve (ENOTFOUND)`);
    expect(selectSoftwire(config, lease('2001:db8:12:3400::/56'), failing)).toMatchObject({
      ok: false,
      retry: true,
      reason: 'dslite: AFTR aftr.example.net does not resolve (ENOTFOUND)',
    });
  });

  it('the tunnel source is the first /64 of the delegated prefix with the IID of 192.0.0.2', () => {
    const softwire = must(dsliteSoftwire({ aftr: 1n, aftrName: null }, prefix6('2001:db8:aa:bb00::/56'), 'static'));
    expect(formatIpv6(softwire.tunnel.source)).toBe('2001:db8:aa:bb00:0:c000:2:0');
    expect(softwire.tunnel.onWan).toBeUndefined();
  });

  it("without a delegated prefix the tunnel source is the WAN's own address, which the plan never adds", () => {
    const config = configFrom('wan em0\nprefix autoconf\ndslite { aftr 2001:db8:ffff::2 }\n');
    const slaac = v6('2001:db8:aa:bb00:20c:29ff:fe4d:6e01');
    const softwire = selected(config, { ...lease('2001:db8:aa:bb00::/64'), wanAddress: slaac });
    expect(softwire.tunnel).toEqual({ source: slaac, remote: v6('2001:db8:ffff::2'), onWan: true });
    const desired = must(
      desiredState({ wan: 'em0', tunnel: 'gif0', mtu: 'auto', wanMtu: 1500, ...softwireInput(softwire), natFrom: [], anchor: 'maped', portset: 'kernel' }),
    );
    // em0 as slaacd left it: the SLAAC address is there, so nothing is added to em0.
    const wan = { name: 'em0', flags: ['UP'], mtu: 1500, tunnel: null, tunnelDf: null, inet: [], inet6: [{ address: slaac, prefixlen: 64, flags: ['autoconf'] }] };
    const plan = must(planApply(desired, { ...EMPTY_LIVE_STATE, wan }, NOTHING_OWNED));
    const commands = plan.steps.map((step) => describeCommand(step.command));
    expect(commands.filter((line) => line.startsWith('ifconfig em0'))).toEqual([]);
    expect(commands).toContain('ifconfig gif0 tunnel 2001:db8:aa:bb00:20c:29ff:fe4d:6e01 2001:db8:ffff::2');
    // An AFTR at the tunnel source itself is nonsense, refused rather than configured.
    expect(dsliteSoftwire({ aftr: slaac, aftrName: null }, prefix6('2001:db8:aa:bb00::/64'), 'static', slaac)).toEqual({
      ok: false,
      error: 'dslite: the AFTR is the tunnel source itself',
    });
  });
});

describe('which kind: softwire auto and named kinds', () => {
  const lw4o6Lease = () => lease(LW4O6.endUserPrefix, must(decodeOptions(must(parseHex(LW4O6.optionsHex)))));
  const RULE = 'rule {\n\tipv6-prefix 2001:db8::/32\n\tipv4-prefix 192.0.2.0/24\n\tea-len 16\n\tbr 2001:db8:ffff::1\n}\n';

  it('auto: the lease\'s option 96 wins over a static rule block', () => {
    expect(selected(configFrom(`wan em0\n${RULE}`), lw4o6Lease()).kind).toBe('lw4o6');
  });

  it('softwire map-e ignores option 96 and uses the static rule', () => {
    expect(selected(configFrom(`wan em0\nsoftwire map-e\n${RULE}`), lw4o6Lease())).toMatchObject({ kind: 'map-e', origin: 'static' });
  });

  it('a named kind with nothing to use says what is missing', () => {
    expect(selectSoftwire(configFrom('wan em0\nsoftwire lw4o6\n'), lease('2001:db8::/56'))).toMatchObject({
      ok: false,
      reason: 'softwire lw4o6: the lease carries no lw4o6 option, provisioning gave none and maped.conf has no lw4o6 block',
    });
  });

  it('softwire ipip beside a dslite block takes the ipip block', () => {
    const config = configFrom('wan em0\nsoftwire ipip\nipip {\n\tlocal 2001:db8::7\n\tremote 2001:db8::1\n\tipv4 192.0.2.1\n}\ndslite { aftr 2001:db8::2 }\n');
    expect(selected(config, lease('2001:db8::/56')).kind).toBe('ipip');
  });
});
