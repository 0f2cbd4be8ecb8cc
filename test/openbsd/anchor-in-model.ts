/**
 * The anchor maped renders for a desired state, inside a main ruleset (by
 * default the OpenBSD 7.8 pf.conf with an admin's block rule before `anchor
 * "maped"`), and the interfaces of the CE it runs on: what the pf model
 * tests (test/openbsd/pf-anchor-model.test.ts, pf-forward-model.test.ts) evaluate.
 */
import { formatIpv4, formatIpv6 } from '../../src/map/index.js';
import { renderAnchor, type DesiredState } from '../../src/openbsd/index.js';
import { adminPfConf, parseRuleset, type Interfaces, type Packet } from '../support/pf-model/index.js';

/** lo0, the WAN em0 with the CE /128, the LAN em1 with two networks, gif0 with the softwire's IPv4 address. */
export function interfacesFor(desired: DesiredState): Interfaces {
  return {
    lo0: { addresses: ['127.0.0.1/8'], groups: ['lo'] },
    em0: { addresses: [`${formatIpv6(desired.ceIPv6)}/128`], groups: ['egress'] },
    em1: { addresses: ['192.168.1.1/24', '192.168.2.1/24'], groups: [] },
    gif0: { addresses: [`${formatIpv4(desired.ipv4)}/32`], groups: ['gif', 'egress'] },
  };
}

export function setup(desired: DesiredState, conf = adminPfConf()) {
  return { ruleset: parseRuleset(conf, { maped: renderAnchor(desired) }), env: { interfaces: interfacesFor(desired) } };
}

/** A TCP SYN from `src` out of the tunnel to 198.51.100.7:443. */
export const tcpOut = (src: string, extra: Partial<Packet> = {}): Packet => ({
  dir: 'out',
  ifname: 'gif0',
  af: 'inet',
  proto: 'tcp',
  src,
  dst: '198.51.100.7',
  srcPort: 40000,
  dstPort: 443,
  ...extra,
});
