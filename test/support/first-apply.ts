import { expect } from 'vitest';

/**
 * The commands of a first apply on a machine with nothing of maped's, in
 * the order of maped's plan (docs/architecture.md §3.6; some run side by
 * side, expectInApplyOrder) and as the fake
 * tools log them (tool name, then arguments): the tunnel source on em0
 * (unless it is the WAN's own address), gif0 created and configured with
 * mtu 1460, the default route at priority 7, the anchor loaded whole.
 */
export interface FirstApply {
  /** The tunnel's local end: the CE, lwB4 or B4 address, IPIP's `local`. */
  readonly source: string;
  /** BR, lwAFTR, AFTR or IPIP's `remote`. */
  readonly remote: string;
  /** The IPv4 address on gif0. */
  readonly ipv4: string;
  /** The gif address's peer and the default route's gateway; default 0.0.0.1 (DS-Lite: 192.0.0.1). */
  readonly peer?: string;
  /** The source is the WAN's own address (DS-Lite on SLAAC): maped adds no alias. */
  readonly onWan?: boolean;
}

export function firstApplyCommands(apply: FirstApply): string[] {
  const peer = apply.peer ?? '0.0.0.1';
  return [
    ...(apply.onWan === true ? [] : [`ifconfig em0 inet6 ${apply.source} prefixlen 128 alias`]),
    'ifconfig gif0 create',
    `ifconfig gif0 tunnel ${apply.source} ${apply.remote}`,
    'ifconfig gif0 -tunneldf',
    'ifconfig gif0 mtu 1460',
    `ifconfig gif0 inet ${apply.ipv4} ${peer} netmask 255.255.255.255`,
    'ifconfig gif0 up',
    `route -n add -inet default ${peer} -ifp gif0 -priority 7 -label maped`,
    'pfctl -o none -a maped -f -',
  ];
}

/**
 * `executed` (what the fake tools saw) is `planned` run as maped runs a plan:
 * the same commands, the gif and route steps in their order, the new alias
 * no later than the second of them and the anchor no earlier than the one
 * before their last (PlanStep.withNext in src/apply/plan.ts: the alias runs
 * beside the first gif step, the anchor beside the last gif or route step).
 */
export function expectInApplyOrder(executed: readonly string[], planned: readonly string[]): void {
  expect([...executed].sort()).toEqual([...planned].sort());
  const isAlias = (c: string): boolean => c.startsWith('ifconfig') && c.endsWith(' alias');
  const isAnchor = (c: string): boolean => c.startsWith('pfctl') && c.endsWith(' -f -');
  const chain = (calls: readonly string[]): string[] => calls.filter((c) => !isAlias(c) && !isAnchor(c));
  expect(chain(executed)).toEqual(chain(planned));
  const gifAndRoute = chain(planned);
  const alias = executed.findIndex(isAlias);
  if (alias !== -1 && gifAndRoute.length > 1) expect(alias).toBeLessThan(executed.indexOf(gifAndRoute[1]!));
  const anchor = executed.findIndex(isAnchor);
  if (anchor !== -1 && gifAndRoute.length > 1) expect(anchor).toBeGreaterThan(executed.indexOf(gifAndRoute.at(-2)!));
}
