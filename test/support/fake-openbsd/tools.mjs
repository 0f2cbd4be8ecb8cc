// Fake OpenBSD 7.8 ifconfig(8), route(8), pfctl(8), sysctl(8) and dhcp6leasectl(8) for tests on Linux.
// Plain JavaScript so each call starts fast. State lives in <dir>/state.json, every
// call's argv is appended to <dir>/log.jsonl, injected failures are read from
// <dir>/fail.json. Output follows sbin/ifconfig/ifconfig.c, sbin/route/route.c 1.267
// print_getmsg and show.c 1.123 p_rtentry, sbin/pfctl/pfctl_parser.c 1.352 print_rule
// and usr.sbin/dhcp6leasectl (line numbers where each is modelled).
import { appendFileSync, closeSync, existsSync, openSync, readFileSync, readSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { join } from 'node:path';

const UINT_MAX = 4294967295;

class ToolError extends Error {
  constructor(stderr, stdout = '', code = 1) {
    super(stderr);
    this.stderr = stderr;
    this.stdout = stdout;
    this.code = code;
  }
}

function load(dir) {
  return JSON.parse(readFileSync(join(dir, 'state.json'), 'utf8'));
}

function save(dir, state) {
  const tmp = join(dir, `.state.${process.pid}.tmp`);
  writeFileSync(tmp, JSON.stringify(state, null, 2));
  renameSync(tmp, join(dir, 'state.json'));
}

function injectedFailure(dir, tool, args) {
  let rules;
  try {
    rules = JSON.parse(readFileSync(join(dir, 'fail.json'), 'utf8'));
  } catch {
    return null;
  }
  const line = args.join(' ');
  for (const rule of rules) {
    if (rule.tool !== tool || rule.times === 0) continue;
    const hit = rule.regex !== undefined ? new RegExp(rule.regex, rule.flags).test(line) : rule.text === undefined || line.includes(rule.text);
    if (!hit) continue;
    if (rule.times > 0) rule.times -= 1;
    writeFileSync(join(dir, 'fail.json'), JSON.stringify(rules));
    return rule.stderr ?? defaultFailure(tool, args);
  }
  return null;
}

function defaultFailure(tool, args) {
  if (tool === 'route') return 'route: writing to routing socket: Device busy';
  if (tool === 'pfctl') {
    if (args.includes('-k')) return 'pfctl: DIOCKILLSTATES: Device busy';
    if (args.includes('-sr')) return 'pfctl: DIOCGETRULES: Device busy';
    return 'pfctl: DIOCXCOMMIT: Device busy';
  }
  if (tool === 'ifconfig') {
    const ioctl = { create: 'SIOCIFCREATE', destroy: 'SIOCIFDESTROY', tunnel: 'SIOCSLIFPHYADDR', '-tunnel': 'SIOCDIFPHYADDR', '-tunneldf': 'SIOCSLIFPHYDF', mtu: 'SIOCSIFMTU', inet: 'SIOCAIFADDR', inet6: 'SIOCAIFADDR_IN6' }[args[1]];
    return args.length === 1 ? `ifconfig: ${args[0]}: Device busy` : `ifconfig: ${ioctl ?? 'SIOCSIFFLAGS'}: Device busy`;
  }
  return `${tool}: Device busy`;
}

/**
 * One call of `tool` with `args` against the state in `dir`: its output and
 * exit status. `readStdin` supplies standard input (only `pfctl -f -` reads it).
 */
export function runTool(tool, dir, args, readStdin) {
  appendFileSync(join(dir, 'log.jsonl'), JSON.stringify([tool, ...args]) + '\n');
  try {
    return withStateLock(dir, () => {
      const injected = injectedFailure(dir, tool, args);
      if (injected !== null) throw new ToolError(injected);
      const state = load(dir);
      const handler = { ifconfig, route, pfctl, dhcp6leasectl, sysctl }[tool];
      const result = handler(state, args, readStdin);
      if (result.changed) save(dir, state);
      return { stdout: result.stdout ?? '', stderr: result.stderr ?? '', code: 0 };
    });
  } catch (e) {
    if (!(e instanceof ToolError)) throw e;
    // A tool that complains only on stdout (route's newroute) leaves stderr empty.
    return { stdout: e.stdout, stderr: e.stderr === '' ? '' : e.stderr + '\n', code: e.code };
  }
}

/**
 * maped runs some calls side by side (it kills pf states in parallel), and
 * the kernel serialises what they change: so does this lock around each
 * call's read, change and write of the state (an exclusive create of
 * <dir>/state.lock holding the holder's pid; one whose holder is gone, a
 * call killed on a timeout, is taken over). The test takes it too
 * (index.ts) when it changes the state while maped runs.
 */
export function withStateLock(dir, fn) {
  const lock = join(dir, 'state.lock');
  const pause = new Int32Array(new SharedArrayBuffer(4));
  for (const deadline = Date.now() + 20_000; ; ) {
    try {
      writeFileSync(lock, String(process.pid), { flag: 'wx' });
      break;
    } catch (e) {
      if (e.code !== 'EEXIST') throw e;
      if (Date.now() > deadline) throw new ToolError(`fake: ${lock} held for 20 s`);
      let holder = NaN;
      try {
        holder = Number(readFileSync(lock, 'utf8'));
      } catch {
        continue;
      }
      if (holder > 0 && !alive(holder)) rmSync(lock, { force: true });
      else Atomics.wait(pause, 0, 0, 1);
    }
  }
  try {
    return fn();
  } finally {
    rmSync(lock, { force: true });
  }
}

function alive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return e.code === 'EPERM';
  }
}

/**
 * `route -n monitor`: runs until killed, printing what the test appends to
 * <dir>/route-monitor.txt (routing messages as sbin/route/route.c 1.267
 * print_rtmsg prints them, lines 1434-1630), from the end the file had when it started. The
 * test ends monitors with <dir>/route-monitor.exit: empty, every one; else
 * the ones whose pids it lists (endRouteMonitors in index.ts).
 */
function routeMonitor(dir, args) {
  appendFileSync(join(dir, 'log.jsonl'), JSON.stringify(['route', ...args]) + '\n');
  const feed = join(dir, 'route-monitor.txt');
  const size = () => (existsSync(feed) ? statSync(feed).size : 0);
  // Where it starts reading, taken before its pid is out: a message the test
  // appends once it has seen the pid (routeMonitorPids) is always printed.
  let offset = size();
  appendFileSync(join(dir, 'route-monitor.pids'), `${process.pid}\n`);
  // A reader that went away (maped killed outright) ends the monitor, as SIGPIPE would.
  process.stdout.on('error', () => process.exit(1));
  setInterval(() => {
    // Told to end (an empty route-monitor.exit: every monitor; else the ones whose pids it
    // lists), or its directory is gone (the test is over).
    if (toldToEnd(join(dir, 'route-monitor.exit')) || !existsSync(join(dir, 'state.json'))) process.exit(1);
    const end = size();
    if (end <= offset) return;
    const fd = openSync(feed, 'r');
    const buffer = Buffer.alloc(end - offset);
    readSync(fd, buffer, 0, buffer.length, offset);
    closeSync(fd);
    offset = end;
    process.stdout.write(buffer);
  }, 20);
}

function toldToEnd(marker) {
  let text;
  try {
    text = readFileSync(marker, 'utf8');
  } catch {
    return false;
  }
  const pids = text.split('\n').filter((l) => l !== '');
  return pids.length === 0 || pids.includes(String(process.pid));
}

/** The tool as its own process (the scripts createFakeOpenBSD writes). */
export function main(tool, dir, args) {
  if (tool === 'route' && args.length === 2 && args[0] === '-n' && args[1] === 'monitor') return routeMonitor(dir, args);
  const out = runTool(tool, dir, args, () => readFileSync(0, 'utf8'));
  if (out.stdout) process.stdout.write(out.stdout);
  if (out.stderr) process.stderr.write(out.stderr);
  process.exitCode = out.code;
  // For the benchmark: this run's life, from process start to now, in epoch ms
  // comparable across processes, so maped's own share of an apply can be told apart.
  process.once('exit', () => {
    appendFileSync(join(dir, 'timing.jsonl'), JSON.stringify([performance.timeOrigin, performance.timeOrigin + performance.now()]) + '\n');
  });
}

// ---------------------------------------------------------------- ifconfig

const FLAG_BITS = [
  ['UP', 0x1], ['BROADCAST', 0x2], ['LOOPBACK', 0x8], ['POINTOPOINT', 0x10], ['RUNNING', 0x40],
  ['SIMPLEX', 0x800], ['MULTICAST', 0x8000], ['AUTOCONF6', 0x40000],
];

function showInterface(name, i) {
  const flags = FLAG_BITS.filter(([f]) => i.flags.includes(f));
  const bits = flags.reduce((a, [, b]) => a | b, 0);
  const lines = [`${name}: flags=${bits.toString(16)}<${flags.map(([f]) => f).join(',')}> mtu ${i.mtu}`];
  if (i.lladdr) lines.push(`\tlladdr ${i.lladdr}`);
  lines.push(`\tindex ${i.index} priority 0 llprio 3`);
  if (i.gif) lines.push('\tencap: txprio payload rxprio payload');
  if (i.groups.length > 0) lines.push(`\tgroups: ${i.groups.join(' ')}`);
  if (i.media) lines.push(`\tmedia: ${i.media}`, '\tstatus: active');
  // phys_status: df or nodf from SIOCGLIFPHYDF, which gif(4) answers with or without a tunnel.
  if (i.gif) lines.push(`\ttunnel: ${i.tunnel ? `inet6 ${i.tunnel.source} --> ${i.tunnel.destination}` : '(unset)'} ttl 64 ${i.df ? 'df' : 'nodf'} ecn`);
  for (const a of i.inet) {
    lines.push(`\tinet ${a.address}${a.peer ? ` --> ${a.peer}` : ''} netmask ${a.netmask}`);
  }
  for (const a of i.inet6) {
    lines.push(`\tinet6 ${a.address} prefixlen ${a.prefixlen}${a.extra ? ` ${a.extra}` : ''}`);
  }
  return lines.join('\n') + '\n';
}

const netmaskHex = (dotted) => '0x' + dotted.split('.').map((o) => Number(o).toString(16).padStart(2, '0')).join('');
const isIpv4 = (s) => /^[0-9]{1,3}(\.[0-9]{1,3}){3}$/.test(s) && s.split('.').every((o) => Number(o) <= 255);
const isIpv6 = (s) => /^[0-9a-f:]+$/i.test(s) && s.includes(':');

/** A removed address takes the routes using it with it (rt_ifa_purge). */
function purgeRoutes(state, address) {
  for (const r of state.routes.filter((r) => r.ifa === address)) dropRoute(state, r);
}

function ifconfig(state, args) {
  const [name, ...rest] = args;
  if (name === undefined || name === '-a') {
    return { stdout: Object.entries(state.interfaces).map(([n, i]) => showInterface(n, i)).join('') };
  }
  const i = state.interfaces[name];
  if (rest.length === 0) {
    if (!i) throw new ToolError(`ifconfig: ${name}: no such interface`);
    return { stdout: showInterface(name, i) };
  }
  const [verb, ...params] = rest;
  if (verb === 'create') {
    if (i) throw new ToolError('ifconfig: SIOCIFCREATE: File exists');
    if (!/^gif[0-9]+$/.test(name)) throw new ToolError('ifconfig: SIOCIFCREATE: Invalid argument');
    state.interfaces[name] = {
      flags: ['POINTOPOINT', 'MULTICAST'], mtu: 1280, index: state.nextIndex++, groups: ['gif'], gif: true, tunnel: null, inet: [], inet6: [],
    };
    return { changed: true };
  }
  if (!i) throw new ToolError(`ifconfig: ${name}: no such interface`);
  switch (verb) {
    case 'destroy':
      if (!i.gif) throw new ToolError('ifconfig: SIOCIFDESTROY: Invalid argument');
      for (const a of i.inet) purgeRoutes(state, a.address);
      delete state.interfaces[name];
      return { changed: true };
    case 'tunnel': {
      const [source, destination] = params;
      if (params.length !== 2) throw new ToolError('ifconfig: tunnel: requires 2 arguments');
      if (!i.gif) throw new ToolError('ifconfig: SIOCSLIFPHYADDR: Inappropriate ioctl for device');
      if (isIpv6(source) !== isIpv6(destination)) throw new ToolError('ifconfig: source and destination address families do not match');
      if (!isIpv6(source) && !isIpv4(source)) throw new ToolError(`ifconfig: ${source}: bad value`);
      if (source === '::') throw new ToolError('ifconfig: SIOCSLIFPHYADDR: Invalid argument');
      i.tunnel = { source, destination };
      return { changed: true };
    }
    case '-tunnel':
      i.tunnel = null;
      return { changed: true };
    case 'tunneldf':
    case '-tunneldf':
      // if_gif.c 1.141 gif_ioctl SIOCSLIFPHYDF (lines 537-542): kept apart from the tunnel addresses; other interfaces answer ENOTTY.
      if (!i.gif) throw new ToolError('ifconfig: SIOCSLIFPHYDF: Inappropriate ioctl for device');
      i.df = verb === 'tunneldf';
      return { changed: true };
    case 'mtu': {
      const mtu = Number(params[0]);
      if (!/^[0-9]+$/.test(params[0] ?? '')) throw new ToolError(`ifconfig: mtu: ${params[0]}: invalid`);
      if (i.gif && (mtu < 1280 || mtu > 8192)) throw new ToolError('ifconfig: SIOCSIFMTU: Invalid argument');
      i.mtu = mtu;
      return { changed: true };
    }
    case 'up':
      if (!i.flags.includes('UP')) i.flags.unshift('UP');
      if (!i.flags.includes('RUNNING')) i.flags.push('RUNNING');
      return { changed: true };
    case 'down':
      i.flags = i.flags.filter((f) => f !== 'UP' && f !== 'RUNNING');
      return { changed: true };
    case 'inet':
      return setInet(state, i, params);
    case 'inet6':
      return setInet6(name, i, params);
    default:
      throw new ToolError(`ifconfig: ${verb}: bad value`);
  }
}

function setInet(state, i, params) {
  const [address, ...rest] = params;
  if (!isIpv4(address ?? '')) throw new ToolError(`ifconfig: ${address}: bad value`);
  if (rest[0] === 'delete' || rest[0] === '-alias') {
    if (!i.inet.some((a) => a.address === address)) throw new ToolError("ifconfig: SIOCDIFADDR: Can't assign requested address");
    i.inet = i.inet.filter((a) => a.address !== address);
    purgeRoutes(state, address);
    return { changed: true };
  }
  let peer = null;
  let netmask = '0xffffffff';
  let alias = false;
  for (let k = 0; k < rest.length; k++) {
    const word = rest[k];
    if (word === 'netmask') {
      const m = rest[++k] ?? '';
      if (!isIpv4(m)) throw new ToolError(`ifconfig: ${m}: bad value`);
      netmask = netmaskHex(m);
    } else if (word === 'alias') alias = true;
    else if (isIpv4(word) && peer === null) peer = word;
    else throw new ToolError(`ifconfig: ${word}: bad value`);
  }
  if (!alias && i.inet.length > 0) {
    // Without alias, ifconfig deletes the first address before adding.
    purgeRoutes(state, i.inet[0].address);
    i.inet.shift();
  }
  i.inet = i.inet.filter((a) => a.address !== address);
  i.inet.push({ address, peer, netmask });
  // Assigning an address brings the interface up (ifconfig(8)).
  if (!i.flags.includes('UP')) i.flags.unshift('UP');
  if (!i.flags.includes('RUNNING')) i.flags.push('RUNNING');
  return { changed: true };
}

function setInet6(name, i, params) {
  const [address, ...rest] = params;
  if (!isIpv6(address ?? '')) throw new ToolError(`ifconfig: ${address}: bad value`);
  if (rest[0] === 'delete' || rest[0] === '-alias') {
    if (!i.inet6.some((a) => a.address === address)) throw new ToolError("ifconfig: SIOCDIFADDR_IN6: Can't assign requested address");
    i.inet6 = i.inet6.filter((a) => a.address !== address);
    return { changed: true };
  }
  let prefixlen = 64;
  for (let k = 0; k < rest.length; k++) {
    const word = rest[k];
    if (word === 'prefixlen') {
      prefixlen = Number(rest[++k]);
      if (!(prefixlen >= 0 && prefixlen <= 128)) throw new ToolError(`ifconfig: prefixlen: invalid`);
    } else if (word !== 'alias') throw new ToolError(`ifconfig: ${word}: bad value`);
  }
  i.inet6 = i.inet6.filter((a) => a.address !== address);
  i.inet6.push({ address, prefixlen });
  return { changed: true };
}

// ---------------------------------------------------------------- route
//
// The IPv4 default routes, a model of sys/net/rtable.c 1.95 and sys/net/rtsock.c
// route_output as sbin/route/route.c 1.267 newroute (lines 571-835) drives them:
// - state.routes lists them as the kernel chains them on the default's node:
//   by priority, a new one after those of its own priority (rtable_mpath_insert);
// - add: `-priority` 2..63 (route_output refuses 1, RTP_LOCAL, and above RTP_MAX
//   63 with EINVAL); without it, RTP_STATIC 8 (sys/net/route.c 1.450 rtrequest:
//   if_priority + RTP_STATIC, if_priority 0 here). The interface is `-ifp`'s, else
//   the first up one whose point-to-point peer is the gateway (rt_getifa); none
//   is ENETUNREACH. At a priority already taken, the new route needs RTF_MPATH
//   (`-mpath`) and another gateway, else EEXIST; the routes there then all get
//   RTF_MPATH (rtable_insert);
// - delete/change: the first route of that gateway at that priority, at any
//   priority without `-priority` (RTP_ANY; rtable_lookup), else ESRCH; a lone
//   route left at a priority loses RTF_MPATH (rtable_delete);
// - get: the first route, the one the kernel uses;
// - show -inet: sbin/route/show.c 1.123 p_rttables/p_rtentry (lines 191-224,
//   296-353), labels under -v;
// - a refused add, change, delete or get: sbin/route/route.c 1.267 rtmsg
//   returns -1 without a word (lines 1357-1359) and newroute prints
//   `<cmd> net default[: gateway <gw>]: <error>` on stdout, ESRCH as "not in
//   table" and EBUSY as "entry in use", and exits 1 (lines 806-834).

/** route.c 1.267 priorityname (lines 1632-1657): the names of sys/net/route.h's RTP_* print_getmsg shows. */
const PRIORITY_SHOWN = { 0: 'none', 1: 'local', 4: 'connected', 8: 'static', 32: 'ospf', 36: 'is-is', 40: 'rip', 48: 'bgp', 56: 'default' };

/** route.c 1.267 print_getmsg (lines 1693-1811) for the route the kernel would use. */
function showDefaultRoute(r) {
  return [
    '   route to: default',
    'destination: default',
    '       mask: default',
    `    gateway: ${r.gateway}`,
    `  interface: ${r.interface}`,
    ` if address: ${r.ifa}`,
    // `%u (%s)`, lines 1781-1782: empty parentheses for a priority without a name.
    `   priority: ${r.priority} (${PRIORITY_SHOWN[r.priority] ?? ''})`,
    `      flags: <UP,GATEWAY,DONE,STATIC${r.mpath ? ',MPATH' : ''}>`,
    ...(r.label ? [`      label: ${r.label}`] : []),
    '     use       mtu    expire',
    `${'0'.padStart(8)}  ${'0'.padStart(8)}  ${'0'.padStart(8)} `,
  ].join('\n') + '\n';
}

/**
 * One p_rtentry line (sbin/route/show.c 1.123 lines 333-352): destination and
 * gateway `%-18s ` (never cut under -n, line 431), flags `%-6.6s `, refs and
 * use `%5u %8llu `, mtu `%5u ` or `%5s ` of "-", `L` or a blank for the MTU
 * lock, `  %2d %-5.16s` priority and interface, then under -v ` %s` of the
 * label for a route that has one: routename's `"%s"`, quoted, nothing
 * escaped (lines 523-531).
 */
function routeLine(destination, gateway, flags, mtu, priority, iface, label, verbose) {
  const tail = verbose && label ? ` "${label}"` : '';
  return `${destination.padEnd(18)} ${gateway.padEnd(18)} ${flags.padEnd(6).slice(0, 6)} ${'0'.padStart(5)} ${'0'.padStart(8)} ${String(mtu).padStart(5)}    ${String(priority).padStart(2)} ${iface.slice(0, 16).padEnd(5)}${tail}`;
}

/**
 * `route -n [-v] show -inet`: the defaults in kernel order, then lo0's routes, as a
 * 7.8 system prints them; the header (pr_rthdr, lines 266-273) gains " Label" under -v.
 */
function showRoutes(state, verbose) {
  const header = `${'Destination'.padEnd(18)} ${'Gateway'.padEnd(18)} Flags   Refs      Use   Mtu  Prio Iface${verbose ? ' Label' : ''}`;
  const lines = ['Routing tables', '', 'Internet:', header];
  for (const r of state.routes) lines.push(routeLine('default', r.gateway, `UGS${r.mpath ? 'P' : ''}`, '-', r.priority, r.interface, r.label, verbose));
  lines.push(routeLine('127/8', '127.0.0.1', 'UGRS', 32768, 8, 'lo0'), routeLine('127.0.0.1', '127.0.0.1', 'UHhl', 32768, 1, 'lo0'));
  lines.push(routeLine('224/4', '127.0.0.1', 'URS', 32768, 8, 'lo0'));
  return lines.join('\n') + '\n';
}

/**
 * route.c 1.267 getpriority (lines 1659-1691): one of the names of sys/net/route.h's
 * RTP_* it knows, else strtonum(-RTP_MAX, RTP_MAX), whose complaint it prints
 * first: `priority is invalid: high`.
 */
const PRIORITY_NAMES = { local: 1, connected: 4, static: 8, ospf: 32, bgp: 48, rip: 40 };

function getpriority(text) {
  if (PRIORITY_NAMES[text] !== undefined) return PRIORITY_NAMES[text];
  const problem = !/^-?[0-9]+$/.test(text) ? 'invalid' : Number(text) > 63 ? 'too large' : Number(text) < -63 ? 'too small' : null;
  if (problem !== null) throw new ToolError(`route: priority is ${problem}: ${text}`, '', 1);
  return Number(text);
}

function route(state, args) {
  // route.c 1.267 main: getopt(argc, argv, "dnqtT:v") before the command (lines 169-193); -n and -v are the ones the fake knows.
  const at = args.findIndex((a) => !a.startsWith('-'));
  const options = at === -1 ? args : args.slice(0, at);
  if (options.some((o) => !/^-[nv]+$/.test(o))) throw new ToolError(`route: ${options.join(' ')}: options unsupported by the fake`, '', 64);
  const verbose = options.some((o) => o.includes('v'));
  const [cmd, ...rest] = at === -1 ? [] : args.slice(at);
  if (cmd === 'show') {
    if (rest.length !== 1 || rest[0] !== '-inet') throw new ToolError('fake route: only show -inet is supported', '', 64);
    return { stdout: showRoutes(state, verbose) };
  }
  let label = null;
  let ifp = null;
  let priority = null;
  let mpath = false;
  const positional = [];
  for (let k = 0; k < rest.length; k++) {
    if (rest[k] === '-label') label = rest[++k] ?? null;
    else if (rest[k] === '-ifp') ifp = rest[++k] ?? null;
    else if (rest[k] === '-priority') priority = getpriority(rest[++k] ?? '');
    else if (rest[k] === '-mpath') mpath = true;
    else if (rest[k] === '-inet') continue;
    else if (rest[k].startsWith('-')) throw new ToolError(`route: ${rest[k]}: unsupported by the fake`, '', 64);
    else positional.push(rest[k]);
  }
  const [destination, gateway] = positional;
  if (destination !== 'default') throw new ToolError(`route: fake route only knows the default route, not ${destination}`, '', 64);
  const fail = (verb, why) => new ToolError('', `${verb} net default${gateway ? `: gateway ${gateway}` : ''}: ${why}\n`);
  // route_output: RTP_LOCAL and the negative numbers getpriority lets through are EINVAL.
  if (priority !== null && priority <= 1) throw fail(cmd, 'Invalid argument');
  // rtable_lookup: the first of that gateway at that priority (any without one).
  const find = () => state.routes.find((r) => (!gateway || r.gateway === gateway) && (priority === null || r.priority === priority));
  // rt_getifa: the -ifp interface, else the first up one whose peer is the gateway.
  const reach = () =>
    Object.entries(state.interfaces).find(([name, i]) => (ifp === null || name === ifp) && i.flags.includes('UP') && i.inet.some((a) => a.peer === gateway));
  switch (cmd) {
    case 'get': {
      const best = state.routes[0];
      if (!best) throw fail('get', 'not in table');
      return { stdout: showDefaultRoute(best) };
    }
    case 'add': {
      const via = reach();
      if (!via) throw fail('add', 'Network is unreachable');
      const prio = priority ?? 8;
      const same = state.routes.filter((r) => r.priority === prio);
      if (same.some((r) => !mpath || r.gateway === gateway)) throw fail('add', 'File exists');
      const [ifname, i] = via;
      const added = { gateway, interface: ifname, ifa: i.inet.find((a) => a.peer === gateway).address, label, priority: prio, mpath: same.length > 0 };
      for (const r of same) r.mpath = true;
      const at = state.routes.findIndex((r) => r.priority > prio);
      state.routes.splice(at === -1 ? state.routes.length : at, 0, added);
      return { changed: true, stdout: `add net default: gateway ${gateway}\n` };
    }
    case 'change': {
      const current = find();
      if (!current) throw fail('change', 'not in table');
      const via = reach();
      if (!via) throw fail('change', 'Network is unreachable');
      Object.assign(current, { interface: via[0], ifa: via[1].inet.find((a) => a.peer === gateway).address, ...(label ? { label } : {}) });
      return { changed: true, stdout: `change net default: gateway ${gateway}\n` };
    }
    case 'delete': {
      const current = find();
      if (!current) throw fail('delete', 'not in table');
      dropRoute(state, current);
      return { changed: true, stdout: `delete net default${gateway ? `: gateway ${gateway}` : ''}\n` };
    }
    default:
      throw new ToolError(`route: ${cmd}: unknown command`, '', 64);
  }
}

/** rtable_delete: unlinks the route; a lone one left at its priority is no longer multipath. */
function dropRoute(state, route) {
  state.routes = state.routes.filter((r) => r !== route);
  const left = state.routes.filter((r) => r.priority === route.priority);
  if (left.length === 1) left[0].mpath = false;
}

// ---------------------------------------------------------------- pfctl

function tokens(line) {
  const out = [];
  let i = 0;
  while (i < line.length) {
    const c = line[i];
    if (c === ' ' || c === '\t') { i++; continue; }
    let end;
    if (c === '"') end = line.indexOf('"', i + 1);
    else if (c === '(') end = line.indexOf(')', i + 1);
    else { end = i; while (end + 1 < line.length && !' \t'.includes(line[end + 1])) end++; }
    if (end === -1) return null;
    out.push(line.slice(i, end + 1));
    i = end + 1;
  }
  return out;
}

/** pfctl parse.y probability: strtod, % scales by 0.01, floor(p * UINT_MAX + 0.5), 0 becomes 1. */
function storedProbability(text) {
  const percent = text.endsWith('%');
  const digits = percent ? text.slice(0, -1) : text;
  if (!/^[0-9]*\.?[0-9]+$/.test(digits)) return null;
  let p = Number(digits);
  if (percent) p *= 0.01;
  const stored = Math.floor(p * UINT_MAX + 0.5);
  if (stored > UINT_MAX) return null;
  return stored === 0 ? 1 : stored;
}

function printedProbability(stored) {
  return ((stored * 100.0) / (UINT_MAX + 1.0)).toFixed(6).replace(/0+$/, '').replace(/\.$/, '') + '%';
}

function parseRule(line, n, pfctlPortset) {
  const syntax = new ToolError(`stdin:${n}: syntax error`);
  const t = tokens(line);
  if (!t) throw syntax;
  let k = 0;
  const r = { action: t[k++] };
  if (!['match', 'pass', 'block'].includes(r.action)) throw syntax;
  if (t[k] === 'in' || t[k] === 'out') r.direction = t[k++];
  if (t[k] === 'quick') { r.quick = true; k++; }
  if (t[k] === 'on') { r.on = t[k + 1]; k += 2; if (!r.on) throw syntax; }
  if (t[k] === 'inet' || t[k] === 'inet6') r.af = t[k++];
  if (t[k] === 'proto') { r.proto = t[k + 1]; k += 2; if (!['tcp', 'udp', 'icmp', 'ipencap'].includes(r.proto)) throw syntax; }
  if (t[k] === 'all') k++;
  else if (t[k] === 'from') {
    r.from = t[k + 1];
    if (t[k + 2] !== 'to' || !r.from || !t[k + 3]) throw syntax;
    r.to = t[k + 3];
    k += 4;
    // parse.y port_item: `port N`, `port = N` (PF_OP_EQ), `port N:M` (PF_OP_RRG).
    if (t[k] === 'port') {
      let word = t[k + 1];
      k += 2;
      if (word === '=') word = t[k++];
      const m = /^([0-9]+)(?::([0-9]+))?$/.exec(word ?? '');
      if (!m) throw syntax;
      r.toPort = [Number(m[1]), Number(m[2] ?? m[1])];
      if (r.toPort[0] < 1 || r.toPort[1] > 65535 || r.toPort[0] > r.toPort[1]) throw new ToolError(`stdin:${n}: illegal port range ${word}`);
    }
  }
  while (k < t.length) {
    const word = t[k++];
    if (word === 'flags') r.flags = t[k++];
    else if (word === 'probability') {
      const stored = storedProbability(t[k++] ?? '');
      if (stored === null) throw new ToolError(`stdin:${n}: invalid probability: ${t[k - 1]}`);
      r.probability = stored;
    } else if (word === 'scrub') {
      const m = /^\(max-mss ([0-9]+)\)$/.exec(t[k++] ?? '');
      if (!m) throw syntax;
      r.maxMss = Number(m[1]);
    } else if (word === 'label') {
      const quoted = t[k++] ?? '';
      if (!/^".*"$/.test(quoted)) throw syntax;
      r.label = quoted.slice(1, -1);
    } else if (word === 'tag' || word === 'tagged') {
      const name = (t[k++] ?? '').replace(/^"(.*)"$/, '$1');
      if (!/^[A-Za-z0-9_.-]{1,63}$/.test(name)) throw syntax;
      r[word] = name;
    } else if (word === 'nat-to') {
      if (r.direction !== 'out') throw new ToolError(`stdin:${n}: nat-to can only be used outbound`);
      r.natTo = { address: t[k++] };
      if (!r.natTo.address) throw syntax;
      while (k < t.length) {
        if (t[k] === 'port') {
          const m = /^([0-9]+)(?::([0-9]+))?$/.exec(t[k + 1] ?? '');
          if (!m) throw syntax;
          const lo = Number(m[1]);
          const hi = Number(m[2] ?? m[1]);
          // Stricter than pfctl on purpose: port 0 is never a usable NAT source port.
          if (lo < 1 || hi > 65535 || lo > hi) throw new ToolError(`stdin:${n}: illegal port range ${t[k + 1]}`);
          r.natTo.ports = [lo, hi];
          k += 2;
        } else if (t[k] === 'round-robin') k++;
        else if (t[k] === 'map-e-portset') {
          if (!pfctlPortset) throw syntax;
          const m = /^([0-9]+)\/([0-9]+)\/([0-9]+)$/.exec(t[k + 1] ?? '');
          if (!m) throw syntax;
          // The patched parse.y's checks and messages (patches/openbsd-7.8, pool_opt MAPEPORTSET).
          const [a, len, psid] = [Number(m[1]), Number(m[2]), Number(m[3])];
          const refuse = (why) => new ToolError(`stdin:${n}: map-e-portset ${a}/${len}/${psid}: ${why}`);
          if (a > 15) throw refuse('offset must be 0-15');
          if (len < 1) throw refuse('psid length must be at least 1');
          if (a + len > 16) throw refuse('offset + psid length must be at most 16');
          if (psid >= 2 ** len) throw refuse(`psid must be 0-${2 ** len - 1}`);
          if (a === 0 && len === 16 && psid === 0) throw refuse('the set is port 0 alone');
          r.natTo.mapePortset = `${a}/${len}/${psid}`;
          k += 2;
        } else break;
      }
      if (r.natTo.mapePortset && r.natTo.ports) throw new ToolError(`stdin:${n}: map-e-portset cannot be used with a port range`);
    } else if (word === 'rdr-to') {
      if (r.direction !== 'in') throw new ToolError(`stdin:${n}: rdr-to can only be used inbound`);
      r.rdrTo = { address: t[k++] };
      if (!r.rdrTo.address || t[k] !== 'port') throw syntax;
      const m = /^([0-9]+)(?::([0-9]+|\*))?$/.exec(t[k + 1] ?? '');
      if (!m) throw syntax;
      k += 2;
      const first = Number(m[1]);
      // `first:*`: as many ports as the destination range (parse.y, pf.conf(5)).
      const span = r.toPort ? r.toPort[1] - r.toPort[0] : 0;
      const last = m[2] === undefined ? first : m[2] === '*' ? first + span : Number(m[2]);
      if (first < 1 || last > 65535 || last < first) throw new ToolError(`stdin:${n}: illegal port range ${t[k - 1]}`);
      r.rdrTo.ports = [first, last];
    } else throw syntax;
  }
  return r;
}

/** pfctl_parser.c 1.352 print_rule order (lines 719-1171). */
function printRule(r) {
  const w = [r.action];
  if (r.direction) w.push(r.direction);
  if (r.quick) w.push('quick');
  if (r.on) w.push('on', r.on);
  if (r.af) w.push(r.af);
  if (r.proto) w.push('proto', r.proto);
  if (!r.from && !r.to) w.push('all');
  else w.push('from', r.from ?? 'any', 'to', r.to ?? 'any');
  if (r.toPort) w.push('port', ...(r.toPort[0] === r.toPort[1] ? ['=', `${r.toPort[0]}`] : [`${r.toPort[0]}:${r.toPort[1]}`]));
  // pass rules keep state with flags S/SA by default, and print it.
  const flags = r.flags ?? (r.action === 'pass' && (!r.proto || r.proto === 'tcp') ? 'S/SA' : null);
  if (flags) w.push('flags', flags);
  if (r.probability) w.push('probability', printedProbability(r.probability));
  if (r.maxMss) w.push(`scrub (max-mss ${r.maxMss})`);
  if (r.label) w.push(`label "${r.label}"`);
  // print_rule prints tag names unquoted.
  if (r.tag) w.push('tag', r.tag);
  if (r.tagged) w.push('tagged', r.tagged);
  if (r.natTo) {
    w.push('nat-to', r.natTo.address);
    if (r.natTo.ports) w.push('port', r.natTo.ports[0] === r.natTo.ports[1] ? `${r.natTo.ports[0]}` : `${r.natTo.ports[0]}:${r.natTo.ports[1]}`);
    // An interface pool without :0 spans its addresses: parse.y makes it round-robin.
    if (r.natTo.address.startsWith('(')) w.push('round-robin');
    if (r.natTo.mapePortset) w.push('map-e-portset', r.natTo.mapePortset);
  }
  if (r.rdrTo) w.push('rdr-to', r.rdrTo.address, 'port', r.rdrTo.ports[0] === r.rdrTo.ports[1] ? `${r.rdrTo.ports[0]}` : `${r.rdrTo.ports[0]}:${r.rdrTo.ports[1]}`);
  return w.join(' ');
}

function parseRuleset(text, pfctlPortset) {
  const rules = [];
  text.split('\n').forEach((raw, index) => {
    const line = raw.replace(/#.*$/, '').trim();
    if (line !== '') rules.push(parseRule(line, index + 1, pfctlPortset));
  });
  return rules;
}

/**
 * pfctl and kernel built from different net/pfvar.h (one with the
 * map-e-portset patch, one without): struct pfioc_rule differs in size, so
 * the DIOC*RULE* ioctl numbers do (_IOWR). The kernel answers an unknown
 * ioctl with EACCES on pfctl's read-only descriptor (-s) and ENODEV on a
 * read-write one (pf_ioctl.c 1.423 pfioctl()); pfctl.c 1.397 prints the first
 * as pf_strerror() alone and exits 0 (pfctl_show_rules, lines 894-899; main,
 * lines 2808-2812) and the second as err(1, "DIOCADDRULE") (pfctl_load_rule,
 * lines 1592-1599). Transactions, flushes and state
 * kills use other structures and still work. `pfctlPortset` absent: pfctl
 * and kernel were built together.
 */
function abiMismatch(state) {
  return state.pfctlPortset !== undefined && state.pfctlPortset !== state.kernelPortset;
}

/** RFC 7597 §5.1: the first port of a map-e-portset pool (A = 1), as the patched pf_get_sport_mape could pick it. */
function firstPortOfSet(portset) {
  const [a, k, psid] = portset.split('/').map(Number);
  // With a = 0 the set starts at A = 0 (RFC 7598 §4.5 allows offset 0), and port 0 is never handed out.
  const port = (a === 0 ? 0 : 1 << (16 - a)) | (psid << (16 - a - k));
  return port === 0 ? 1 : port;
}

/**
 * Traffic is imagined: loading an anchor makes one outbound TCP state per
 * nat-to rule (a LAN host translated to the tunnel address, the rule's first
 * port) and one state per outbound ipencap pass rule, each with an id.
 */
function imagineStates(state, rules) {
  let n = 0;
  for (const r of rules) {
    let entry = null;
    if (r.natTo && r.on && state.interfaces[r.on]?.inet[0]) {
      const address = state.interfaces[r.on].inet[0].address;
      // A different port of the pool for each rule, so that no two states share a key.
      const [a, k] = (r.natTo.mapePortset ?? '1/0/0').split('/').map(Number);
      const port = r.natTo.ports
        ? r.natTo.ports[0] + (n % (r.natTo.ports[1] - r.natTo.ports[0] + 1))
        : r.natTo.mapePortset ? firstPortOfSet(r.natTo.mapePortset) + (n % 2 ** (16 - a - k)) : 50001 + n;
      entry = { proto: 'tcp', direction: 'out', af: 'inet', wire: [[address, port], ['198.51.100.7', 443]], stack: [['192.168.1.23', 40000 + n], ['198.51.100.7', 443]], states: 'ESTABLISHED:ESTABLISHED' };
    } else if (r.action === 'pass' && r.proto === 'ipencap' && r.direction === 'out' && r.from && r.to) {
      entry = { proto: 'ipencap', direction: 'out', af: 'inet6', wire: [[r.from, 0], [r.to, 0]], stack: [[r.from, 0], [r.to, 0]], states: 'MULTIPLE:MULTIPLE' };
    }
    n++;
    if (entry === null) continue;
    const key = JSON.stringify([entry.proto, entry.wire]);
    if (state.states.some((s) => JSON.stringify([s.proto, s.wire]) === key)) continue;
    state.nextStateId = (state.nextStateId ?? 0) + 1;
    state.states.push({ id: (0x5f3a1b2c00000000n + BigInt(state.nextStateId)).toString(16).padStart(16, '0'), creatorid: '6fa5c2d1', ...entry });
  }
}

/** sbin/pfctl/pf_print_state.c print_host: IPv4 a.b.c.d:port, IPv6 addr[port], no port when 0. */
function printHost([address, port], af) {
  if (!port) return address;
  return af === 'inet6' ? `${address}[${port}]` : `${address}:${port}`;
}

/**
 * print_state with -vv: the wire key's source (outbound: after NAT), the
 * stack key's in parentheses when they differ, the direction arrow, the
 * destination; then age/expiry/counters and, for -vv, `id: … creatorid: …`.
 */
function printImaginedState(s) {
  const [wireSrc, wireDst] = s.wire;
  const [stackSrc, stackDst] = s.stack;
  const differs = (a, b) => a[0] !== b[0] || a[1] !== b[1];
  let line = `all ${s.proto} `;
  if (s.direction === 'out') {
    line += printHost(wireSrc, s.af);
    if (differs(wireSrc, stackSrc)) line += ` (${printHost(stackSrc, s.af)})`;
    line += ` -> ${printHost(wireDst, s.af)}`;
  } else {
    line += printHost(stackDst, s.af);
    if (differs(wireDst, stackDst)) line += ` (${printHost(wireDst, s.af)})`;
    line += ` <- ${printHost(wireSrc, s.af)}`;
  }
  return [
    `${line}       ${s.states}`,
    '   age 00:01:02, expires in 23:59:58, 10:12 pkts, 1234:5678 bytes, rule 3',
    `   id: ${s.id} creatorid: ${s.creatorid}`,
  ].join('\n') + '\n';
}

function pfctl(state, args, readStdin) {
  const o = { kills: [], verbose: 0 };
  for (let k = 0; k < args.length; k++) {
    const a = args[k];
    if (a === '-o') o.optimizer = args[++k];
    else if (a === '-a') o.anchor = args[++k];
    else if (a === '-f') o.file = args[++k];
    else if (a === '-nf') { o.noop = true; o.file = args[++k]; }
    else if (a === '-n') o.noop = true;
    else if (a === '-sr') o.show = 'rules';
    else if (/^-v*ss$/.test(a)) { o.show = 'states'; o.verbose = (o.verbose ?? 0) + a.length - 3; }
    else if (/^-v+$/.test(a)) o.verbose = (o.verbose ?? 0) + a.length - 1;
    else if (a === '-s') o.show = args[++k] === 'states' ? 'states' : args[k];
    else if (a === '-si') o.show = 'info';
    else if (a === '-F') o.flush = args[++k];
    else if (a === '-k') o.kills.push(args[++k]);
    else throw new ToolError(`pfctl: unknown option ${a}`, '', 64);
  }
  if (o.kills.length > 2) throw new ToolError('pfctl: can only specify -k twice', '', 64);
  if (o.file !== undefined) {
    if (o.file !== '-') throw new ToolError('fake pfctl: only -f - (stdin) is supported', '', 64);
    const rules = parseRuleset(readStdin(), state.pfctlPortset ?? state.kernelPortset);
    if (o.noop) return {};
    if (rules.length > 0 && abiMismatch(state)) throw new ToolError('pfctl: DIOCADDRULE: Operation not supported by device');
    if (!o.anchor) throw new ToolError('fake pfctl: loading the main ruleset is not supported', '', 64);
    state.anchors[o.anchor] = rules.map(printRule);
    imagineStates(state, rules);
    return { changed: true };
  }
  if (o.show === 'rules') {
    // pfctl.c 1.397: a failed DIOCGETRULES is a warnx (lines 894-899) and main
    // ignores it (lines 2808-2812): the exit status stays 0.
    if (abiMismatch(state)) return { stderr: 'pfctl: Permission denied\n' };
    // Without -a: the main ruleset, which the admin wrote (state.mainRules).
    if (o.anchor === undefined) return { stdout: (state.mainRules ?? []).map((r) => r + '\n').join('') };
    // An anchor exists once loaded, or while the main ruleset calls it; else
    // DIOCGETRULES answers EINVAL, which pf_strerror names (lines 3021-3032).
    const called = (state.mainRules ?? []).some((r) => r.startsWith(`anchor "${o.anchor}"`));
    if (state.anchors[o.anchor] === undefined && !called) return { stderr: 'pfctl: Anchor does not exist\n' };
    return { stdout: (state.anchors[o.anchor] ?? []).map((r) => r + '\n').join('') };
  }
  if (o.show === 'states') {
    // The tests' own table (show usage), then with -vv the states imagined at anchor loads, ids included.
    const listed = (state.stateTable ?? []).map((st) => printState(st, o.verbose ?? 0));
    if ((o.verbose ?? 0) >= 2) listed.push(...state.states.map(printImaginedState));
    return { stdout: listed.join('') };
  }
  if (o.show === 'info') {
    // pfctl_parser.c 1.352 print_status: the first line says whether pf is on (lines 537, 549-554).
    const enabled = state.pfEnabled ?? true;
    return { stdout: `Status: ${enabled ? 'Enabled' : 'Disabled'} for 12 days 03:04:05           Debug: err\n\nState Table                          Total             Rate\n  current entries                        ${state.states.length}               \n` };
  }
  if (o.flush !== undefined) {
    if (!o.anchor) throw new ToolError('fake pfctl: flushing the main ruleset is not supported', '', 64);
    delete state.anchors[o.anchor];
    return { changed: true, stderr: 'rules cleared\n' };
  }
  if (o.kills.length === 2 && o.kills[0] === 'id') {
    // pfctl.c 1.397 pfctl_id_kill_states (lines 651-683): a hexadecimal id
    // (optionally /creatorid), never 0; a missing state kills 0.
    const m = /^([0-9a-f]{1,16})(?:\/([0-9a-f]{1,8}))?$/i.exec(o.kills[1]);
    if (!m) throw new ToolError('pfctl: wrong id format specified', '', 1);
    if (/^0+$/.test(m[1])) throw new ToolError('pfctl: cannot kill id 0', '', 1);
    const id = m[1].toLowerCase().padStart(16, '0');
    const before = state.states.length;
    state.states = state.states.filter((s) => s.id !== id);
    return { changed: true, stderr: `killed ${before - state.states.length} states\n` };
  }
  throw new ToolError(`pfctl: unsupported arguments ${args.join(' ')}`, '', 64);
}

/**
 * One entry of the state table as pfctl -ss prints it (pf_print_state.c
 * print_state): our side first, the other key's host in parentheses when the
 * keys differ. An entry holds `local` (wire side, `addr:port`), `stack` (the
 * inside host, or null when untranslated), `peer`, and for -vv an `id`.
 * Outbound the wire key is printed first, inbound the stack key.
 */
function printState(st, verbose) {
  const out = st.direction !== 'in';
  const first = out ? st.local : st.stack ?? st.local;
  const paren = st.stack === null || st.stack === undefined ? '' : ` (${out ? st.stack : st.local})`;
  let text = `${st.ifname ?? 'all'} ${st.proto} ${first}${paren} ${out ? '->' : '<-'} ${st.peer}       ${st.states ?? 'ESTABLISHED:ESTABLISHED'}\n`;
  if (verbose > 0) text += `   age 00:01:00, expires in 23:59:00, 10:10 pkts, 1000:1000 bytes, rule 0\n`;
  if (verbose > 1) text += `   id: ${st.id ?? '0000000000000000'} creatorid: 00000001\n`;
  return text;
}

// ---------------------------------------------------------------- sysctl

/**
 * sysctl(8) reading names (sbin/sysctl/sysctl.c): `name=value` a line, the
 * value alone with -n. Setting one is refused: maped only reads.
 */
function sysctl(state, args) {
  const bare = args[0] === '-n';
  const names = bare ? args.slice(1) : args;
  if (names.length === 0 || names.some((n) => n.includes('='))) throw new ToolError('fake sysctl: only reading names is supported', '', 64);
  const lines = names.map((name) => {
    const value = (state.sysctl ?? {})[name];
    if (value === undefined) throw new ToolError(`sysctl: third level name ${name.split('.')[2] ?? name} in ${name} is invalid`);
    return bare ? value : `${name}=${value}`;
  });
  return { stdout: lines.join('\n') + '\n' };
}

// ---------------------------------------------------------------- dhcp6leasectl

function dhcp6leasectl(state, args) {
  if (args[0] !== '-l' || args.length !== 2) {
    throw new ToolError('fake dhcp6leasectl: refusing to run without -l <if>: it would make dhcp6leased start a new exchange', '', 64);
  }
  const text = state.leasectl[args[1]];
  if (text === undefined || text === null) throw new ToolError(`dhcp6leasectl: non-autoconf interface ${args[1]}`);
  return { stdout: text };
}
