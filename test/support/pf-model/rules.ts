/**
 * The values the pf model works on: rules as pfctl would load them (after
 * parse.y's defaults), packets as pf_test sees them, and the interfaces
 * `on`, `(if)` and `(if:network)` refer to.
 */

export type Af = 'inet' | 'inet6';

/** An address as an integer of its family (IPv4: 32 bits, IPv6: 128 bits). */
export interface Host {
  readonly af: Af;
  readonly value: bigint;
}

/** A rule's `from`/`to` address: pf_addr_wrap reduced to what maped and a typical pf.conf use. */
export type AddressSpec =
  | { readonly kind: 'any' }
  | { readonly kind: 'prefix'; readonly af: Af; readonly value: bigint; readonly length: number; readonly negate: boolean }
  /** `(if)` / `(if:0)`: the interface's addresses; `(if:network)`: its networks. Followed as they change. */
  | { readonly kind: 'dynamic'; readonly ifname: string; readonly network: boolean; readonly first: boolean; readonly negate: boolean };

/** `port n` or `port lo:hi` (inclusive, pf.conf(5) "port 6000:6010"). */
export interface PortSpec {
  readonly low: number;
  readonly high: number;
}

export interface NatToSpec {
  /** `(gif0)` and the like: the pool is the interface's first address of the rule's family. */
  readonly address: AddressSpec;
  /** Without `port`, parse.y fills in PF_NAT_PROXY_PORT_LOW:HIGH, 50001:65535 (pfctl.h). */
  readonly low: number;
  readonly high: number;
  /** The map-e-portset patch: offset / psid-len / psid. */
  readonly mapePortset: readonly [number, number, number] | null;
}

/**
 * `rdr-to host [port p[:q]]`, after parse.y 1.719 apply_redirspec: `port p`
 * keeps proxy_port[1] at 0, `port p:q` stores both, `port p:*` stores
 * p + (the rule's destination range − 1); no `port` leaves the port alone.
 */
export interface RdrToSpec {
  readonly address: AddressSpec;
  /** proxy_port[0], 0 without `port`. */
  readonly low: number;
  /** proxy_port[1], 0 for a single port. */
  readonly high: number;
}

export interface ModelRule {
  /** The line as written, for messages. */
  readonly text: string;
  /** "main" or the anchor's name. */
  readonly ruleset: string;
  readonly action: 'pass' | 'block' | 'match' | 'anchor';
  /** `anchor "name"`: the ruleset evaluated when this rule matches. */
  readonly anchor: string | null;
  readonly direction: 'in' | 'out' | null;
  readonly log: boolean;
  readonly quick: boolean;
  /** `on [!] if`: an interface or an interface group. */
  readonly on: { readonly name: string; readonly negate: boolean } | null;
  readonly af: Af | null;
  /** `proto x` or `proto { x y }`. */
  readonly protos: readonly string[] | null;
  readonly from: AddressSpec;
  readonly fromPort: PortSpec | null;
  readonly to: AddressSpec;
  readonly toPort: PortSpec | null;
  /** `user name`: the owner of the local socket (pf_socket_lookup); forwarded packets have none. */
  readonly user: string | null;
  /** `flags S/SA`: (packet flags & mask) === set. Pass rules default to S/SA (pf.conf(5)). */
  readonly flags: { readonly set: string; readonly mask: string } | null;
  readonly icmpType: string | null;
  /** As pfctl stores it: 1 .. UINT_MAX (src/openbsd/pf-probability.ts). */
  readonly probability: number | null;
  readonly maxMss: number | null;
  /** Pass rules keep state unless `no state`; match and block rules create none. */
  readonly keepState: boolean;
  readonly label: string | null;
  readonly tag: string | null;
  readonly tagged: string | null;
  readonly natTo: NatToSpec | null;
  readonly rdrTo: RdrToSpec | null;
}

/** The main ruleset, the anchors it can step into, and `set skip on`. */
export interface Ruleset {
  readonly main: readonly ModelRule[];
  readonly anchors: ReadonlyMap<string, readonly ModelRule[]>;
  /** Interfaces or groups pf does not filter (`set skip on lo`). */
  readonly skip: readonly string[];
}

export interface Interface {
  /** `address/prefixlen`, IPv4 and IPv6, first one first. */
  readonly addresses: readonly string[];
  /** Interface groups (`lo`, `egress`, `gif`, …). */
  readonly groups: readonly string[];
}

export type Interfaces = Readonly<Record<string, Interface>>;

export interface Packet {
  readonly dir: 'in' | 'out';
  readonly ifname: string;
  readonly af: Af;
  /** tcp, udp, icmp, icmp6, ipencap, … */
  readonly proto: string;
  readonly src: string;
  readonly dst: string;
  /** tcp/udp ports; for ICMP echo the query id travels in srcPort, as pf keys it. */
  readonly srcPort?: number;
  readonly dstPort?: number;
  /** TCP flags of the packet, e.g. "S" for a SYN; default "S". */
  readonly tcpFlags?: string;
  readonly icmpType?: string;
  /** Owner of the local socket that sent it; absent for forwarded packets. */
  readonly user?: string;
  /** A tag the packet already carries (m_pkthdr.pf.tag). */
  readonly tag?: string;
}
