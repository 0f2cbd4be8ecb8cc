/**
 * The privileged parent's command allowlist (src/openbsd/command-allowlist.ts):
 * every command maped produces, for every softwire kind and port-set mode,
 * is accepted; hostile argvs and anchor texts are refused with a reason.
 */
import { describe, expect, it } from 'vitest';
import { EMPTY_LIVE_STATE, NOTHING_OWNED, planApply } from '../../src/apply/index.js';
import { selectSoftwire } from '../../src/daemon/select-mapping.js';
import { NO_S46_OPTIONS } from '../../src/dhcpv6/index.js';
import { parseIpv4Prefix, parseIpv6, parseIpv6Prefix } from '../../src/map/index.js';
import {
  anchorTextRefusal,
  argv,
  commandRefusal,
  desiredState,
  renderAnchor,
  softwireInput,
  type AllowlistScope,
  type Command,
  type DesiredState,
} from '../../src/openbsd/index.js';
import { configFrom } from '../support/config.js';
import { deriveSet, desiredFor, PARAMETER_SETS } from './parameter-sets.js';
import { must } from '../support/must.js';

const TOOLS = { ifconfig: '/sbin/ifconfig', route: '/sbin/route', pfctl: '/sbin/pfctl', dhcp6leasectl: '/usr/sbin/dhcp6leasectl', sysctl: '/sbin/sysctl' };
/** maped.conf's forwards (withForwards below, and the texts of the issue-20 shapes). */
const FORWARDS = [
  { proto: 'tcp', ports: [8080, 8080], to: 0xc0a8010a, toPort: 80 },
  { proto: 'udp', ports: [5000, 5010], to: 0xc0a8010b, toPort: null },
] as const;
const SCOPE: AllowlistScope = { tools: TOOLS, wan: 'em0', tunnel: 'gif0', anchor: 'maped', label: 'maped', forwards: FORWARDS };

const full = (c: Command): string[] => [TOOLS[c.tool], ...c.args];
const refusal = (c: Command, scope = SCOPE): string | null => commandRefusal(scope, full(c), c.stdin);

/** The desired state of each non-MAP-E kind, from its maped.conf block, as the daemon builds it. */
function kindDesired(text: string, portset: 'kernel' | 'stock'): DesiredState {
  const config = configFrom(`wan em0\n${text}\n`);
  const selection = selectSoftwire(config, { interface: 'em0', endUserPrefix: must(parseIpv6Prefix('2001:db8:3:100::/56')), s46: NO_S46_OPTIONS });
  if (!selection.ok) throw new Error(selection.reason);
  return must(
    desiredState({ wan: 'em0', tunnel: 'gif0', mtu: 1460, wanMtu: 1500, ...softwireInput(selection.softwire), natFrom: [must(parseIpv4Prefix('192.168.1.0/24'))], anchor: 'maped', portset }),
  );
}

const KINDS: Record<string, string> = {
  lw4o6: 'lw4o6 {\n\tipv4 203.0.113.16\n\tpsid-offset 6 psid-len 8 psid 3\n\tbind-prefix 2001:db8:3:100::/56\n\taftr 2001:db8:ffff::2\n}',
  ipip: 'ipip {\n\tlocal 2001:db8:7:100::7\n\tremote 2001:db8:7::1\n\tipv4 203.0.113.1\n}',
  dslite: 'dslite { aftr 2001:db8:ffff::2 }',
};

/** SSH to one port of the set's first range, TCP and UDP to four ports of its second (maped.conf `forward`). */
function withForwards(set: (typeof PARAMETER_SETS)[number], mode: 'kernel' | 'stock' | 'unrestricted'): DesiredState {
  const [r1, r2] = deriveSet(set).portSets.filter(([first]) => first > 0);
  const forwards = [
    { proto: 'tcp', ports: [r1![0] + 1, r1![0] + 1], to: 0xc0a8010a, toPort: 22 },
    { proto: 'tcp-udp', ports: [r2![0], r2![0] + 3], to: 0xc0a80114, toPort: null },
  ] as const;
  const desired = desiredFor(set, mode, { forwards });
  if (desired.forwards.length !== 2) throw new Error('the forwards are not in force');
  return desired;
}

const EVERY_DESIRED: [string, DesiredState][] = [
  ...PARAMETER_SETS.flatMap((set) => (['kernel', 'stock', 'unrestricted'] as const).map((mode): [string, DesiredState] => [`map-e ${set.name} ${mode}`, desiredFor(set, mode)])),
  ...PARAMETER_SETS.flatMap((set) =>
    (['kernel', 'stock', 'unrestricted'] as const).map((mode): [string, DesiredState] => [`map-e ${set.name} ${mode} with forwards`, withForwards(set, mode)]),
  ),
  ...Object.entries(KINDS).flatMap(([kind, text]) => (['kernel', 'stock'] as const).map((mode): [string, DesiredState] => [`${kind} ${mode}`, kindDesired(text, mode)])),
];

describe('every command maped produces is accepted', () => {
  it.each(EVERY_DESIRED)('%s: the first apply and its anchor', (_name, desired) => {
    const plan = must(planApply(desired, EMPTY_LIVE_STATE, NOTHING_OWNED));
    expect(plan.steps.length).toBeGreaterThan(3);
    // maped.conf's forwards: those in force are among them.
    const scope = { ...SCOPE, forwards: desired.forwards };
    for (const step of plan.steps) expect(refusal(step.command, scope), full(step.command).join(' ')).toBeNull();
    expect(anchorTextRefusal(scope, renderAnchor(desired))).toBeNull();
  });

  it('the reads, the teardown, the state kills, the probe and the lease query', () => {
    const ce = must(parseIpv6('2001:db8::1'));
    const commands: Command[] = [
      argv.showInterfaces(),
      argv.showRoutes(),
      argv.showAnchor('maped'),
      argv.showStates(),
      argv.showStatesWithIds(),
      argv.killStateId('5f1a0c3d00000001'),
      argv.portsetProbe(),
      argv.flushAnchor('maped'),
      argv.gifDeleteTunnel('gif0'),
      argv.gifDestroy('gif0'),
      argv.gifInetDelete('gif0', 0xc0000221),
      argv.wanAliasDelete('em0', ce),
      argv.routeDeleteDefault('gif0', 0xc0000001, 7),
      argv.routeAddDefault('gif0', 0xc0000001, 63, 'maped'),
      { tool: 'ifconfig', args: ['em0'] },
    ];
    for (const c of commands) expect(refusal(c), full(c).join(' ')).toBeNull();
    expect(commandRefusal(SCOPE, [TOOLS.dhcp6leasectl, '-l', 'em0'])).toBeNull();
  });

  it('the shapes of issues 16 and 20: -ifp/-priority, the pf and forwarding checks, -tunneldf, inbound forwards', () => {
    const accepted: string[][] = [
      [TOOLS.route, '-n', 'add', '-inet', 'default', '0.0.0.1', '-ifp', 'gif0', '-priority', '16', '-label', 'maped'],
      [TOOLS.route, '-n', 'delete', '-inet', 'default', '0.0.0.1', '-ifp', 'gif0', '-priority', '16'],
      // Every IPv4 route with its label (show.c's -v column): how maped finds its own.
      [TOOLS.route, '-nv', 'show', '-inet'],
      [TOOLS.pfctl, '-sr'],
      [TOOLS.pfctl, '-si'],
      [TOOLS.sysctl, 'net.inet.ip.forwarding'],
      [TOOLS.sysctl, '-n', 'net.inet6.ip6.forwarding'],
      [TOOLS.ifconfig, 'gif0', '-tunneldf'],
    ];
    for (const a of accepted) expect(commandRefusal(SCOPE, a), a.join(' ')).toBeNull();
    const forwards = [
      'pass in quick on gif0 inet proto tcp from any to (gif0) port = 8080 flags S/SA label "maped" rdr-to 192.168.1.10 port 80',
      'pass in quick on gif0 inet proto udp from any to (gif0) port 5000:5010 label "maped" rdr-to 192.168.1.11 port 5000:5010',
    ];
    for (const rule of forwards) expect(anchorTextRefusal(SCOPE, `${rule}\n`), rule).toBeNull();
  });
});

describe('hostile commands are refused', () => {
  const cases: [string, string[], RegExp][] = [
    ['another interface', [TOOLS.ifconfig, 'em1', 'down'], /neither the tunnel gif0 nor the WAN em0/],
    ['the WAN taken down', [TOOLS.ifconfig, 'em0', 'down'], /not a WAN command/],
    ['the WAN destroyed', [TOOLS.ifconfig, 'em0', 'destroy'], /not a WAN command/],
    ['an address on another interface', [TOOLS.ifconfig, 'vio0', 'inet6', '2001:db8::1', 'prefixlen', '128', 'alias'], /neither the tunnel/],
    ['another anchor', [TOOLS.pfctl, '-a', 'other', '-F', 'all'], /anchor other is not maped's anchor maped/],
    ['a flush of the main ruleset', [TOOLS.pfctl, '-F', 'all'], /not a pfctl command/],
    ['pf disabled', [TOOLS.pfctl, '-d'], /not a pfctl command/],
    ['a main ruleset loaded', [TOOLS.pfctl, '-f', '/tmp/evil.conf'], /not a pfctl command/],
    ['a tool path not in the config', ['/bin/sh', '-c', 'id'], /not a tool path of maped.conf/],
    ['a relative tool path', ['ifconfig', '-a'], /not a tool path/],
    ['a tool path one character off', ['/sbin/ifconfig ', '-a'], /not a tool path/],
    ['shell metacharacters', [TOOLS.ifconfig, 'gif0;rm', '-rf', '/'], /holds a character maped never passes/],
    ['a command substitution', [TOOLS.ifconfig, 'gif0', 'mtu', '$(reboot)'], /holds a character/],
    ['a backquote', [TOOLS.route, '-n', 'get', '-inet', '`id`'], /holds a character/],
    ['a newline in a word', [TOOLS.ifconfig, 'gif0\nreboot'], /holds a character/],
    ['a route flush', [TOOLS.route, '-n', 'flush'], /not a route command/],
    ['a route show maped no longer runs (no labels)', [TOOLS.route, '-n', 'show', '-inet'], /not a route command/],
    ['a route show of another family', [TOOLS.route, '-nv', 'show', '-inet6'], /not a route command/],
    ['a route show with a filter', [TOOLS.route, '-nv', 'show', '-inet', '-label', 'maped'], /not a route command/],
    ['a verbose route change', [TOOLS.route, '-nv', 'add', '-inet', 'default', '0.0.0.1', '-label', 'maped'], /not a route command/],
    ['a route changed in place, which maped never does', [TOOLS.route, '-n', 'change', '-inet', 'default', '0.0.0.1', '-ifp', 'gif0', '-priority', '7', '-label', 'maped'], /not a route command/],
    ['a route get maped no longer asks', [TOOLS.route, '-n', 'get', '-inet', 'default'], /not a route command/],
    ['a route to another gateway family', [TOOLS.route, '-n', 'add', '-inet', 'default', '2001:db8::1', '-label', 'maped'], /not an IPv4 address/],
    ['a route with another label', [TOOLS.route, '-n', 'add', '-inet', 'default', '0.0.0.1', '-label', 'dhcpleased'], /not maped's/],
    ['a route without a label', [TOOLS.route, '-n', 'add', '-inet', 'default', '0.0.0.1'], /no -label maped/],
    ['a route on another interface', [TOOLS.route, '-n', 'delete', '-inet', 'default', '0.0.0.1', '-ifp', 'em0'], /not maped's/],
    ['a delete of whichever default has that gateway (a PPPoE one)', [TOOLS.route, '-n', 'delete', '-inet', 'default', '0.0.0.1'], /no -ifp gif0/],
    ['a delete at any priority', [TOOLS.route, '-n', 'delete', '-inet', 'default', '0.0.0.1', '-ifp', 'gif0'], /no -priority/],
    ['a default through a LAN host', [TOOLS.route, '-n', 'add', '-inet', 'default', '192.168.1.66', '-priority', '2', '-label', 'maped'], /no -ifp gif0/],
    ['a labelled default on the tunnel at any priority', [TOOLS.route, '-n', 'add', '-inet', 'default', '0.0.0.1', '-ifp', 'gif0', '-label', 'maped'], /no -priority/],
    ['a routing-socket monitor (the parent runs its own)', [TOOLS.route, '-n', 'monitor'], /not a route command/],
    ['a route that is not the default', [TOOLS.route, '-n', 'add', '-inet', '10.0.0.0/8', '0.0.0.1', '-label', 'maped'], /not a route command/],
    ['a sysctl write', [TOOLS.sysctl, 'net.inet.ip.forwarding=0'], /holds a character/],
    ['a sysctl read of something else', [TOOLS.sysctl, 'kern.securelevel'], /not a sysctl read/],
    ['a lease query that starts an exchange', [TOOLS.dhcp6leasectl, 'em0'], /not a lease query/],
    ['a lease query of another interface', [TOOLS.dhcp6leasectl, '-l', 'em1'], /not a lease query/],
    ['a kill of every state', [TOOLS.pfctl, '-k', '0.0.0.0/0'], /not a pfctl command/],
    ['the WAN\'s link-local address removed', [TOOLS.ifconfig, 'em0', 'inet6', 'fe80::1', 'delete'], /not a WAN command/],
    ['a multicast /128 on the WAN', [TOOLS.ifconfig, 'em0', 'inet6', 'ff02::1', 'prefixlen', '128', 'alias'], /not a WAN command/],
    ['the loopback address on the WAN', [TOOLS.ifconfig, 'em0', 'inet6', '::1', 'prefixlen', '128', 'alias'], /not a WAN command/],
    ['a tunnel to a multicast group', [TOOLS.ifconfig, 'gif0', 'tunnel', '2001:db8::1', 'ff02::1'], /not a tunnel command/],
    ['a tunnel from an IPv4-mapped address', [TOOLS.ifconfig, 'gif0', 'tunnel', '::ffff:192.0.2.1', '2001:db8::1'], /not a tunnel command/],
    ['an over-long word', [TOOLS.ifconfig, `gif${'0'.repeat(200)}`], /longer than 128/],
    ['an empty command', [], /empty command/],
    ['a C1 control (CSI), shown escaped in the refusal', [TOOLS.ifconfig, 'gif0\u009b2J'], /argument "gif0\\x9b2J" holds a character/],
  ];
  it.each(cases)('%s', (_name, command, reason) => {
    expect(commandRefusal(SCOPE, command)).toMatch(reason);
  });

  it('standard input only where maped feeds it, and only the probe to pfctl -nf -', () => {
    expect(commandRefusal(SCOPE, [TOOLS.ifconfig, '-a'], 'x')).toMatch(/reads no standard input/);
    expect(commandRefusal(SCOPE, [TOOLS.pfctl, '-nf', '-'], 'pass all\n')).toMatch(/only run with the map-e-portset probe/);
    expect(commandRefusal(SCOPE, [TOOLS.pfctl, '-o', 'none', '-a', 'maped', '-f', '-'])).toMatch(/without an anchor text/);
    expect(commandRefusal(SCOPE, [TOOLS.pfctl, '-o', 'none', '-a', 'other', '-f', '-'], '')).toMatch(/anchor other is not maped's/);
  });

  const valid = renderAnchor(desiredFor(PARAMETER_SETS[1]!, 'stock'));
  const anchors: [string, string, RegExp][] = [
    ['a rule on another interface', 'match out on em1 inet all label "maped" nat-to (gif0)', /a rule on em1/],
    ['a rule without an interface', 'match out inet all label "maped" nat-to (gif0)', /not bound to an interface/],
    ['a rule without the label', 'match out on gif0 inet from (gif0) to any nat-to (gif0)', /without maped's label "maped"/],
    ['a rule with another label', 'match out on gif0 inet all label "other" nat-to (gif0)', /without maped's label/],
    ['a block rule', 'block in quick on gif0 inet all label "maped"', /only match and pass/],
    ['a catch-all pass on the tunnel', 'pass out quick on gif0 inet all label "maped"', /forwards nothing/],
    ['a pass of IPv4 on the WAN', 'pass in quick on em0 inet all label "maped"', /only "pass in\|out quick … inet6 proto ipencap"/],
    ['a pass of anything on the WAN', 'pass in quick on em0 inet6 all label "maped"', /only "pass in\|out quick/],
    ['IPv4-in-IPv6 from anyone on the WAN', 'pass in quick on em0 inet6 proto ipencap all label "maped"', /only from one unicast address to another/],
    ['IPv4-in-IPv6 from a whole prefix on the WAN', 'pass in quick on em0 inet6 proto ipencap from any to 2001:db8::1 label "maped"', /only from one unicast address to another/],
    ['a nested anchor', 'anchor "evil" on gif0', /only match and pass/],
    ['a ruleset loaded from a file', 'load anchor "maped/x" from "/tmp/evil"', /only match and pass/],
    ['a table', 'table <t> persist { 0.0.0.0/0 }', /only match and pass/],
    ['a translation to another interface', 'match out on gif0 inet all label "maped" nat-to (em0)', /nat-to other than the tunnel's own address/],
    ['a translation to an address', 'match out on gif0 inet all label "maped" nat-to 198.51.100.1', /nat-to other than/],
    ['a redirection out of the tunnel', 'match out on gif0 inet all label "maped" rdr-to 10.0.0.1', /rdr-to 10.0.0.1: not a forward of maped.conf/],
    ['a redirection to the router itself', 'pass in quick on gif0 inet proto tcp from any to (gif0) port = 8080 flags S/SA label "maped" rdr-to 127.0.0.1 port 80', /rdr-to 127.0.0.1: not a forward of maped.conf/],
    ['every inbound packet to a forward\'s host', 'pass in quick on gif0 inet all label "maped" rdr-to 192.168.1.10', /not a forward of maped.conf/],
    ['a forward\'s host on another port', 'pass in quick on gif0 inet proto tcp from any to (gif0) port = 8080 flags S/SA label "maped" rdr-to 192.168.1.10 port 22', /not a forward of maped.conf/],
    ['a forward of another protocol', 'pass in quick on gif0 inet proto udp from any to (gif0) port = 8080 label "maped" rdr-to 192.168.1.10 port 80', /not a forward of maped.conf/],
    ['another tag', 'match out on gif0 inet all label "maped" tag OTHER', /not one of maped's range tags/],
    ['an unknown option', 'match out on gif0 inet all label "maped" route-to (em1 10.0.0.1)', /not a word of the rules maped writes/],
    ['a macro', 'ext = "em1"\nmatch out on $ext inet all label "maped"', /macro/],
    ['a comment that continues onto the next line', `# harmless \\\nblock all\n${valid}`, /backslash/],
    ['a control character', 'match out on gif0 inet all label "maped"\u0000', /control character/],
    ['a set option', 'set skip on em0', /only match and pass/],
    ['a label duplicated to hide another', 'match out on gif0 inet all label "maped" label "x"', /"label" twice/],
  ];
  it.each(anchors)('anchor text: %s', (_name, text, reason) => {
    expect(anchorTextRefusal(SCOPE, `${text}\n`)).toMatch(reason);
    // The same text fed to pfctl -f - is a refused command.
    expect(commandRefusal(SCOPE, [TOOLS.pfctl, '-o', 'none', '-a', 'maped', '-f', '-'], `${text}\n`)).toMatch(reason);
  });

  it('one bad rule among good ones refuses the whole text, naming its line', () => {
    expect(anchorTextRefusal(SCOPE, valid)).toBeNull();
    const lines = valid.split('\n');
    lines.splice(4, 0, 'pass quick on em1 inet all label "maped"');
    expect(anchorTextRefusal(SCOPE, lines.join('\n'))).toMatch(/^anchor line 5: a rule on em1/);
  });

  it('the scope decides: the same command is refused under another configuration', () => {
    const plan = must(planApply(desiredFor(PARAMETER_SETS[0]!, 'kernel'), EMPTY_LIVE_STATE, NOTHING_OWNED));
    const other: AllowlistScope = { ...SCOPE, wan: 'em1', tunnel: 'gif1', anchor: 'other', label: 'other' };
    for (const step of plan.steps) expect(refusal(step.command, other), full(step.command).join(' ')).not.toBeNull();
    const moved: AllowlistScope = { ...SCOPE, tools: { ...TOOLS, ifconfig: '/usr/local/sbin/ifconfig' } };
    expect(commandRefusal(moved, [TOOLS.ifconfig, '-a'])).toMatch(/not a tool path/);
  });
});
