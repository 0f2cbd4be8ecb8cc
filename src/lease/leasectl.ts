/**
 * `dhcp6leasectl -l <if>`: whether the lease is still valid. The lease file
 * is never removed on expiry (sbin/dhcp6leased/dhcp6leased.c 1.20), so this
 * is where validity comes from. Only `-l` is ever run: without it dhcp6leasectl asks
 * dhcp6leased for a new exchange.
 *
 * Output (dhcp6leasectl.c show_interface_msg):
 *   em0 [Bound]
 *   \tIA_PD 0: 2001:db8:1200:3400::/56
 *   \tlease 7 days                       (rounded remaining lease time)
 * from our dhcp6leased patch (patches/openbsd-7.8/0002), one line per
 * Softwire46 container kept from the last Reply:
 *   \tS46 94: <hex of the option payload>
 * and from the Perl maped patch (`-m`): `\tlease-seconds: N` and a block
 *   \tMAP-E / \t\tBR: … / \t\trule: flags … / \t\tportparams: offset …
 *
 * Lines this parser does not know are skipped (a later dhcp6leasectl may
 * add some); a known line with a bad value refuses the whole output, and so
 * does one that starts like a known line but is garbled (`portparams:
 * offset 6 psid-len 8`, `S46 94 00`): it was meant to say something, and
 * acting on the rest of the lease without it is acting on part of a lease.
 */
import { err, ok, parseIpv6Prefix, shown, type Ipv6Prefix, type Result } from '../map/index.js';
import { withContainers, type S46Container, type S46Options } from '../dhcpv6/index.js';
import { decodeS46Text } from './lease-file.js';
import { compatBr, compatPortParams, compatRule, CompatMapEDomain, field, wholeNumber } from './compat-mape.js';
import { interfaceNameProblem, toolEnvironment } from '../openbsd/index.js';
import { runTool } from '../apply/tool-process.js';

/** engine.c if_state_name[]. */
export const LEASE_STATES = ['Down', 'Init', 'Requesting', 'Bound', 'Renewing', 'Rebinding', 'Rebooting'] as const;
export type LeaseState = (typeof LEASE_STATES)[number];

export interface LeasectlStatus {
  readonly interface: string;
  readonly state: LeaseState;
  readonly prefixes: readonly Ipv6Prefix[];
  /** Remaining lease time: `lease-seconds:` when given, else the rounded `lease N unit`; null without a PD. */
  readonly leaseSeconds: number | null;
  /** Only from a patched dhcp6leasectl: our `S46` lines, or the Perl patch's MAP-E block. */
  readonly s46?: S46Options;
}

export interface LeasectlQuery extends LeasectlStatus {
  /** Monotonic clock (performance.now(), ms) when the output was read. */
  readonly observedAt: number;
  /** Monotonic ms after which the lease has run out; null when no lease time was shown. */
  readonly expiresAt: number | null;
}

const UNIT_SECONDS: Readonly<Record<string, number>> = {
  second: 1,
  seconds: 1,
  minute: 60,
  minutes: 60,
  hour: 3600,
  hours: 3600,
  day: 86400,
  days: 86400,
};

const IA = wholeNumber('IA number', 0, 32);
const SECONDS = wholeNumber('lease seconds', 0, 0xffffffff);
const COUNT = wholeNumber('lease time', 0, 0xffffffff);


export function parseLeasectl(text: string): Result<LeasectlStatus> {
  const lines = text.split('\n').map((line) => line.replace(/\r$/, ''));
  const first = lines.findIndex((line) => line.trim() !== '');
  const header = /^(\S+) \[(\w+)\]$/.exec((lines[first] ?? '').trim());
  if (first === -1 || header === null) {
    return err(`dhcp6leasectl: expected "<interface> [<state>]" on the first line, got '${shown((lines[first] ?? '').trim(), 80)}'`);
  }
  const iface = header[1] ?? '';
  const stateText = header[2] ?? '';
  const state = LEASE_STATES.find((s) => s === stateText);
  if (state === undefined) return err(`dhcp6leasectl:${first + 1}: unknown state '${stateText}'`);

  const prefixes: Ipv6Prefix[] = [];
  let leaseSeconds: number | null = null;
  let roundedSeconds: number | null = null;
  let inMapE = false;
  const mapE = new CompatMapEDomain();
  const containers: S46Container[] = [];

  for (let index = first + 1; index < lines.length; index++) {
    const line = (lines[index] ?? '').trim();
    if (line === '') continue;
    const problem = ((): string | null => {
      let m: RegExpExecArray | null;
      if ((m = /^IA_PD (\S+): (\S+)$/.exec(line)) !== null) {
        const ia = field(IA, m[1]);
        if (!ia.ok) return ia.error;
        const prefix = parseIpv6Prefix(m[2] ?? '');
        if (!prefix.ok) return `IA_PD prefix: ${prefix.error}`;
        prefixes.push(prefix.value);
        return null;
      }
      if (line.startsWith('IA_PD ')) return 'IA_PD: expected "IA_PD <n>: <ipv6>/<len>"';
      if ((m = /^lease-seconds: (\S+)$/.exec(line)) !== null) {
        const seconds = field(SECONDS, m[1]);
        if (!seconds.ok) return seconds.error;
        leaseSeconds = seconds.value;
        return null;
      }
      if (line.startsWith('lease-seconds:')) return 'lease-seconds: expected "lease-seconds: <n>"';
      if ((m = /^lease (\S+) (\S+)$/.exec(line)) !== null) {
        const count = field(COUNT, m[1]);
        if (!count.ok) return count.error;
        const unit = UNIT_SECONDS[m[2] ?? ''];
        if (unit === undefined) return `unknown lease time unit '${shown(m[2] ?? '')}'`;
        roundedSeconds = count.value * unit;
        return null;
      }
      if ((m = /^S46 (\S+): (\S+)$/.exec(line)) !== null) {
        const container = decodeS46Text('S46', m[1], m[2]);
        if (!container.ok) return container.error;
        containers.push(container.value);
        return null;
      }
      if (line.startsWith('S46 ')) return 'S46: expected "S46 <code>: <hex>"';
      if (line === 'MAP-E') {
        inMapE = true;
        return null;
      }
      if (!inMapE) return null;
      if ((m = /^BR: (\S+)$/.exec(line)) !== null) {
        const br = compatBr(m[1]);
        if (!br.ok) return br.error;
        return mapE.addBr(br.value);
      }
      if (line.startsWith('BR:')) return 'BR: expected "BR: <ipv6>"';
      if ((m = /^rule: flags (\S+) ea-len (\S+) ([^/\s]+)\/(\S+) ([^/\s]+)\/(\S+)$/.exec(line)) !== null) {
        const rule = compatRule(m[1], m[2], m[3], m[4], m[5], m[6]);
        if (!rule.ok) return `rule: ${rule.error}`;
        return mapE.addRule(rule.value);
      }
      if (line.startsWith('rule:')) return 'rule: expected "flags <n> ea-len <n> <ipv4>/<len> <ipv6>/<len>"';
      if ((m = /^portparams: offset (\S+) psid-len (\S+) psid (\S+)$/.exec(line)) !== null) {
        const portParams = compatPortParams(m[1], m[2], m[3]);
        if (!portParams.ok) return `portparams: ${portParams.error}`;
        return mapE.addPortParams(portParams.value);
      }
      if (line.startsWith('portparams:')) return 'portparams: expected "offset <n> psid-len <n> psid <n>"';
      return null;
    })();
    if (problem !== null) return err(`dhcp6leasectl:${index + 1}: ${problem}`);
  }

  const domain = mapE.finish();
  if (!domain.ok) return err(`dhcp6leasectl: MAP-E block: ${domain.error}`);
  const hasS46 = inMapE || containers.length > 0;
  const compat: S46Options = { mapE: inMapE && domain.value !== null ? [domain.value] : [], mapT: [], lw4o6: [] };
  const status: LeasectlStatus = {
    interface: iface,
    state,
    prefixes,
    leaseSeconds: leaseSeconds ?? roundedSeconds,
    ...(hasS46 ? { s46: withContainers(compat, containers) } : {}),
  };
  return ok(status);
}

export interface QueryOptions {
  /** Default 5000 ms: `-l` answers at once, so a slow tool is a stuck daemon. */
  readonly timeoutMs?: number;
  /** Monotonic clock in ms; default performance.now(). */
  readonly now?: () => number;
}

/** Whether a queried lease has run out at monotonic time `now`. */
export function leaseExpired(query: LeasectlQuery, now: number = performance.now()): boolean {
  return query.expiresAt !== null && now >= query.expiresAt;
}

/**
 * Runs `<toolPath> -l <iface>` (argv array, no shell) and parses its output.
 * The expiry deadline is set on the monotonic clock from the moment the
 * tool was started, so a slow answer shortens the lease rather than
 * stretching it.
 */
export async function queryLeasectl(toolPath: string, iface: string, opts: QueryOptions = {}): Promise<Result<LeasectlQuery>> {
  if (interfaceNameProblem(iface) !== null) return err(`dhcp6leasectl: '${shown(iface, 40)}' is not an interface name`);
  const now = opts.now ?? (() => performance.now());
  const startedAt = now();
  // Its own process group, killed whole on timeout; a failure to start is an answer too (src/apply/tool-process.ts).
  const result = await runTool(toolPath, ['-l', iface], {
    timeoutMs: opts.timeoutMs ?? 5000,
    maxOutput: 1 << 20,
    env: toolEnvironment(process.env.PATH),
  });
  if (result.timedOut) return err(`${toolPath} -l ${iface}: no answer within ${opts.timeoutMs ?? 5000} ms`);
  if (!result.ok) {
    const reason = (result.spawnError === null ? result.stderr.trim().split('\n')[0] : '') || result.failure || 'failed';
    return err(`${toolPath} -l ${iface}: ${reason}`);
  }
  const status = parseLeasectl(result.stdout);
  if (!status.ok) return status;
  if (status.value.interface !== iface) {
    return err(`${toolPath} -l ${iface}: answered for interface ${status.value.interface}`);
  }
  const seconds = status.value.leaseSeconds;
  return ok({ ...status.value, observedAt: startedAt, expiresAt: seconds === null ? null : startedAt + seconds * 1000 });
}
