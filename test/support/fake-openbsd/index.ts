/**
 * Fake OpenBSD tools for tests: ifconfig, route, pfctl, sysctl and dhcp6leasectl as
 * executable scripts in a temporary directory, sharing a JSON state there,
 * logging every call and failing on request. See tools.mjs for what each
 * prints; the formats follow OpenBSD 7.8's sources.
 */
import { execFile } from 'node:child_process';
import { chmod, copyFile, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { promisify } from 'node:util';
import { createServer, type Server } from 'node:net';
import { appendFileSync, existsSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { processAlive } from '../../../src/daemon/pid-file.js';

export type FakeToolName = 'ifconfig' | 'route' | 'pfctl' | 'dhcp6leasectl' | 'sysctl';

export interface FakeInterface {
  flags: string[];
  mtu: number;
  index: number;
  groups: string[];
  lladdr?: string;
  media?: string;
  gif?: boolean;
  tunnel: { source: string; destination: string } | null;
  /** `tunneldf` set: ifconfig prints df instead of nodf. */
  df?: boolean;
  inet: { address: string; peer: string | null; netmask: string }[];
  inet6: { address: string; prefixlen: number; extra?: string }[];
}

export interface FakeState {
  /** The kernel has the map-e-portset patch. */
  kernelPortset: boolean;
  /** pfctl has it; absent: pfctl was built with the kernel (the same as kernelPortset). */
  pfctlPortset?: boolean;
  nextIndex: number;
  interfaces: Record<string, FakeInterface>;
  /** IPv4 default routes in the kernel's order: by priority, then by age (tools.mjs, route). */
  routes: FakeRoute[];
  /** Anchor name → its rules as `pfctl -sr` prints them. */
  anchors: Record<string, string[]>;
  /** pf states, imagined when an anchor loads (tools.mjs imagineStates); `pfctl -ss -vv` prints them. */
  states: FakeNatState[];
  nextStateId?: number;
  /** The main ruleset as `pfctl -sr` prints it (the admin's pf.conf). */
  mainRules?: string[];
  /** `pfctl -si`: Status Enabled or Disabled (default enabled). */
  pfEnabled?: boolean;
  /** sysctl(8) names and values (net.inet.ip.forwarding is 1, as a router's /etc/sysctl.conf sets it). */
  sysctl: Record<string, string>;
  /** pf's state table as `pfctl -ss` lists it: tests put the connections they imagine here. */
  stateTable?: FakePfState[];
  leasectl: Record<string, string | null>;
}

export interface FakeRoute {
  gateway: string;
  interface: string;
  /** The interface address the route uses: removing it purges the route (rt_ifa_purge). */
  ifa: string;
  label: string | null;
  priority: number;
  /** RTF_MPATH: it shares its priority with other defaults. */
  mpath: boolean;
}

/** One imagined NAT or tunnel state: keys as [address, port] pairs, source first (port 0: none). */
export interface FakeNatState {
  id: string;
  creatorid: string;
  proto: string;
  direction: 'in' | 'out';
  af: 'inet' | 'inet6';
  wire: [[string, number], [string, number]];
  stack: [[string, number], [string, number]];
  states: string;
}

export interface FakePfState {
  readonly proto: 'tcp' | 'udp' | 'icmp';
  readonly direction?: 'in' | 'out';
  /** This host's side on the wire, `addr:port`. */
  readonly local: string;
  /** The inside host, `addr:port`, when pf translated (nat-to out, rdr-to in). */
  readonly stack?: string | null;
  readonly peer: string;
  readonly states?: string;
  readonly ifname?: string;
  readonly id?: string;
}

export interface FakeOpenBSDOptions {
  readonly wanMtu?: number;
  readonly wan?: string;
  readonly kernelPortset?: boolean;
  /** A pfctl built from other sources than the kernel: see tools.mjs abiMismatch. */
  readonly pfctlPortset?: boolean;
  /**
   * The tools are a small C client (served-client.c, built with cc) of a
   * server in this process that runs the same code (tools.mjs runTool) on the
   * same state: a call costs about a millisecond, as OpenBSD's own tools do,
   * instead of a Node start, so the benchmark can time maped rather than its
   * fakes. Tests use the default, a Node process per call.
   */
  readonly served?: boolean;
}

export interface FakeOpenBSD {
  readonly dir: string;
  readonly tools: { readonly ifconfig: string; readonly route: string; readonly pfctl: string; readonly dhcp6leasectl: string; readonly sysctl: string };
  /** argv of every call, in order, the tool name first. */
  log(): string[][];
  /** The calls that change state (ifconfig with arguments, route add/change/delete, pfctl -f/-F/-k). */
  mutations(): string[][];
  clearLog(): void;
  /**
   * [start, end] in epoch ms of every tool run since the last clearLog: process
   * start included, or in served mode the server's handling of the call.
   */
  runTimes(): [number, number][];
  /**
   * The next `times` calls of `tool` whose argv (joined with spaces) matches
   * fail with `stderr` (default: a realistic "Device busy" line). A string
   * matches as a substring; times = Infinity fails until clearFailures().
   */
  failNext(tool: FakeToolName, argvMatch?: RegExp | string, times?: number, stderr?: string): void;
  clearFailures(): void;
  setLeasectl(iface: string, text: string | null): void;
  /**
   * Makes every running `route -n monitor` print a routing message about an
   * address of `iface`, as sbin/route/route.c 1.267 print_rtmsg (lines
   * 1480-1490) and pmsg_addrs (lines 1965-2006) do.
   */
  routeMessage(type: 'RTM_NEWADDR' | 'RTM_DELADDR', iface: string, address: string): void;
  /** Ends every running `route -n monitor` (exit status 1); later ones run on. */
  endRouteMonitors(): Promise<void>;
  /** The pids of the `route -n monitor` processes started so far, in order. */
  routeMonitorPids(): number[];
  state(): FakeState;
  editState(edit: (state: FakeState) => void): void;
  cleanup(): Promise<void>;
}

const TOOLS_MJS = join(dirname(fileURLToPath(import.meta.url)), 'tools.mjs');
const SOCKET_NAME = 'tools.sock';

type RunTool = (tool: string, dir: string, args: string[], readStdin: () => string) => { stdout: string; stderr: string; code: number };
type WithStateLock = <T>(dir: string, fn: () => T) => T;

/** Served mode's wire format: see served-client.c. */
function unpackFields(data: Buffer): string[] {
  const count = data.readUInt32BE(0);
  const fields: string[] = [];
  let at = 4;
  for (let i = 0; i < count; i++) {
    const length = data.readUInt32BE(at);
    fields.push(data.toString('utf8', at + 4, at + 4 + length));
    at += 4 + length;
  }
  return fields;
}

function packResponse(out: { stdout: string; stderr: string; code: number }): Buffer {
  const field = (text: string): Buffer => {
    const bytes = Buffer.from(text, 'utf8');
    const length = Buffer.alloc(4);
    length.writeUInt32BE(bytes.length);
    return Buffer.concat([length, bytes]);
  };
  const code = Buffer.alloc(4);
  code.writeUInt32BE(out.code);
  return Buffer.concat([code, field(out.stdout), field(out.stderr)]);
}

async function serveTools(dir: string, toolsUrl: string): Promise<Server> {
  const { runTool } = (await import(toolsUrl)) as { runTool: RunTool };
  const server = createServer((connection) => {
    const chunks: Buffer[] = [];
    connection.on('data', (chunk: Buffer) => chunks.push(chunk));
    connection.on('end', () => {
      const arrived = performance.timeOrigin + performance.now();
      const [tool = '', stdin = '', ...args] = unpackFields(Buffer.concat(chunks));
      connection.end(packResponse(runTool(tool, dir, args, () => stdin)));
      // runTimes() in served mode: the server's share of each call (the client's
      // own start, about a millisecond, is not seen from here).
      appendFileSync(join(dir, 'timing.jsonl'), JSON.stringify([arrived, performance.timeOrigin + performance.now()]) + '\n');
    });
    connection.on('error', () => connection.destroy());
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(join(dir, SOCKET_NAME), resolve);
  });
  return server;
}

export function isMutation(call: readonly string[]): boolean {
  const [tool, ...args] = call;
  if (tool === 'ifconfig') return args.length > 1;
  if (tool === 'route') return args.some((a) => a === 'add' || a === 'change' || a === 'delete');
  if (tool === 'pfctl') return !args.includes('-nf') && !args.includes('-n') && args.some((a) => a === '-f' || a === '-F' || a === '-k');
  return false;
}

let builtClient: Promise<string> | null = null;
let builtClientDir: string | null = null;

/**
 * The served client, compiled on first use in a test file into a directory
 * that removeServedClient() takes away after the file (a vitest setup file
 * calls it): a worker process may be ended without its 'exit' event, so
 * that event alone would leave the directory in the temp dir.
 */
function servedClient(): Promise<string> {
  builtClient ??= (async () => {
    const dir = await mkdtemp(join(tmpdir(), 'maped-served-client-'));
    builtClientDir = dir;
    process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
    const client = join(dir, 'served-client');
    await promisify(execFile)('cc', ['-O2', '-o', client, join(dirname(TOOLS_MJS), 'served-client.c')]);
    return client;
  })();
  return builtClient;
}

/** Removes the compiled served client, if this test file built one. */
export async function removeServedClient(): Promise<void> {
  const built = builtClient;
  builtClient = null;
  if (built !== null) await built.catch(() => undefined);
  if (builtClientDir !== null) rmSync(builtClientDir, { recursive: true, force: true });
  builtClientDir = null;
}

export async function createFakeOpenBSD(options: FakeOpenBSDOptions = {}): Promise<FakeOpenBSD> {
  const dir = await mkdtemp(join(tmpdir(), 'maped-fake-openbsd-'));
  const wan = options.wan ?? 'em0';
  const state: FakeState = {
    kernelPortset: options.kernelPortset ?? false,
    ...(options.pfctlPortset === undefined ? {} : { pfctlPortset: options.pfctlPortset }),
    nextIndex: 5,
    interfaces: {
      lo0: {
        flags: ['UP', 'LOOPBACK', 'RUNNING', 'MULTICAST'],
        mtu: 32768,
        index: 3,
        groups: ['lo'],
        tunnel: null,
        inet: [{ address: '127.0.0.1', peer: null, netmask: '0xff000000' }],
        inet6: [
          { address: '::1', prefixlen: 128 },
          { address: 'fe80::1%lo0', prefixlen: 64, extra: 'scopeid 0x3' },
        ],
      },
      [wan]: {
        flags: ['UP', 'BROADCAST', 'RUNNING', 'SIMPLEX', 'MULTICAST', 'AUTOCONF6'],
        mtu: options.wanMtu ?? 1500,
        index: 1,
        lladdr: '00:0c:29:4d:6e:01',
        media: 'Ethernet autoselect (1000baseT full-duplex)',
        groups: ['egress'],
        tunnel: null,
        inet: [],
        inet6: [
          { address: `fe80::20c:29ff:fe4d:6e01%${wan}`, prefixlen: 64, extra: 'scopeid 0x1' },
          { address: '2001:db8:ffff:1:20c:29ff:fe4d:6e01', prefixlen: 64, extra: 'autoconf pltime 604503 vltime 2591703' },
        ],
      },
    },
    routes: [],
    anchors: {},
    states: [],
    // /etc/pf.conf of OpenBSD 7.8 with the anchor added, as pfctl -sr prints it.
    mainRules: [
      'block return all',
      'pass all flags S/SA',
      'block return in on ! lo0 proto tcp from any to any port 6000:6010',
      'block return out log proto tcp all user = 55',
      'block return out log proto udp all user = 55',
      'anchor "maped" all',
    ],
    sysctl: { 'net.inet.ip.forwarding': '1', 'net.inet6.ip6.forwarding': '1' },
    leasectl: {},
  };
  writeFileSync(join(dir, 'state.json'), JSON.stringify(state, null, 2));
  writeFileSync(join(dir, 'log.jsonl'), '');
  writeFileSync(join(dir, 'timing.jsonl'), '');
  writeFileSync(join(dir, 'fail.json'), '[]');

  const toolsUrl = pathToFileURL(TOOLS_MJS).href;
  const paths = {} as Record<FakeToolName, string>;
  const server = options.served ? await serveTools(dir, toolsUrl) : null;
  // Built once per test process with the system C compiler; each fake gets copies, so cleanup removes them.
  const client = server === null ? '' : await servedClient();
  for (const tool of ['ifconfig', 'route', 'pfctl', 'dhcp6leasectl', 'sysctl'] as const) {
    const path = join(dir, tool);
    if (server !== null) {
      // A copy, not a link: the client tells which tool it is from its own path.
      await copyFile(client, path);
    } else {
      // CommonJS wrapper (no package.json here) loading the ESM implementation.
      await writeFile(
        path,
        `#!/usr/bin/env node\nimport(${JSON.stringify(toolsUrl)}).then((m) => m.main(${JSON.stringify(tool)}, ${JSON.stringify(dir)}, process.argv.slice(2)));\n`,
      );
    }
    await chmod(path, 0o755);
    paths[tool] = path;
  }

  // The tools' own lock (tools.mjs withStateLock): a change the test makes
  // while maped runs tools neither loses one of theirs nor is lost.
  const { withStateLock } = (await import(toolsUrl)) as { withStateLock: WithStateLock };
  /**
   * Replaced by rename(2), as the tools write state.json: a tool reading it
   * meanwhile sees the old text or the new, never a file cut short.
   */
  const writeWhole = (name: string, text: string): void => {
    const temp = join(dir, `.${name}.test-${process.pid}.tmp`);
    writeFileSync(temp, text);
    renameSync(temp, join(dir, name));
  };
  const monitorPids = (): number[] =>
    existsSync(join(dir, 'route-monitor.pids'))
      ? readFileSync(join(dir, 'route-monitor.pids'), 'utf8').split('\n').filter((l) => l !== '').map(Number)
      : [];
  const readState = (): FakeState => JSON.parse(readFileSync(join(dir, 'state.json'), 'utf8')) as FakeState;
  const writeState = (s: FakeState): void => writeWhole('state.json', JSON.stringify(s, null, 2));
  /** Each tool appends its line as it starts; a line still being appended is left for the next look. */
  const wholeLines = (name: string): string[] => {
    const text = readFileSync(join(dir, name), 'utf8');
    return text
      .slice(0, text.lastIndexOf('\n') + 1)
      .split('\n')
      .filter((l) => l !== '');
  };
  const log = (): string[][] => wholeLines('log.jsonl').map((l) => JSON.parse(l) as string[]);

  return {
    dir,
    tools: paths,
    log,
    mutations: () => log().filter(isMutation),
    clearLog: () => {
      writeFileSync(join(dir, 'log.jsonl'), '');
      writeFileSync(join(dir, 'timing.jsonl'), '');
    },
    runTimes: () => wholeLines('timing.jsonl').map((l) => JSON.parse(l) as [number, number]),
    failNext(tool, argvMatch, times = 1, stderr) {
      withStateLock(dir, () => {
        const rules = JSON.parse(readFileSync(join(dir, 'fail.json'), 'utf8')) as object[];
        const match =
          argvMatch === undefined ? {} : typeof argvMatch === 'string' ? { text: argvMatch } : { regex: argvMatch.source, flags: argvMatch.flags };
        rules.push({ tool, ...match, times: times === Infinity ? -1 : times, ...(stderr === undefined ? {} : { stderr }) });
        writeWhole('fail.json', JSON.stringify(rules));
      });
    },
    clearFailures: () => withStateLock(dir, () => writeWhole('fail.json', '[]')),
    setLeasectl(iface, text) {
      withStateLock(dir, () => {
        const s = readState();
        s.leasectl[iface] = text;
        writeState(s);
      });
    },
    routeMessage(type, iface, address) {
      // print_rtmsg: the type and its description, then pmsg_addrs: the sockaddrs present and each address.
      const verb = type === 'RTM_NEWADDR' ? 'address being added to iface' : 'address being removed from iface';
      appendFileSync(
        join(dir, 'route-monitor.txt'),
        `${type}: ${verb}: len 168, metric 0, flags:<UP>\nsockaddrs: <NETMASK,IFP,IFA>\n ffff:ffff:ffff:ffff:: ${iface} ${address}\n\n`,
      );
    },
    async endRouteMonitors() {
      // Only the monitors running now: one maped starts again meanwhile runs on.
      const ending = monitorPids().filter(processAlive);
      if (ending.length === 0) return;
      writeWhole('route-monitor.exit', ending.map((pid) => `${pid}\n`).join(''));
      const deadline = Date.now() + 20_000;
      while (ending.some(processAlive) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 25));
      rmSync(join(dir, 'route-monitor.exit'), { force: true });
    },
    routeMonitorPids: monitorPids,
    state: readState,
    editState(edit) {
      withStateLock(dir, () => {
        const s = readState();
        edit(s);
        writeState(s);
      });
    },
    async cleanup() {
      // A monitor whose maped was killed outright would run on: the fake ones end with their directory.
      writeFileSync(join(dir, 'route-monitor.exit'), '');
      if (server !== null) await new Promise((resolve) => server.close(resolve));
      await rm(dir, { recursive: true, force: true, maxRetries: 5, retryDelay: 20 });
    },
  };
}
