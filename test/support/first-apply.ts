/**
 * The commands of a first apply on a machine with nothing of maped's, in
 * the order maped runs them (docs/architecture.md §3.6) and as the fake
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
