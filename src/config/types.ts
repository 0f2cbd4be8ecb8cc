/**
 * The parsed maped.conf(5): what the daemon codes against (docs/architecture.md §3.7).
 * Every field is filled in: defaults are applied by the parser, so the daemon
 * never has to know which settings the file left out.
 */
import type { Ipv4Prefix, Ipv6Prefix } from '../map/index.js';

/** A `rule { … }` block: a MAP rule known without a lease (only the prefix comes from dhcp6leased). */
export interface StaticRule {
  ipv6Prefix: Ipv6Prefix;
  ipv4Prefix: Ipv4Prefix;
  eaLen: number;
  psidOffset: number;
  /** Explicit PSID length (S46_PORTPARAMS equivalent); null: taken from the EA bits. */
  psidLen: number | null;
  /** Explicit PSID, right-aligned; only with psidLen. */
  psid: number | null;
  /** Border relay; a static rule without one cannot be used (maped.conf(5)). */
  br: bigint | null;
}

export type PortsetMode = 'auto' | 'kernel' | 'stock';
export type InterfaceIdMode = 'rfc7597' | 'draft03';
export type OnExit = 'keep' | 'teardown';
export type ToolName = 'ifconfig' | 'route' | 'pfctl' | 'dhcp6leasectl';

export interface MapedConfig {
  wan: string;
  leaseFile: string;
  tunnel: { interface: string; mtu: number | 'auto' };
  /** LAN sources translated; empty means only the router's own traffic. */
  natFrom: Ipv4Prefix[];
  pf: { anchor: string; portset: PortsetMode };
  interfaceId: InterfaceIdMode;
  rules: StaticRule[];
  onExit: OnExit;
  tools: Record<ToolName, string>;
  stateDir: string;
}
