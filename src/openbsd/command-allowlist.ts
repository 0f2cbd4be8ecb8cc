/**
 * The grammar of every command the privileged parent of maped will run for
 * its unprivileged child (docs/architecture.md §5): only the tool paths of
 * maped.conf, only its WAN, tunnel, anchor and label, only the argument
 * shapes maped itself produces (command-argv.ts, the lease and autoconf
 * reads, the route monitor), and for `pfctl -f -` only an anchor text whose
 * every rule is on the tunnel or the WAN and carries maped's label.
 *
 * Pure: a scope and an argv in, null (accepted) or the reason of the
 * refusal out. Nothing here runs anything.
 */
import { forwardRuleTexts, PORTSET_PROBE } from './pf-anchor.js';
import type { ForwardSpec } from './forwards.js';
import { parseIpv4, parseIpv4Prefix, parseIpv6 } from '../map/index.js';
import { notUnicast } from '../softwire/endpoint.js';
import { printableName } from './names.js';

/** What a command may touch: from the configuration the parent itself read. */
export interface AllowlistScope {
  /** Tool name → absolute path, as maped.conf `tool` lines give them. */
  readonly tools: Readonly<Record<string, string>>;
  readonly wan: string;
  readonly tunnel: string;
  readonly anchor: string;
  readonly label: string;
  /** maped.conf's `forward` lines: the only redirections (`rdr-to`) an anchor may hold. */
  readonly forwards: readonly ForwardSpec[];
}

/** An argv word longer than this is no word maped writes (addresses, names, numbers). */
const MAX_WORD = 128;
/** The anchor text maped loads is a few kilobytes; stock mode with 4096 ranges stays under this. */
export const MAX_ANCHOR_TEXT = 4 * 1024 * 1024;
/**
 * The characters any argv word of maped's is made of: names, addresses,
 * numbers. No blank, quote, `$`, `;`, `|`, `&`, `<`, `>`, backquote or
 * glob: tools are run without a shell (src/apply/tool-process.ts), and a
 * word that would mean something to one is no word of maped's either.
 */
const WORD = /^[A-Za-z0-9._:/-]+$/;

const isIpv4 = (w: string | undefined): boolean => w !== undefined && parseIpv4(w).ok;
const isIpv6 = (w: string | undefined): boolean => w !== undefined && w.includes(':') && parseIpv6(w).ok;
/**
 * A global unicast IPv6 address: what maped adds to the WAN and puts at
 * either end of the tunnel. Never a link-local, multicast, loopback,
 * unspecified or IPv4-mapped one: removing the WAN's link-local address or
 * dhcp6leased's would cut the router's IPv6, adding a multicast /128 would
 * capture a group's traffic.
 */
const isUnicastIpv6 = (w: string | undefined): boolean => {
  if (w === undefined || !w.includes(':')) return false;
  const address = parseIpv6(w);
  return address.ok && notUnicast(address.value) === null;
};
const isCount = (w: string | undefined, max: number): boolean => w !== undefined && /^[0-9]{1,6}$/.test(w) && Number(w) <= max;
const same = (args: readonly string[], words: readonly string[]): boolean => args.length === words.length && words.every((w, i) => args[i] === w);

type Grammar = (scope: AllowlistScope, args: readonly string[], stdin: string | undefined) => string | null;

/** sys/net/if_gif.c 1.141: GIF_MTU_MAX 8192 (line 73) bounds `ifconfig gif0 mtu` (gif_ioctl SIOCSIFMTU, lines 501-507). */
const GIF_MTU_MAX = 8192;
/** sys/net/route.h: RTP_MAX 63, the highest route priority route(8) `-priority` takes. */
const RTP_MAX = 63;

/** ifconfig(8) as command-argv.ts, lease-reading.ts and provisioning.ts call it. */
const ifconfigGrammar: Grammar = (scope, args, stdin) => {
  if (stdin !== undefined) return 'ifconfig reads no standard input';
  const [iface, verb, ...rest] = args;
  if (same(args, ['-a'])) return null;
  if (iface !== scope.tunnel && iface !== scope.wan) return `interface ${iface ?? '(none)'} is neither the tunnel ${scope.tunnel} nor the WAN ${scope.wan}`;
  if (verb === undefined) return null;
  if (iface === scope.tunnel) {
    if (rest.length === 0 && ['create', 'destroy', 'up', '-tunnel', '-tunneldf', 'tunneldf'].includes(verb)) return null;
    if (verb === 'tunnel' && rest.length === 2 && isUnicastIpv6(rest[0]) && isUnicastIpv6(rest[1])) return null;
    if (verb === 'mtu' && rest.length === 1 && isCount(rest[0], GIF_MTU_MAX)) return null;
    if (verb === 'inet' && rest.length === 4 && isIpv4(rest[0]) && isIpv4(rest[1]) && rest[2] === 'netmask' && rest[3] === '255.255.255.255') return null;
    if (verb === 'inet' && rest.length === 2 && isIpv4(rest[0]) && rest[1] === 'delete') return null;
    return `not a tunnel command maped runs: ifconfig ${args.join(' ')}`;
  }
  if (verb === 'inet6' && isUnicastIpv6(rest[0]) && (same(rest.slice(1), ['prefixlen', '128', 'alias']) || same(rest.slice(1), ['delete']))) return null;
  return `not a WAN command maped runs: ifconfig ${args.join(' ')}`;
};

/**
 * route(8): the default route maped owns, and the read. Add and delete name
 * its gateway, the tunnel with -ifp and its -priority, as command-argv.ts
 * writes them: without -ifp an add could send IPv4 to any on-link host,
 * and without -ifp and -priority a delete removes the first default of that
 * gateway at any priority (sys/net/rtsock.c route_output: RTP_ANY), a
 * PPPoE or dhcpleased(8) default among them. maped never changes a route in
 * place, nor asks `route get`: it reads them all, labels included. The
 * routing-socket monitor of `prefix autoconf` is the parent's own
 * (src/daemon/route-monitor.ts), never asked for: a child could hold many.
 */
const routeGrammar: Grammar = (scope, args, stdin) => {
  if (stdin !== undefined) return 'route reads no standard input';
  // `-nv show -inet`: every IPv4 route with its label (command-argv.ts showRoutes).
  if (same(args, ['-nv', 'show', '-inet'])) return null;
  const [n, verb, inet, dest, gateway, ...options] = args;
  if (n !== '-n' || inet !== '-inet' || dest !== 'default' || !['add', 'delete'].includes(verb ?? '')) return `not a route command maped runs: route ${args.join(' ')}`;
  if (!isIpv4(gateway)) return `route ${verb}: gateway ${gateway ?? '(none)'} is not an IPv4 address`;
  const seen = new Set<string>();
  for (let i = 0; i < options.length; i += 2) {
    const [flag, value] = [options[i]!, options[i + 1]];
    if (seen.has(flag)) return `route ${verb}: ${flag} given twice`;
    seen.add(flag);
    if (flag === '-label' && verb !== 'delete' && value === scope.label) continue;
    if (flag === '-ifp' && value === scope.tunnel) continue;
    if (flag === '-priority' && isCount(value, RTP_MAX) && Number(value) >= 1) continue;
    return `route ${verb}: ${flag} ${value ?? ''} is not maped's (label ${scope.label}, interface ${scope.tunnel})`.trimEnd();
  }
  // A default route maped adds is always labelled: that is how it is told from others.
  if (verb !== 'delete' && !seen.has('-label')) return `route ${verb}: no -label ${scope.label}`;
  if (!seen.has('-ifp')) return `route ${verb}: no -ifp ${scope.tunnel}`;
  if (!seen.has('-priority')) return `route ${verb}: no -priority`;
  return null;
};

/** pfctl(8): maped's anchor only, the read-only listings, states killed by id. */
const pfctlGrammar: Grammar = (scope, args, stdin) => {
  const a = scope.anchor;
  if (same(args, ['-o', 'none', '-a', a, '-f', '-'])) return stdin === undefined ? 'pfctl -f - without an anchor text' : anchorTextRefusal(scope, stdin);
  // The probe only parses (-n); even so only the one probe line is fed.
  if (same(args, ['-nf', '-'])) return stdin === PORTSET_PROBE ? null : 'pfctl -nf - is only run with the map-e-portset probe';
  const anchorAt = args.indexOf('-a');
  if (anchorAt >= 0 && args[anchorAt + 1] !== a) return `anchor ${args[anchorAt + 1] ?? '(none)'} is not maped's anchor ${a}`;
  if (stdin !== undefined) return `pfctl ${args.join(' ')} reads no standard input`;
  if (same(args, ['-a', a, '-sr']) || same(args, ['-a', a, '-F', 'all'])) return null;
  if (same(args, ['-ss']) || same(args, ['-ss', '-vv']) || same(args, ['-sr']) || same(args, ['-si'])) return null;
  // pf_print_state.c prints a state id as 16 hex digits.
  if (args.length === 4 && args[0] === '-k' && args[1] === 'id' && args[2] === '-k' && /^[0-9a-f]{1,16}$/.test(args[3]!)) return null;
  return `not a pfctl command maped runs: pfctl ${args.join(' ')}`;
};

/** sysctl(8): reading the forwarding switches, never setting one. */
const sysctlGrammar: Grammar = (_scope, args, stdin) => {
  if (stdin !== undefined) return 'sysctl reads no standard input';
  const names = args[0] === '-n' ? args.slice(1) : args;
  if (names.length >= 1 && names.every((n) => n === 'net.inet.ip.forwarding' || n === 'net.inet6.ip6.forwarding')) return null;
  return `not a sysctl read maped makes: sysctl ${args.join(' ')}`;
};

/** dhcp6leasectl(8): only `-l <wan>`; without -l it would start a new exchange (docs/architecture.md §3.5). */
const dhcp6leasectlGrammar: Grammar = (scope, args, stdin) => {
  if (stdin !== undefined) return 'dhcp6leasectl reads no standard input';
  return same(args, ['-l', scope.wan]) ? null : `not a lease query maped makes: dhcp6leasectl ${args.join(' ')}`;
};

const GRAMMARS: Readonly<Record<string, Grammar>> = {
  ifconfig: ifconfigGrammar,
  route: routeGrammar,
  pfctl: pfctlGrammar,
  sysctl: sysctlGrammar,
  dhcp6leasectl: dhcp6leasectlGrammar,
};

/**
 * Null when the parent may run `argv` (the tool's absolute path first) with
 * `stdin`; else why not, in one line.
 */
export function commandRefusal(scope: AllowlistScope, argv: readonly string[], stdin?: string): string | null {
  const [file, ...args] = argv;
  if (file === undefined) return 'empty command';
  const names = Object.keys(GRAMMARS).filter((name) => scope.tools[name] === file);
  if (!file.startsWith('/') || names.length === 0) return `${printableName(file)} is not a tool path of maped.conf`;
  for (const word of args) {
    if (word.length > MAX_WORD) return `an argument longer than ${MAX_WORD} characters`;
    if (!WORD.test(word)) return `argument "${printableName(word)}" holds a character maped never passes`;
  }
  if (stdin !== undefined && stdin.length > MAX_ANCHOR_TEXT) return `standard input longer than ${MAX_ANCHOR_TEXT} characters`;
  let reason = '';
  for (const name of names) {
    const refusal = GRAMMARS[name]!(scope, args, stdin);
    if (refusal === null) return null;
    reason = refusal;
  }
  return reason;
}


/**
 * The anchor text, rule by rule. pf.conf(5) lines the parser would join or
 * expand are refused whole: a backslash continues a line, even a comment's
 * (sbin/pfctl/parse.y 1.723 lgetc()), and `$` expands a macro, so neither
 * is in any text maped writes. Every other line is blank, a comment, or a
 * rule that {@link ruleRefusal} accepts.
 */
export function anchorTextRefusal(scope: AllowlistScope, text: string): string | null {
  if (text.length > MAX_ANCHOR_TEXT) return `anchor text longer than ${MAX_ANCHOR_TEXT} characters`;
  if (text.includes('\\')) return 'anchor text holds a backslash (a line continuation)';
  if (text.includes('$')) return 'anchor text holds a macro ($)';
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u0008\u000b-\u001f\u007f]/.test(text)) return 'anchor text holds a control character';
  const lines = text.split('\n');
  for (const [i, line] of lines.entries()) {
    const trimmed = line.trim();
    if (trimmed === '' || trimmed.startsWith('#')) continue;
    const refusal = ruleRefusal(scope, trimmed);
    if (refusal !== null) return `anchor line ${i + 1}: ${refusal}`;
  }
  return null;
}

/** The protocols of maped's rules: TCP and UDP (NAT, MSS, forwards), ICMP, and the outer IPv4-in-IPv6 (4). */
const PROTOCOLS = new Set(['tcp', 'udp', 'icmp', 'ipencap']);
const PORT = /^[0-9]{1,5}(:[0-9]{1,5})?$/;

/**
 * One rule: `match` or `pass`, `on` the tunnel or the WAN, labelled with
 * maped's label, made only of the clauses pf-anchor.ts writes (each at most
 * once, in any order): proto, from/to or all, port, flags S/SA,
 * probability, scrub (max-mss N), tag and tagged with maped's range tags,
 * nat-to the tunnel's own address (with a port range or a map-e-portset),
 * and rdr-to an IPv4 address of the LAN (inbound forwards, on the tunnel
 * only). `block`, `anchor`, `load`, `table`, `set`, options and any other
 * word are refused.
 */
export function ruleRefusal(scope: AllowlistScope, rule: string): string | null {
  // `scrub (max-mss N)` and `label "x"` are the two clauses with spaces or quotes inside: made single words first.
  const words = rule
    .replace(/scrub \(max-mss ([0-9]{1,5})\)/g, 'scrub(max-mss:$1)')
    .split(/\s+/)
    .filter((w) => w !== '');
  let at = 0;
  const next = (): string | undefined => words[at++];
  const peek = (): string | undefined => words[at];

  const action = next();
  if (action !== 'match' && action !== 'pass') return `"${action ?? ''}" is not a rule maped writes (only match and pass)`;
  let direction: string | null = null;
  if (peek() === 'in' || peek() === 'out') direction = next()!;
  const quick = peek() === 'quick' ? next() !== undefined : false;
  if (next() !== 'on') return 'a rule not bound to an interface ("on")';
  const iface = next();
  if (iface !== scope.tunnel && iface !== scope.wan) return `a rule on ${iface ?? '(none)'}, neither the tunnel ${scope.tunnel} nor the WAN ${scope.wan}`;
  const af = next();
  if (af !== 'inet' && af !== 'inet6') return 'a rule without an address family (inet or inet6)';

  const seen = new Set<string>();
  let label: string | null = null;
  let translates = false;
  let proto: string | null = null;
  const endpoints: { from?: string; to?: string } = {};
  const tagPattern = new RegExp(`^${scope.label.replace(/[.]/g, '\\.')}-[0-9]{1,5}$`);
  const address = (w: string | undefined): boolean =>
    w === 'any' || w === `(${scope.tunnel})` || isIpv4(w) || (w !== undefined && w.includes('/') && !w.includes(':') && parseIpv4Prefix(w).ok) || isIpv6(w);

  while (at < words.length) {
    const word = next()!;
    const clause = word.startsWith('scrub(') ? 'scrub' : word;
    if (seen.has(clause) && clause !== 'port') return `"${clause}" twice in one rule`;
    seen.add(clause);
    switch (clause) {
      case 'proto': {
        proto = next() ?? '';
        if (!PROTOCOLS.has(proto)) return `proto ${proto} is not one maped writes`;
        break;
      }
      case 'all':
        break;
      case 'from':
      case 'to': {
        if (!address(next())) return `${clause} ${words[at - 1] ?? ''}: not an address maped writes`;
        endpoints[clause] = words[at - 1];
        if (peek() === 'port') {
          next();
          // One port is written as pfctl prints it, `port = N` (pfctl_parser.c 1.352 print_op, PF_OP_EQ, lines 361-362).
          if (peek() === '=') next();
          if (!PORT.test(next() ?? '')) return `${clause} port ${words[at - 1] ?? ''}: not a port or a range`;
        }
        break;
      }
      case 'flags':
        if (next() !== 'S/SA') return 'flags other than S/SA';
        break;
      case 'probability':
        if (!/^[0-9]+(\.[0-9]+)?(e-?[0-9]+)?%$/.test(next() ?? '')) return 'probability is not a percentage';
        break;
      case 'scrub':
        if (!/^scrub\(max-mss:[0-9]{1,5}\)$/.test(word)) return 'scrub other than (max-mss N)';
        break;
      case 'label':
        label = next() ?? '';
        break;
      case 'tag':
      case 'tagged':
        if (!tagPattern.test(next() ?? '')) return `${clause} ${words[at - 1] ?? ''} is not one of maped's range tags (${scope.label}-N)`;
        break;
      case 'nat-to': {
        if (next() !== `(${scope.tunnel})`) return `nat-to other than the tunnel's own address (${scope.tunnel})`;
        translates = true;
        if (peek() === 'port') {
          next();
          if (!PORT.test(next() ?? '')) return 'nat-to port is not a port range';
        } else if (peek() === 'map-e-portset') {
          next();
          if (!/^[0-9]{1,2}\/[0-9]{1,2}\/[0-9]{1,5}$/.test(next() ?? '')) return 'map-e-portset is not offset/psid-len/psid';
        }
        break;
      }
      case 'rdr-to': {
        const target = next();
        if (!isIpv4(target)) return `rdr-to ${target ?? ''}: not an IPv4 address`;
        // Only a redirection maped.conf asks for: anything else could open the router's own
        // services (rdr-to 127.0.0.1) or send every inbound packet to one host.
        if (!forwardRuleTexts(scope.forwards, scope.tunnel, scope.label).includes(words.join(' '))) return `rdr-to ${target}: not a forward of maped.conf`;
        translates = true;
        if (peek() === 'port') {
          next();
          if (!PORT.test(next() ?? '')) return 'rdr-to port is not a port or a range';
        }
        break;
      }
      default:
        return `"${printableName(word)}" is not a word of the rules maped writes`;
    }
  }
  if (label !== `"${scope.label}"`) return `a rule without maped's label "${scope.label}"`;
  if (iface === scope.wan) {
    // On the WAN only the outer IPv6 packets between CE and BR pass, quick, in one direction each.
    if (action !== 'pass' || !quick || direction === null || af !== 'inet6' || proto !== 'ipencap' || translates) {
      return `on the WAN ${scope.wan} maped writes only "pass in|out quick … inet6 proto ipencap" rules`;
    }
    // Between the CE and the BR (or AFTR): two addresses, never `any` or a prefix, which
    // would let IPv4-in-IPv6 from anyone reach any host behind the router.
    if (!isUnicastIpv6(endpoints.from) || !isUnicastIpv6(endpoints.to)) return `on the WAN ${scope.wan} an ipencap rule passes only from one unicast address to another`;
    return null;
  }
  if (af !== 'inet') return `on the tunnel ${scope.tunnel} maped writes only inet rules`;
  if (seen.has('rdr-to') && (action !== 'pass' || direction !== 'in')) return 'rdr-to only in a "pass in" rule';
  // A pass on the tunnel would override the admin's block rules (the last match wins): only inbound forwards pass.
  if (action === 'pass' && !seen.has('rdr-to')) return `a pass rule on the tunnel ${scope.tunnel} that forwards nothing (no rdr-to)`;
  return null;
}
