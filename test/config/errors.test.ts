/**
 * Every error maped.conf can produce, with its exact one-line text: the
 * messages are part of the interface (an operator greps them, maped -n prints
 * them). Each case names the line and column a reader would look at.
 */
import { describe, expect, it } from 'vitest';
import { parseError, parseErrors } from './helpers.js';

const RULE_HEAD = 'rule {\n\tipv6-prefix 2001:db8::/32\n\tipv4-prefix 192.0.2.0/24\n';

type Case = readonly [behaviour: string, text: string, error: string];

const lexical: Case[] = [
  ['an unterminated string is reported at its opening quote', 'wan em0\nstate-dir "/var/db\n', '/etc/maped.conf:2:11: unterminated string'],
  ['an unterminated string at the end of the file', "wan em0\nstate-dir '/var", '/etc/maped.conf:2:11: unterminated string'],
  ['"$" must be followed by a macro name', 'wan $ em0\n', '/etc/maped.conf:1:5: macro name expected after "$"'],
  ['an undefined macro is reported where it is used', 'wan em0\nnat from $lans\n', '/etc/maped.conf:2:10: undefined macro $lans'],
  ['a macro is only defined from its definition on', 'wan $ext\next = em0\n', '/etc/maped.conf:1:5: undefined macro $ext'],
];

const provision: Case[] = [
  ['user is never root', 'wan em0\nuser root\n', '/etc/maped.conf:2:6: user: the unprivileged part of maped cannot run as root'],
  ['user is a login name', 'wan em0\nuser "a b"\n', '/etc/maped.conf:2:6: user: "a b" is not a user name'],
  ['user is given once', 'wan em0\nuser _maped\nuser nobody\n', '/etc/maped.conf:3:1: duplicate user, first set at line 2'],
  ['prefix takes autoconf', 'wan em0\nprefix slaac\n', '/etc/maped.conf:2:8: prefix: expected autoconf, got "slaac"'],
  ['prefix is given once', 'wan em0\nprefix autoconf\nprefix autoconf\n', '/etc/maped.conf:3:1: duplicate prefix, first set at line 2'],
  ['provision names its protocol', 'wan em0\nprovision { }\n', '/etc/maped.conf:2:11: provision: expected hb46pp, got "{"'],
  ['an unknown provision keyword suggests the close one', 'wan em0\nprovision hb46pp {\n\tvendord x\n}\n', '/etc/maped.conf:3:2: unknown provision keyword "vendord" (did you mean "vendorid"?)'],
  ['a provision url must be http or https', 'wan em0\nprovision hb46pp { url "ftp://x/" }\n', '/etc/maped.conf:2:24: provision url "ftp://x/": scheme must be http or https'],
  ['a provision dns server is an address', 'wan em0\nprovision hb46pp { dns "ns.example" }\n', '/etc/maped.conf:2:24: provision dns: "ns.example" is not ADDRESS, [ADDRESS]:PORT or IPV4:PORT'],
  ['a provision dns port in range', 'wan em0\nprovision hb46pp { dns "[2001:db8::53]:70000" }\n', '/etc/maped.conf:2:24: provision dns: port 70000 out of range (1-65535)'],
  ['an lw4o6 dns port in range, said as provision says it', 'wan em0\nlw4o6 { ipv4 203.0.113.16 psid-offset 6 psid-len 8 psid 3 bind-prefix 2001:db8:3:100::/56 aftr 2001:db8:ffff::2 dns "192.0.2.53:0" }\n', '/etc/maped.conf:2:117: lw4o6 dns: port 0 out of range (1-65535)'],
  ['a vendorid starts with an OUI', 'wan em0\nprovision hb46pp { vendorid "maped" }\n', '/etc/maped.conf:2:29: provision vendorid: "maped" is not an OUI of 6 hex digits, optionally "-" and up to 24 of [0-9A-Za-z_]'],
  ['user goes with password', 'wan em0\nprovision hb46pp { user "u" }\n', '/etc/maped.conf:2:25: provision: user and password go together'],
  ['a password has the spec’s characters', 'wan em0\nprovision hb46pp { user u password "p w" }\n', '/etc/maped.conf:2:36: provision password: "p w" is not 1-32 of [0-9A-Za-z_-]'],
  ['two provision blocks', 'wan em0\nprovision hb46pp { }\nprovision hb46pp { }\n', '/etc/maped.conf:3:1: duplicate provision, first set at line 2'],
];

const syntax: Case[] = [
  ['an unknown keyword with a close match suggests it', 'wan em0\ntunel gif0\n', '/etc/maped.conf:2:1: unknown keyword "tunel" (did you mean "tunnel"?)'],
  ['an unknown keyword with no close match says only that', 'wan em0\nfrobnicate\n', '/etc/maped.conf:2:1: unknown keyword "frobnicate"'],
  ['a rule keyword outside a rule', 'wan em0\nea-len 16\n', '/etc/maped.conf:2:1: ea-len is only allowed inside a rule block'],
  ['a statement cannot start with a quoted string', 'wan em0\n"wan" em1\n', '/etc/maped.conf:2:1: syntax error: expected a keyword, got quoted string "wan"'],
  ['a statement cannot start with "{"', 'wan em0\n{ }\n', '/etc/maped.conf:2:1: syntax error: expected a keyword, got "{"'],
  ['a "}" without "{" is an unbalanced brace', 'wan em0\n}\n', '/etc/maped.conf:2:1: unbalanced brace: "}" without a matching "{"'],
  ['an unclosed rule block is reported at its "{"', `wan em0\n${RULE_HEAD}\tea-len 16\n`, '/etc/maped.conf:2:6: unbalanced brace: "{" is never closed'],
  ['an unclosed list is reported at its "{"', 'wan em0\nnat from { 10.0.0.0/24\n', '/etc/maped.conf:2:10: unbalanced brace: "{" is never closed'],
  ['a top-level keyword inside a rule hints at a missing "}"', `${RULE_HEAD}\tea-len 16\nwan em0\n`, '/etc/maped.conf:5:1: wan is not allowed inside a rule block (missing "}"?)'],
  ['an unknown rule keyword suggests the close one', `wan em0\n${RULE_HEAD}\tea-lne 16\n}\n`, '/etc/maped.conf:5:2: unknown rule keyword "ea-lne" (did you mean "ea-len"?)'],
  ['a rule statement must start with a keyword', `wan em0\n${RULE_HEAD}\t, 16\n}\n`, '/etc/maped.conf:5:2: rule: expected a keyword, got ","'],
  ['a rule needs its "{" on the same line', 'wan em0\nrule\n{\n}\n', '/etc/maped.conf:2:5: rule: expected "{", got end of line'],
  ['two statements on one line', 'wan em0 tunnel gif0\n', '/etc/maped.conf:1:9: syntax error: unexpected "tunnel", expected end of line'],
  ['two rule statements on one line', `wan em0\n${RULE_HEAD}\tea-len 16 psid-offset 4\n}\n`, '/etc/maped.conf:5:12: syntax error: unexpected "psid-offset", expected end of line'],
  ['a missing value names what was expected', 'wan\n', '/etc/maped.conf:1:4: wan: expected an interface name, got end of line'],
  ['a missing value at the end of the file', 'wan em0\nstate-dir', '/etc/maped.conf:2:10: state-dir: expected a path, got end of file'],
  ['lease needs "file"', 'wan em0\nlease "/x"\n', '/etc/maped.conf:2:7: lease: expected file, got quoted string "/x"'],
  ['lease file needs a path', 'wan em0\nlease file {\n', '/etc/maped.conf:2:12: lease file: expected a path, got "{"'],
  ['pf needs anchor or portset', 'wan em0\npf anchr "x"\n', '/etc/maped.conf:2:4: pf: expected anchor or portset, got "anchr" (did you mean "anchor"?)'],
  ['pf anchor needs a name', 'wan em0\npf anchor\n', '/etc/maped.conf:2:10: pf anchor: expected an anchor name, got end of line'],
  ['pf portset takes one of three words', 'wan em0\npf portset kernal\n', '/etc/maped.conf:2:12: pf portset: expected auto, kernel or stock, got "kernal" (did you mean "kernel"?)'],
  ['keywords are bare words: a quoted one is a string', 'wan em0\npf portset "auto"\n', '/etc/maped.conf:2:12: pf portset: expected auto, kernel or stock, got quoted string "auto"'],
  ['interface-id takes rfc7597 or draft03', 'wan em0\ninterface-id rfc7598\n', '/etc/maped.conf:2:14: interface-id: expected draft03 or rfc7597, got "rfc7598" (did you mean "rfc7597"?)'],
  ['on-exit takes keep or teardown', 'wan em0\non-exit destroy\n', '/etc/maped.conf:2:9: on-exit: expected keep or teardown, got "destroy"'],
  ['tool names one of six tools', 'wan em0\ntool ping "/sbin/ping"\n', '/etc/maped.conf:2:6: tool: expected dhcp6leasectl, ifconfig, logger, pfctl, route or sysctl, got "ping"'],
  ['tool needs a path', 'wan em0\ntool pfctl\n', '/etc/maped.conf:2:11: tool pfctl: expected an absolute path, got end of line'],
  ['tunnel needs an interface', 'wan em0\ntunnel {\n', '/etc/maped.conf:2:8: tunnel: expected an interface name, got "{"'],
  ['mtu takes auto or a number', 'wan em0\ntunnel gif0 mtu big\n', '/etc/maped.conf:2:17: mtu: expected auto or a number, got "big"'],
  ['route-priority takes a number', 'wan em0\ntunnel gif0 route-priority high\n', '/etc/maped.conf:2:28: tunnel route-priority: expected a number, got "high"'],
  ['a tunnel option twice', 'wan em0\ntunnel gif0 peer 0.0.0.1 mtu 1400 peer 0.0.0.2\n', '/etc/maped.conf:2:35: duplicate tunnel peer'],
  ['numbers are bare: a quoted one is a string', `wan em0\n${RULE_HEAD}\tea-len "16"\n}\n`, '/etc/maped.conf:5:9: ea-len: expected a number, got quoted string "16"'],
  ['a number must be decimal digits', `wan em0\n${RULE_HEAD}\tea-len -1\n}\n`, '/etc/maped.conf:5:9: ea-len: expected a number, got "-1"'],
  ['psid after psid-len needs a number', `wan em0\n${RULE_HEAD}\tea-len 16\n\tpsid-len 8 psid\n}\n`, '/etc/maped.conf:6:17: psid: expected a number, got end of line'],
  ['nat needs "from"', 'wan em0\nnat 10.0.0.0/8\n', '/etc/maped.conf:2:5: nat: expected from, got "10.0.0.0/8"'],
  ['nat from needs a prefix or a list', 'wan em0\nnat from\n', '/etc/maped.conf:2:9: nat from: expected an IPv4 prefix or a { } list, got end of line'],
  ['a list holds no nested "{"', 'wan em0\nnat from { { } }\n', '/etc/maped.conf:2:12: nat from: unexpected "{" in list'],
  ['forward takes a protocol', 'wan em0\nforward icmp port 1 to 192.168.1.2\n', '/etc/maped.conf:2:9: forward: expected tcp, tcp-udp or udp, got "icmp"'],
  ['forward needs "port"', 'wan em0\nforward tcp 22 to 192.168.1.2\n', '/etc/maped.conf:2:13: forward tcp: expected port, got "22"'],
  ['forward needs "to" after its ports', 'wan em0\nforward tcp port 22 192.168.1.2\n', '/etc/maped.conf:2:21: forward tcp port 22: expected to, got "192.168.1.2"'],
  ['forward needs a host', 'wan em0\nforward udp port 22 to\n', '/etc/maped.conf:2:23: forward udp port 22 to: expected an IPv4 address, got end of line'],
  ['a forward target port is a number', 'wan em0\nforward tcp port 22 to 192.168.1.2 port ssh\n', '/etc/maped.conf:2:41: forward … to 192.168.1.2 port: expected a number, got "ssh"'],
  ['include needs a file name', 'wan em0\ninclude\n', '/etc/maped.conf:2:8: include: expected a file name, got end of line'],
  ['a macro name is letters, digits and _', 'my-lan = "10.0.0.0/8"\n', '/etc/maped.conf:1:1: invalid macro name "my-lan" (letters, digits and "_" only)'],
  ['a macro needs a value', 'lan =\n', '/etc/maped.conf:1:5: macro lan: missing value'],
  ['a macro value is strings and words: braces must be quoted', 'lans = { 10.0.0.0/8 }\n', '/etc/maped.conf:1:8: macro lans: unexpected "{" in value (quote it)'],
  ['a macro definition ends at the end of the line', 'a = b\n=\n', '/etc/maped.conf:2:1: syntax error: expected a keyword, got "="'],
];

const duplicates: Case[] = [
  ['wan twice', 'wan em0\nwan em1\n', '/etc/maped.conf:2:1: duplicate wan, first set at line 1'],
  ['lease file twice', 'wan em0\nlease file "/a"\nlease file "/b"\n', '/etc/maped.conf:3:1: duplicate lease file, first set at line 2'],
  ['tunnel twice', 'wan em0\ntunnel gif0\ntunnel gif1 mtu 1400\n', '/etc/maped.conf:3:1: duplicate tunnel, first set at line 2'],
  ['pf anchor twice', 'wan em0\npf anchor a\npf portset auto\npf anchor b\n', '/etc/maped.conf:4:1: duplicate pf anchor, first set at line 2'],
  ['pf portset twice', 'wan em0\npf portset auto\npf portset stock\n', '/etc/maped.conf:3:1: duplicate pf portset, first set at line 2'],
  ['interface-id twice', 'wan em0\ninterface-id rfc7597\ninterface-id draft03\n', '/etc/maped.conf:3:1: duplicate interface-id, first set at line 2'],
  ['on-exit twice', 'wan em0\non-exit keep\non-exit keep\n', '/etc/maped.conf:3:1: duplicate on-exit, first set at line 2'],
  ['the same tool twice (other tools are separate settings)', 'wan em0\ntool route "/a"\ntool pfctl "/b"\ntool route "/c"\n', '/etc/maped.conf:4:1: duplicate tool route, first set at line 2'],
  ['state-dir twice', 'wan em0\nstate-dir "/a"\nstate-dir "/b"\n', '/etc/maped.conf:3:1: duplicate state-dir, first set at line 2'],
  ['a rule statement twice in one rule', `wan em0\n${RULE_HEAD}\tea-len 16\n\tea-len 8\n}\n`, '/etc/maped.conf:6:2: duplicate ea-len, first set at line 5'],
  ['psid twice in one rule', `wan em0\n${RULE_HEAD}\tea-len 16\n\tpsid-len 8 psid 1\n\tpsid 2\n}\n`, '/etc/maped.conf:7:2: duplicate psid, first set at line 6'],
  ['ipv6-prefix twice', `wan em0\n${RULE_HEAD}\tipv6-prefix 2001:db8::/32\n}\n`, '/etc/maped.conf:5:2: duplicate ipv6-prefix, first set at line 3'],
];

const values: Case[] = [
  ['no wan at all names only the file', 'tunnel gif0\n', '/etc/maped.conf: no wan interface (add "wan <interface>")'],
  ['an empty file has no wan either', '', '/etc/maped.conf: no wan interface (add "wan <interface>")'],
  ['a wan name must be driver and unit', 'wan EM0\n', '/etc/maped.conf:1:5: wan: invalid interface name "EM0" (expected a driver name and unit, such as em0)'],
  ['a wan name without a unit', 'wan em\n', '/etc/maped.conf:1:5: wan: invalid interface name "em" (expected a driver name and unit, such as em0)'],
  ['an interface name longer than IFNAMSIZ - 1', 'wan abcdefghijklmno0\n', '/etc/maped.conf:1:5: wan: interface name "abcdefghijklmno0" longer than 15 characters'],
  ['the tunnel must be a gif', 'wan em0\ntunnel tun0\n', '/etc/maped.conf:2:8: tunnel: "tun0" is not a gif(4) interface (expected gif0, gif1, …)'],
  ['the tunnel name is an interface name first', 'wan em0\ntunnel gif\n', '/etc/maped.conf:2:8: tunnel: invalid interface name "gif" (expected a driver name and unit, such as em0)'],
  ['the wan cannot be the (default) tunnel', 'wan gif0\n', '/etc/maped.conf:1:5: wan: gif0 is also the tunnel interface'],
  ['the wan cannot be the tunnel: the later line is blamed', 'tunnel gif2\nwan gif2\n', '/etc/maped.conf:2:5: wan: gif2 is also the tunnel interface (line 1)'],
  ['the tunnel cannot be the wan: the later line is blamed', 'wan gif1\ntunnel gif1\n', '/etc/maped.conf:2:8: tunnel: gif1 is also the wan interface (line 1)'],
  ['mtu below gif’s minimum', 'wan em0\ntunnel gif0 mtu 1279\n', '/etc/maped.conf:2:17: mtu 1279 out of range (1280-8192)'],
  ['mtu above gif’s maximum', 'wan em0\ntunnel gif0 mtu 8193\n', '/etc/maped.conf:2:17: mtu 8193 out of range (1280-8192)'],
  ['route-priority 1 is the kernel’s local routes', 'wan em0\ntunnel gif0 route-priority 1\n', '/etc/maped.conf:2:28: route-priority 1 out of range (2-63)'],
  ['route-priority above RTP_MAX', 'wan em0\ntunnel gif0 route-priority 64\n', '/etc/maped.conf:2:28: route-priority 64 out of range (2-63)'],
  ['a peer that is no address', 'wan em0\ntunnel gif0 peer 0.0.0\n', '/etc/maped.conf:2:18: peer: invalid IPv4 address "0.0.0": Expected 4 octets in \'0.0.0\''],
  ['a multicast peer', 'wan em0\ntunnel gif0 peer 224.0.0.1\n', '/etc/maped.conf:2:18: peer: 224.0.0.1 is not a unicast address'],
  ['the unspecified peer', 'wan em0\ntunnel gif0 peer 0.0.0.0\n', '/etc/maped.conf:2:18: peer: 0.0.0.0 is not a unicast address'],
  ['ea-len above 48', `wan em0\n${RULE_HEAD}\tea-len 49\n\tbr 2001:db8:ffff::1\n}\n`, '/etc/maped.conf:5:9: ea-len 49 out of range (0-48)'],
  ['psid-offset above 15', `wan em0\n${RULE_HEAD}\tea-len 16\n\tpsid-offset 16\n\tbr 2001:db8:ffff::1\n}\n`, '/etc/maped.conf:6:14: psid-offset 16 out of range (0-15)'],
  ['an ea-len past 2^53, as typed and once', `wan em0\n${RULE_HEAD}\tea-len 99999999999999999999999\n\tbr 2001:db8:ffff::1\n}\n`, '/etc/maped.conf:5:9: ea-len 99999999999999999999999 is too large'],
  ['a psid-offset past 2^53, as typed and once', `wan em0\n${RULE_HEAD}\tea-len 16\n\tpsid-offset 99999999999999999999999\n\tbr 2001:db8:ffff::1\n}\n`, '/etc/maped.conf:6:14: psid-offset 99999999999999999999999 is too large'],
  ['an mtu past 2^53, as typed and once', 'wan em0\ntunnel gif0 mtu 99999999999999999999\n', '/etc/maped.conf:2:17: mtu 99999999999999999999 is too large'],
  ['psid-len above 16', `wan em0\n${RULE_HEAD}\tea-len 16\n\tpsid-len 17\n\tbr 2001:db8:ffff::1\n}\n`, '/etc/maped.conf:6:11: psid-len 17 out of range (0-16)'],
  ['an empty lease file path', 'wan em0\nlease file ""\n', '/etc/maped.conf:2:12: lease file: empty path'],
  ['a tool path must be absolute', 'wan em0\ntool ifconfig "ifconfig"\n', '/etc/maped.conf:2:15: tool ifconfig: path "ifconfig" is not absolute'],
  ['an empty anchor name', 'wan em0\npf anchor ""\n', '/etc/maped.conf:2:11: pf anchor: empty anchor name'],
  ['an anchor name pf reserves (leading _)', 'wan em0\npf anchor "_maped"\n', '/etc/maped.conf:2:11: pf anchor: invalid anchor name "_maped" (letters, digits, "_", ".", "-"; "/" between nested names; no name may start with "_")'],
  ['a nested anchor name pf reserves', 'wan em0\npf anchor "nat/_maped"\n', '/etc/maped.conf:2:11: pf anchor: invalid anchor name "nat/_maped" (letters, digits, "_", ".", "-"; "/" between nested names; no name may start with "_")'],
  ['an anchor name longer than PF_ANCHOR_NAME_SIZE - 1', `wan em0\npf anchor ${'a'.repeat(64)}\n`, '/etc/maped.conf:2:11: pf anchor: name longer than 63 characters'],
  ['a nat source that is not a prefix', 'wan em0\nnat from 10.0.0.256/24\n', "/etc/maped.conf:2:10: nat from: invalid IPv4 prefix \"10.0.0.256/24\": Octet 256 (> 255) not permitted in '10.0.0.256'"],
  ['a nat source without a length', 'wan em0\nnat from { 10.0.0.0/8 10.1.0.0 }\n', "/etc/maped.conf:2:23: nat from: invalid IPv4 prefix \"10.1.0.0\": '10.1.0.0' has no prefix length"],
  ['a nat source with host bits set', 'wan em0\nnat from 10.0.0.1/8\n', '/etc/maped.conf:2:10: nat from: 10.0.0.1/8 has host bits set (did you mean 10.0.0.0/8?)'],
  ['the same nat source twice, across statements', 'wan em0\nnat from 10.0.0.0/8\nnat from { 10.1.0.0/16 10.0.0.0/8 }\n', '/etc/maped.conf:3:24: nat from: duplicate 10.0.0.0/8'],
  ['an ipv6-prefix that does not parse', 'wan em0\nrule {\n\tipv6-prefix 2001:db8::g/32\n}\n', "/etc/maped.conf:3:14: ipv6-prefix: invalid IPv6 prefix \"2001:db8::g/32\": Only hex digits permitted in 'g' in '2001:db8::g'"],
  ['an ipv6-prefix length beyond 128', 'wan em0\nrule {\n\tipv6-prefix 2001:db8::/129\n}\n', "/etc/maped.conf:3:14: ipv6-prefix: invalid IPv6 prefix \"2001:db8::/129\": '129' is not a valid netmask"],
  ['an ipv6-prefix with host bits set', 'wan em0\nrule {\n\tipv6-prefix 2001:db8:1::/32\n}\n', '/etc/maped.conf:3:14: ipv6-prefix: 2001:db8:1::/32 has host bits set (did you mean 2001:db8::/32?)'],
  ['an ipv4-prefix with host bits set', 'wan em0\nrule {\n\tipv4-prefix 192.0.2.1/24\n}\n', '/etc/maped.conf:3:14: ipv4-prefix: 192.0.2.1/24 has host bits set (did you mean 192.0.2.0/24?)'],
  ['an ipv4-prefix that does not parse', 'wan em0\nrule {\n\tipv4-prefix 192.0.2/24\n}\n', "/etc/maped.conf:3:14: ipv4-prefix: invalid IPv4 prefix \"192.0.2/24\": Expected 4 octets in '192.0.2'"],
  ['a br that is not an address', `wan em0\n${RULE_HEAD}\tea-len 16\n\tbr 2001:db8::/64\n}\n`, "/etc/maped.conf:6:5: br: invalid IPv6 address \"2001:db8::/64\": Only hex digits permitted in '/64' in '2001:db8::/64'"],
  ['a multicast br', `wan em0\n${RULE_HEAD}\tea-len 16\n\tbr ff02::1\n}\n`, '/etc/maped.conf:6:5: br: ff02::1 is a multicast address, not a unicast address'],
  ['an unspecified br', `wan em0\n${RULE_HEAD}\tea-len 16\n\tbr ::\n}\n`, '/etc/maped.conf:6:5: br: :: is the unspecified address, not a unicast address'],
  ['a loopback br', `wan em0\n${RULE_HEAD}\tea-len 16\n\tbr ::1\n}\n`, '/etc/maped.conf:6:5: br: ::1 is the loopback address, not a unicast address'],
  ['a link-local br', `wan em0\n${RULE_HEAD}\tea-len 16\n\tbr fe80::1\n}\n`, '/etc/maped.conf:6:5: br: fe80::1 is a link-local address, not a unicast address'],
  ['an IPv4-mapped br', `wan em0\n${RULE_HEAD}\tea-len 16\n\tbr ::ffff:192.0.2.1\n}\n`, '/etc/maped.conf:6:5: br: ::ffff:192.0.2.1 is an IPv4-mapped address, not a unicast address'],
  ['a forward port that is not a number or range', 'wan em0\nforward tcp port 22-23 to 192.168.1.2\n', '/etc/maped.conf:2:18: forward: "22-23" is not a port or a range first:last'],
  ['forward port 0', 'wan em0\nforward tcp port 0 to 192.168.1.2\n', '/etc/maped.conf:2:18: forward: port 0 out of range (1-65535)'],
  ['a forward range past 65535', 'wan em0\nforward udp port 65000:65536 to 192.168.1.2\n', '/etc/maped.conf:2:18: forward: port 65536 out of range (1-65535)'],
  ['a forward range that runs backwards', 'wan em0\nforward udp port 6000:5000 to 192.168.1.2\n', '/etc/maped.conf:2:18: forward: port range 6000:5000 runs backwards'],
  ['a forward to something not an address', 'wan em0\nforward tcp port 22 to lan.example\n', "/etc/maped.conf:2:24: forward: invalid IPv4 address \"lan.example\": Expected 4 octets in 'lan.example'"],
  ['a forward to a multicast address', 'wan em0\nforward udp port 5004 to 239.1.1.1\n', '/etc/maped.conf:2:26: forward: 239.1.1.1 is a multicast address, not a host to forward to'],
  ['a forward to loopback', 'wan em0\nforward tcp port 22 to 127.0.0.1\n', '/etc/maped.conf:2:24: forward: 127.0.0.1 is a loopback address, not a host to forward to'],
  ['a forward whose target range passes 65535', 'wan em0\nforward tcp port 5000:5009 to 192.168.1.2 port 65530\n', '/etc/maped.conf:2:48: forward: target port 65530:65539 out of range (1-65535)'],
  ['two forwards of one port and protocol: the second is named', 'wan em0\nforward tcp port 5000:5009 to 192.168.1.2\nforward tcp-udp port 5009 to 192.168.1.3\n', '/etc/maped.conf:3:1: forward: port 5009 is already forwarded'],
  ['a rule without ipv6-prefix is reported at its "rule"', 'wan em0\nrule {\n\tipv4-prefix 192.0.2.0/24\n\tea-len 16\n\tbr 2001:db8:ffff::1\n}\n', '/etc/maped.conf:2:1: rule without ipv6-prefix'],
  ['a rule without ipv4-prefix', 'wan em0\nrule {\n\tipv6-prefix 2001:db8::/32\n\tea-len 16\n\tbr 2001:db8:ffff::1\n}\n', '/etc/maped.conf:2:1: rule without ipv4-prefix'],
  ['a rule without ea-len', `wan em0\n${RULE_HEAD}\tbr 2001:db8:ffff::1\n}\n`, '/etc/maped.conf:2:1: rule without ea-len'],
  ['a rule without br (only used without an S46 option, nothing else names its BR)', `wan em0\n${RULE_HEAD}\tea-len 16\n}\n`, '/etc/maped.conf:2:1: rule without br'],
  ['the second rule is named by its own position', `wan em0\n${RULE_HEAD}\tea-len 16\n\tbr 2001:db8:ffff::1\n}\nrule {\n}\n`, '/etc/maped.conf:8:1: rule without ipv6-prefix'],
  ['a psid without psid-len', `wan em0\n${RULE_HEAD}\tea-len 16\n\tpsid 3\n\tbr 2001:db8:ffff::1\n}\n`, '/etc/maped.conf:6:7: psid requires psid-len'],
  ['a psid that does not fit psid-len', `wan em0\n${RULE_HEAD}\tea-len 16\n\tpsid-len 4 psid 16\n\tbr 2001:db8:ffff::1\n}\n`, '/etc/maped.conf:6:18: psid 16 does not fit psid-len 4 (0-15)'],
  ['rule prefix and EA bits beyond 128 bits', 'wan em0\nrule {\n\tipv6-prefix 2001:db8::/96\n\tipv4-prefix 0.0.0.0/0\n\tea-len 40\n\tbr 2001:db8:ffff::1\n}\n', '/etc/maped.conf:5:9: ipv6-prefix length 96 + ea-len 40 exceed 128 bits'],
  ['a psid-len alone that disagrees with the EA bits', `wan em0\n${RULE_HEAD}\tea-len 16\n\tpsid-len 6\n\tbr 2001:db8:ffff::1\n}\n`, '/etc/maped.conf:6:11: psid-len 6 without psid must equal the 8 PSID bits of ipv4-prefix /24 and ea-len 16'],
  ['an explicit psid-len past 16 bits with the offset', `wan em0\n${RULE_HEAD}\tea-len 16\n\tpsid-offset 10\n\tpsid-len 8 psid 1\n\tbr 2001:db8:ffff::1\n}\n`, '/etc/maped.conf:7:11: psid-offset 10 + psid-len 8 exceed 16 bits'],
  ['EA-derived PSID bits past 16 with the offset are reported at ea-len', `wan em0\n${RULE_HEAD}\tea-len 20\n\tpsid-offset 6\n\tbr 2001:db8:ffff::1\n}\n`, '/etc/maped.conf:5:9: psid-offset 6 + psid-len 12 (from ipv4-prefix /24 and ea-len 20) exceed 16 bits'],
];

const LW = 'lw4o6 {\n\tipv4 203.0.113.16\n';
const softwires: Case[] = [
  ['softwire takes auto or a kind', 'wan em0\nsoftwire mape\n', '/etc/maped.conf:2:10: softwire: expected auto, dslite, ipip, lw4o6 or map-e, got "mape" (did you mean "map-e"?)'],
  ['softwire auto with two static kinds is ambiguous', 'wan em0\nipip {\n\tlocal 2001:db8::7\n\tremote 2001:db8::1\n\tipv4 192.0.2.1\n}\ndslite { aftr 2001:db8::2 }\n', '/etc/maped.conf:7:1: softwire auto: both ipip and dslite blocks are given; choose one with softwire ipip or dslite'],
  ['softwire auto with a rule and a block is ambiguous', `wan em0\n${RULE_HEAD}\tea-len 16\n\tbr 2001:db8:ffff::1\n}\ndslite { aftr 2001:db8::2 }\n`, '/etc/maped.conf:8:1: softwire auto: both rule and dslite blocks are given; choose one with softwire map-e or dslite'],
  ['softwire ipip needs its block', 'wan em0\nsoftwire ipip\n', '/etc/maped.conf:2:10: softwire ipip: no ipip block'],
  ['an lw4o6 block needs its IPv4 address', 'wan em0\nlw4o6 { psid-len 0 aftr 2001:db8::1 }\n', '/etc/maped.conf:2:1: lw4o6 block without ipv4'],
  ['an lw4o6 block needs its AFTR', `wan em0\n${LW}\tpsid-len 8 psid 3\n}\n`, '/etc/maped.conf:2:1: lw4o6 block without aftr'],
  ['an lw4o6 PSID must fit its length', `wan em0\n${LW}\tpsid-len 4 psid 16\n\taftr 2001:db8::1\n}\n`, '/etc/maped.conf:4:18: lw4o6: psid 16 does not fit psid-len 4 (0-15)'],
  ['an lw4o6 offset and length exceed 16 bits', `wan em0\n${LW}\tpsid-offset 10 psid-len 8 psid 1\n\taftr 2001:db8::1\n}\n`, '/etc/maped.conf:4:26: lw4o6: psid-offset 10 + psid-len 8 exceed 16 bits'],
  ['an lw4o6 psid-len needs a psid', `wan em0\n${LW}\tpsid-len 8\n\taftr 2001:db8::1\n}\n`, '/etc/maped.conf:4:11: lw4o6: psid-len 8 without psid'],
  ['an lw4o6 keyword given twice', `wan em0\n${LW}\tipv4 203.0.113.17\n}\n`, '/etc/maped.conf:4:2: duplicate lw4o6 ipv4, first set at line 3'],
  ['an unknown block keyword suggests the close one', 'wan em0\nipip { lokal 2001:db8::7 }\n', '/etc/maped.conf:2:8: unknown ipip keyword "lokal" (did you mean "local"?)'],
  ['a dslite block needs its AFTR', 'wan em0\ndslite { }\n', '/etc/maped.conf:2:1: dslite block without aftr'],
  ['an AFTR is an address or a host name', 'wan em0\ndslite { aftr "aftr..example" }\n', '/etc/maped.conf:2:15: dslite aftr: "aftr..example" is neither an IPv6 address nor a host name'],
  ['an AFTR address must be unicast', 'wan em0\ndslite { aftr ff02::1 }\n', '/etc/maped.conf:2:15: dslite aftr: ff02::1 is a multicast address, not a unicast address'],
  ['a dns server is an address with an optional port', 'wan em0\ndslite { aftr "a.example" dns "ns.example" }\n', '/etc/maped.conf:2:31: dslite dns: "ns.example" is not ADDRESS, [ADDRESS]:PORT or IPV4:PORT'],
  ['an ipip block needs all three', 'wan em0\nipip { local 2001:db8::7 }\n', '/etc/maped.conf:2:1: ipip block without remote'],
  ['an ipip address is not a loopback', 'wan em0\nipip {\n\tlocal 2001:db8::7\n\tremote 2001:db8::1\n\tipv4 127.0.0.1\n}\n', '/etc/maped.conf:5:7: ipip ipv4: 127.0.0.1 is a loopback address'],
  ['an ipip prefix with host bits set', 'wan em0\nipip {\n\tlocal 2001:db8::7\n\tremote 2001:db8::1\n\tipv4 203.0.113.1/29\n}\n', '/etc/maped.conf:5:7: ipip ipv4: 203.0.113.1/29 has host bits set (did you mean 203.0.113.0/29?)'],
  ['a second block of a kind', 'wan em0\nsoftwire dslite\ndslite { aftr 2001:db8::2 }\ndslite { aftr 2001:db8::3 }\n', '/etc/maped.conf:4:1: duplicate dslite block, first set at line 3'],
];

describe.each([
  ['softwire kinds', softwires],
  ['lexical errors', lexical],
  ['syntax errors', syntax],
  ['provision errors', provision],
  ['duplicate single-valued settings', duplicates],
  ['values out of range or malformed', values],
] as const)('%s', (_group, cases) => {
  it.each(cases)('%s', (_behaviour, text, error) => {
    expect(parseError(text)).toBe(error);
  });
});

describe('error positions', () => {
  it('several wrong values are all reported, in file order', () => {
    expect(parseErrors('wan em0\ntunnel gif0 mtu 99\ntool route "route"\n')).toEqual([
      '/etc/maped.conf:2:17: mtu 99 out of range (1280-8192)',
      '/etc/maped.conf:3:12: tool route: path "route" is not absolute',
    ]);
    expect(parseErrors('tool route "route"\nwan em0\ntunnel gif0 mtu 99\n')).toEqual([
      '/etc/maped.conf:1:12: tool route: path "route" is not absolute',
      '/etc/maped.conf:3:17: mtu 99 out of range (1280-8192)',
    ]);
  });

  it.each([
    // Before, each line of the block and its "}" were errors of their own.
    [
      'a block opened by a wrong line is skipped whole: one mistake, one error',
      'wan em0\ninterfce em0 {\n\tfoo bar\n\trule {\n\t}\n}\ntunnel gif0 mtu 99\n',
      ['/etc/maped.conf:2:1: unknown keyword "interfce"', '/etc/maped.conf:7:17: mtu 99 out of range (1280-8192)'],
    ],
    [
      'a "{" where none belongs is skipped with its block, and one never closed says so',
      'wan em0 {\ntunnel gif0\n',
      ['/etc/maped.conf:1:9: syntax error: unexpected "{", expected end of line', '/etc/maped.conf:1:9: unbalanced brace: "{" is never closed'],
    ],
    [
      'a "}" more than the block needs is still its own error',
      'wan em0\nfoo {\n}\n}\n',
      ['/etc/maped.conf:2:1: unknown keyword "foo"', '/etc/maped.conf:4:1: unbalanced brace: "}" without a matching "{"'],
    ],
  ])('%s', (_behaviour, text, errors) => {
    expect(parseErrors(text)).toEqual(errors);
  });

  it('columns count a tab as one character and start at 1', () => {
    expect(parseError('\twan EM0\n')).toBe('/etc/maped.conf:1:6: wan: invalid interface name "EM0" (expected a driver name and unit, such as em0)');
  });

  it('a continued line keeps counting lines after the joined newline', () => {
    expect(parseError('wan \\\nem0 \\\nextra\n')).toBe('/etc/maped.conf:3:1: syntax error: unexpected "extra", expected end of line');
  });

  it('every message is one line', () => {
    for (const [, text] of [...lexical, ...syntax, ...duplicates, ...values, ...softwires]) expect(parseError(text)).not.toContain('\n');
  });

  it('like parse.y, every error in the file is reported, each with file:line:col, syntax errors first', () => {
    const text = ['wan em0', 'tunel gif0', 'tunnel gif0 mtu 99', `${RULE_HEAD}\tea-lne 16`, '\tea-len 16', '}', 'pf portset kernal', 'tool route "route"', ''].join('\n');
    expect(parseErrors(text)).toEqual([
      '/etc/maped.conf:2:1: unknown keyword "tunel" (did you mean "tunnel"?)',
      '/etc/maped.conf:7:2: unknown rule keyword "ea-lne" (did you mean "ea-len"?)',
      '/etc/maped.conf:10:12: pf portset: expected auto, kernel or stock, got "kernal" (did you mean "kernel"?)',
      '/etc/maped.conf:3:17: mtu 99 out of range (1280-8192)',
      '/etc/maped.conf:11:12: tool route: path "route" is not absolute',
    ]);
  });

  it('a missing "}" is one error: the block ends there and the keyword is read as a statement', () => {
    expect(parseErrors(`${RULE_HEAD}\tea-len 16\nwan gif1\ntunnel gif1\n`)).toEqual([
      '/etc/maped.conf:5:1: wan is not allowed inside a rule block (missing "}"?)',
      '/etc/maped.conf:6:8: tunnel: gif1 is also the wan interface (line 5)',
    ]);
    // wan em0 with tunnel em0: both errors are the tunnel line's, none the wan's.
    expect(parseErrors('wan em0\ntunnel em0\n').every((e) => e.startsWith('/etc/maped.conf:2:8: tunnel: '))).toBe(true);
  });
});
