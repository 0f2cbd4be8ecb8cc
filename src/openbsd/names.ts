/**
 * The names and bounds of everything maped hands to OpenBSD, in one place:
 * the config schema, the desired state, the ownership record, the
 * dhcp6leasectl query and the control protocol all check with these, so a
 * value one of them accepts is never refused by another (an anchor name the
 * config allowed but the driver refused left maped degraded forever).
 *
 * Each check returns null when the value is fine, or why it is not, as a
 * phrase the caller prefixes with the place (`wan: …`, `pf anchor: …`).
 * Pure: no I/O.
 */
import { escapeControls } from '../map/index.js';

/** sys/net/if.h: IFNAMSIZ 16, the terminating NUL included. */
export const IFNAMSIZ = 16;
/** sys/net/pfvar.h: PF_ANCHOR_NAME_SIZE 64, the terminating NUL included. */
export const PF_ANCHOR_NAME_SIZE = 64;
/**
 * sys/net/route.h: RTLABEL_LEN 32. The label names both the default route
 * (`route -label`) and the pf rules (PF_RULE_LABEL_SIZE 64), so the route's
 * shorter limit is the one that binds.
 */
export const RTLABEL_LEN = 32;
/** sys/net/if_gif.c 1.141: GIF_MTU_MIN 1280, GIF_MTU_MAX 8192 (lines 72-73); SIOCSIFMTU fails with EINVAL outside (lines 501-507). */
export const GIF_MTU_MIN = 1280;
export const GIF_MTU_MAX = 8192;
/**
 * route(8) `-priority`: sys/net/route.h RTP_MAX 63. route_output
 * (sys/net/rtsock.c) refuses a priority above it and RTP_LOCAL 1 (the
 * kernel's own local routes) with EINVAL; lower numbers win.
 */
export const RTP_LOCAL = 1;
export const RTP_MAX = 63;
/**
 * sys/net/route.h RTP_STATIC 8: what `route add` without `-priority` gets on an
 * interface of if_priority 0 (sys/net/route.c 1.450 rtrequest, RTM_ADD:
 * `prio = ifp->if_priority + RTP_STATIC`), as static and dhcpleased(8)
 * defaults have.
 */
export const RTP_STATIC = 8;
/** RFC 7598 §4.5: the PSID offset a DHCPv6 option or maped.conf may give is at most 15 … */
export const PSID_OFFSET_MAX = 15;
/** … and offset + PSID length fit the 16 bits of a port (RFC 7597 §5.1). */
export const PORT_BITS = 16;

/** A driver name and a unit number, as ifconfig(8) lists them (em0, vlan100, pppoe0). */
const INTERFACE = /^[a-z]+[0-9]+$/;
/**
 * One component of an anchor path. pfctl(8) refuses to modify an anchor
 * whose path starts with "_" or has a component starting with "_"
 * (sbin/pfctl/pfctl.c 1.397 main, lines 2759-2762: "anchor names beginning
 * with '_' cannot be modified from the command line"); "/" nests anchors
 * (pf.conf(5) ANCHORS).
 */
const ANCHOR_PATH = /^[A-Za-z0-9][A-Za-z0-9_.-]*(\/[A-Za-z0-9][A-Za-z0-9_.-]*)*$/;
/** A label goes into argv and into pf.conf text: a plain word. */
const LABEL = /^[A-Za-z0-9_][A-Za-z0-9_.-]*$/;

export function interfaceNameProblem(name: string): string | null {
  if (!INTERFACE.test(name)) return `invalid interface name "${printableName(name)}" (expected a driver name and unit, such as em0)`;
  if (name.length > IFNAMSIZ - 1) return `interface name "${printableName(name)}" longer than ${IFNAMSIZ - 1} characters`;
  return null;
}

export function gifNameProblem(name: string): string | null {
  const problem = interfaceNameProblem(name);
  if (problem !== null) return problem;
  return /^gif[0-9]+$/.test(name) ? null : `"${printableName(name)}" is not a gif(4) interface (expected gif0, gif1, …)`;
}

export function anchorNameProblem(name: string): string | null {
  if (name === '') return 'empty anchor name';
  if (name.length > PF_ANCHOR_NAME_SIZE - 1) return `name longer than ${PF_ANCHOR_NAME_SIZE - 1} characters`;
  if (!ANCHOR_PATH.test(name)) {
    return `invalid anchor name "${printableName(name)}" (letters, digits, "_", ".", "-"; "/" between nested names; no name may start with "_")`;
  }
  return null;
}

export function labelProblem(label: string): string | null {
  if (!LABEL.test(label)) return `invalid label "${printableName(label)}" (letters, digits, "_", "." and "-")`;
  if (label.length > RTLABEL_LEN - 1) return `label "${printableName(label)}" longer than ${RTLABEL_LEN - 1} characters`;
  return null;
}

export function mtuProblem(mtu: number): string | null {
  if (!Number.isInteger(mtu) || mtu < GIF_MTU_MIN || mtu > GIF_MTU_MAX) return `mtu ${mtu} is outside the gif(4) range ${GIF_MTU_MIN}-${GIF_MTU_MAX}`;
  return null;
}

export function routePriorityProblem(priority: number): string | null {
  if (!Number.isInteger(priority) || priority <= RTP_LOCAL || priority > RTP_MAX) return `route priority ${priority} is outside ${RTP_LOCAL + 1}-${RTP_MAX}`;
  return null;
}

/**
 * The port parameters of a derived mapping: offset a, PSID length k, PSID
 * (RFC 7597 §5.1). Only a + k ≤ 16 binds here: a derivation without a PSID
 * may carry a = 16 (src/map/derive.ts).
 */
export function psidProblem(psidOffset: number, psidLen: number, psid: number): string | null {
  const whole = (n: number): boolean => Number.isInteger(n) && n >= 0;
  if (!whole(psidOffset) || !whole(psidLen) || psidOffset + psidLen > PORT_BITS) return `psid offset ${psidOffset} + psid length ${psidLen} exceed ${PORT_BITS} bits`;
  if (!whole(psid) || psid >= 2 ** psidLen) return `psid ${psid} does not fit psid length ${psidLen}`;
  return null;
}

/**
 * A name or argument quoted in a message (here and in command-allowlist.ts):
 * control characters made visible (src/map/shown-text.ts), then not more
 * than 80 characters of the result.
 */
export function printableName(text: string): string {
  const visible = escapeControls(text);
  return visible.length > 80 ? `${visible.slice(0, 80)}…` : visible;
}
