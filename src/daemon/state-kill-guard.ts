/**
 * Which pf states the privileged parent kills for its child
 * (docs/architecture.md §5). `pfctl -k id -k <id>` kills any state of the
 * router, an admin's SSH session as much as a stale NAT state; maped only
 * ever kills the states its own change left stale (src/openbsd/pf-states.ts
 * staleStates): IPv4 states translated to an address of its tunnel, and the
 * outer IPv4-in-IPv6 states between the tunnel's ends. So the parent lets
 * the child kill a state only if the parent's own last `pfctl -ss -vv`
 * listed it, and it is one of those: on an IPv4 address the parent has seen
 * on the tunnel (in `ifconfig -a`, or set with `ifconfig <tunnel> inet`), or
 * between two ends it has seen the tunnel have.
 */
import { formatIpv4, formatIpv6, parseIpv4, parseIpv6 } from '../map/index.js';
import { parseIfconfigAll, parseStatesWithIds, type KillableState } from '../openbsd/index.js';

/** Addresses remembered of the tunnel: the current ones and a few before (a change, then its kills). */
const REMEMBERED = 16;

/** A set that forgets its oldest member past `limit`. */
class RecentSet {
  private readonly members: string[] = [];
  constructor(private readonly limit: number) {}
  add(value: string): void {
    const at = this.members.indexOf(value);
    if (at !== -1) this.members.splice(at, 1);
    this.members.push(value);
    if (this.members.length > this.limit) this.members.shift();
  }
  has(value: string): boolean {
    return this.members.includes(value);
  }
}

export class StateKillGuard {
  private readonly ipv4 = new RecentSet(REMEMBERED);
  private readonly ends = new RecentSet(REMEMBERED);
  /** The ids of the last listing that are maped's to kill. */
  private killable = new Set<string>();

  constructor(private tunnel: string) {}

  /** A new configuration may name another tunnel; what was seen of the old one stays known. */
  setTunnel(tunnel: string): void {
    this.tunnel = tunnel;
  }

  /** The output of an `ifconfig -a` the parent ran. */
  sawInterfaces(stdout: string): void {
    const parsed = parseIfconfigAll(stdout, [this.tunnel]);
    const status = parsed.ok ? parsed.value.get(this.tunnel) : null;
    if (status === null || status === undefined) return;
    for (const inet of status.inet) this.ipv4.add(formatIpv4(inet.address));
    if (status.tunnel !== null) this.ends.add(`${formatIpv6(status.tunnel.source)} ${formatIpv6(status.tunnel.destination)}`);
  }

  /** An ifconfig command the parent ran successfully (its arguments, the tool's path left out). */
  sawIfconfig(args: readonly string[]): void {
    const [iface, verb, first, second] = args;
    if (iface !== this.tunnel || first === undefined || second === undefined) return;
    // As pfctl prints them (RFC 5952 for IPv6), whatever the spelling of the command.
    if (verb === 'inet' && second !== 'delete') {
      const address = parseIpv4(first);
      if (address.ok) this.ipv4.add(formatIpv4(address.value));
    }
    if (verb === 'tunnel') {
      const [source, destination] = [parseIpv6(first), parseIpv6(second)];
      if (source.ok && destination.ok) this.ends.add(`${formatIpv6(source.value)} ${formatIpv6(destination.value)}`);
    }
  }

  /** The output of a `pfctl -ss -vv` the parent ran: the states it lists that maped may kill. */
  sawListing(stdout: string): void {
    this.killable = new Set(parseStatesWithIds(stdout).filter((s) => this.ours(s)).map((s) => s.id));
  }

  /** Null when the child may kill state `id`; else why not. */
  refusal(id: string): string | null {
    return this.killable.has(id) ? null : `state ${id} is not a state of maped's tunnel in the parent's last pfctl -ss -vv`;
  }

  private ours(state: KillableState): boolean {
    if (state.proto === 'ipencap') {
      const [a, b] = [state.local.address, state.remote.address];
      return this.ends.has(`${a} ${b}`) || this.ends.has(`${b} ${a}`);
    }
    return this.ipv4.has(state.local.address) || (state.localOther !== null && this.ipv4.has(state.localOther.address));
  }
}
