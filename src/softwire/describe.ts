/** How each kind names its remote end, for people (dry run, logs, mapedctl). */
import { formatIpv4, formatIpv6 } from '../map/index.js';
import { portsText, type Softwire, type SoftwireKind } from './types.js';

export const REMOTE_LABEL: Readonly<Record<SoftwireKind, string>> = { 'map-e': 'BR', lw4o6: 'lwAFTR', ipip: 'remote', dslite: 'AFTR' };

/** `203.0.113.16 psid 3/8 (1008 ports) via lwAFTR 2001:db8:ffff::2 (aftr.example.net)` */
export function describeSoftwire(softwire: Softwire): string {
  const name = softwire.remoteName === null ? '' : ` (${softwire.remoteName})`;
  const v4 = softwire.ipv4.prefixLen === 32 ? formatIpv4(softwire.ipv4.address) : `${formatIpv4(softwire.ipv4.address)}/${softwire.ipv4.prefixLen}`;
  return `${v4}${portsText(softwire.nat)} via ${REMOTE_LABEL[softwire.kind]} ${formatIpv6(softwire.tunnel.remote)}${name}`;
}
