/**
 * The parsed maped.conf(5): what the daemon codes against (docs/architecture.md §3.7).
 * Every field is filled in: defaults are applied by the parser, so the daemon
 * never has to know which settings the file left out.
 */
import type { ForwardProto, ForwardSpec } from '../openbsd/forwards.js';
import type { Ipv4Prefix, Ipv6Prefix } from '../map/index.js';
import type { SoftwireKind } from '../softwire/index.js';

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

/**
 * An lwAFTR or AFTR: an IPv6 address, or a DNS name maped resolves (AAAA).
 * `dns`: the server to ask instead of resolv.conf's, `ADDR` or `[ADDR]:PORT`.
 */
export interface AftrSpec {
  aftr: bigint | string;
  dns: string | null;
}

/** An `lw4o6 { … }` block (RFC 7596): everything given, nothing derived. */
export interface StaticLw4o6 extends AftrSpec {
  ipv4: number;
  psidOffset: number;
  /** 0: the address is not shared. */
  psidLen: number;
  psid: number;
  /** null: the end-user prefix. */
  bindPrefix: Ipv6Prefix | null;
}

/** An `ipip { … }` block (RFC 2473 with a fixed IPv4 address or prefix). */
export interface StaticIpip {
  local: bigint;
  remote: bigint;
  ipv4: Ipv4Prefix;
}

/** A `dslite { … }` block (RFC 6333 B4). */
export type StaticDslite = AftrSpec;

/** `softwire`: a kind, or `auto` (what the lease carries, else the one static block). */
export type SoftwireChoice = 'auto' | SoftwireKind;

/**
 * `provision hb46pp { … }`: ask an HB46PP provisioning server for the rules
 * (v6mig-prov 1.1). Unset fields are null; the daemon fills in the defaults
 * that depend on the system (vendorid from the WAN's lladdr).
 */
export interface ProvisionConfig {
  url: string | null;
  /** `ADDR` or `[ADDR]:PORT`; null: resolv.conf's servers. */
  dns: string | null;
  vendorid: string | null;
  product: string;
  user: string | null;
  password: string | null;
  serverName: string | null;
  caFile: string | null;
}

/** Where the end-user prefix comes from: the dhcp6leased lease, or the WAN's SLAAC /64. */
export type PrefixSource = 'lease' | 'autoconf';
export type PortsetMode = 'auto' | 'kernel' | 'stock';
/** `forward`: connections from the Internet to ports of the set, sent on to a LAN host. */
export type Forward = ForwardSpec;
export type { ForwardProto };
export type InterfaceIdMode = 'rfc7597' | 'draft03';
export type OnExit = 'keep' | 'teardown';
export type ToolName = 'ifconfig' | 'route' | 'pfctl' | 'dhcp6leasectl' | 'sysctl' | 'logger';

export interface MapedConfig {
  wan: string;
  leaseFile: string;
  prefix: PrefixSource;
  /**
   * `peer`: the gif point-to-point peer and default-route gateway (IPv4 as a
   * number), null for the softwire kind's own (0.0.0.1, DS-Lite 192.0.0.1);
   * `routePriority`: the default route's route(8) -priority.
   */
  tunnel: { interface: string; mtu: number | 'auto'; peer: number | null; routePriority: number };
  /** LAN sources translated; empty means only the router's own traffic. */
  natFrom: Ipv4Prefix[];
  pf: { anchor: string; portset: PortsetMode };
  interfaceId: InterfaceIdMode;
  softwire: SoftwireChoice;
  rules: StaticRule[];
  lw4o6: StaticLw4o6 | null;
  ipip: StaticIpip | null;
  dslite: StaticDslite | null;
  provision: ProvisionConfig | null;
  onExit: OnExit;
  /** In maped.conf order; no two take the same port of the same protocol. */
  forwards: Forward[];
  /** Write `<state-dir>/maped.prom` and sample port usage once a minute. */
  metrics: boolean;
  tools: Record<ToolName, string>;
  stateDir: string;
  /** Whom the unprivileged child runs as when maped starts as root (docs/architecture.md §5). */
  user: string;
}
