/**
 * What the Softwire46 options of RFC 7598 say, as typed values.
 * Prefixes are masked to their length (RFC 7598 §4.1: bits beyond the prefix
 * length "MUST be initialized to zero by the sender and ignored by the
 * receiver").
 */
import type { Ipv4Prefix, Ipv6Prefix } from '../map/index.js';

/** S46_PORTPARAMS (RFC 7598 §4.5). */
export interface S46PortParams {
  /** a: 0–15. */
  readonly psidOffset: number;
  /** k: 0–16; 0 means "ignore the PSID field". */
  readonly psidLen: number;
  /** Right-aligned: the first k bits of the wire field, shifted down. 0 when k is 0. */
  readonly psid: number;
}

/** S46_RULE (RFC 7598 §4.1). */
export interface S46Rule {
  /** The F flag, least significant bit of the flags octet: the rule is also a Forwarding Mapping Rule. */
  readonly fmr: boolean;
  /** 0–48. */
  readonly eaLen: number;
  readonly ipv4Prefix: Ipv4Prefix;
  readonly ipv6Prefix: Ipv6Prefix;
  readonly portParams: S46PortParams | null;
}

/** OPTION_S46_CONT_MAPE (RFC 7598 §5.1): ≥ 1 rule, ≥ 1 BR. */
export interface MapEDomain {
  readonly rules: readonly S46Rule[];
  /** In the order received; duplicates kept as sent. */
  readonly br: readonly bigint[];
}

/** OPTION_S46_CONT_MAPT (RFC 7598 §5.2): ≥ 1 rule, exactly one DMR. */
export interface MapTDomain {
  readonly rules: readonly S46Rule[];
  readonly dmr: Ipv6Prefix;
}

/** S46_V4V6BIND (RFC 7598 §4.4). */
export interface Lw4o6Binding {
  readonly ipv4: number;
  readonly bindPrefix: Ipv6Prefix;
  readonly portParams: S46PortParams | null;
}

/** OPTION_S46_CONT_LW (RFC 7598 §5.3): ≥ 1 BR, at most one binding. */
export interface Lw4o6Domain {
  readonly br: readonly bigint[];
  readonly bindings: readonly Lw4o6Binding[];
}

export interface S46Options {
  readonly mapE: readonly MapEDomain[];
  readonly mapT: readonly MapTDomain[];
  readonly lw4o6: readonly Lw4o6Domain[];
}

/** One decoded container. */
export type S46Container =
  | { readonly kind: 'mapE'; readonly domain: MapEDomain }
  | { readonly kind: 'mapT'; readonly domain: MapTDomain }
  | { readonly kind: 'lw4o6'; readonly domain: Lw4o6Domain };

export const NO_S46_OPTIONS: S46Options = { mapE: [], mapT: [], lw4o6: [] };

/** Appends containers (in order) to a set of options. */
export function withContainers(options: S46Options, containers: readonly S46Container[]): S46Options {
  const mapE = [...options.mapE];
  const mapT = [...options.mapT];
  const lw4o6 = [...options.lw4o6];
  for (const c of containers) {
    if (c.kind === 'mapE') mapE.push(c.domain);
    else if (c.kind === 'mapT') mapT.push(c.domain);
    else lw4o6.push(c.domain);
  }
  return { mapE, mapT, lw4o6 };
}
