/**
 * The states the privileged parent lets its child kill
 * (src/daemon/state-kill-guard.ts): those of maped's tunnel in the parent's
 * own last `pfctl -ss -vv`, in the layout of pf_print_state.c print_state.
 */
import { describe, expect, it } from 'vitest';
import { StateKillGuard } from '../../src/daemon/state-kill-guard.js';

const IFCONFIG = [
  'em0: flags=8843<UP,BROADCAST,RUNNING,SIMPLEX,MULTICAST> mtu 1500',
  '\tinet6 2001:db8:12:3400:0:c000:212:34 prefixlen 128',
  'gif0: flags=8051<UP,POINTOPOINT,RUNNING,MULTICAST> mtu 1460',
  '\ttunnel: inet6 2001:db8:12:3400:0:c000:212:34 --> 2001:db8:ffff::1 ttl 64 nodf ecn',
  '\tinet 192.0.2.18 --> 0.0.0.1 netmask 0xffffffff',
  '',
].join('\n');

const state = (id: string, line: string): string => `${line}\n   age 00:01:02, expires in 23:59:58, 10:12 pkts, 1234:5678 bytes, rule 3\n   id: ${id} creatorid: 6fa5c2d1\n`;

const LISTING = [
  state('5f3a1b2c00000001', 'all tcp 192.0.2.18:1232 (192.168.1.23:40000) -> 198.51.100.7:443       ESTABLISHED:ESTABLISHED'),
  state('5f3a1b2c00000002', 'all tcp 192.0.2.34:1232 (192.168.1.23:40001) -> 198.51.100.7:443       ESTABLISHED:ESTABLISHED'),
  state('5f3a1b2c00000003', 'all ipencap 2001:db8:12:3400:0:c000:212:34 -> 2001:db8:ffff::1       MULTIPLE:MULTIPLE'),
  // The admin's SSH session to the router, and a LAN state without NAT: never maped's.
  state('5f3a1b2c00000004', 'all tcp 192.168.1.1:22 <- 192.168.1.23:50000       ESTABLISHED:ESTABLISHED'),
  state('5f3a1b2c00000005', 'all ipencap 2001:db8:99::1 -> 2001:db8:ffff::1       MULTIPLE:MULTIPLE'),
  state('5f3a1b2c00000006', 'all tcp 192.0.2.66:1300 (192.168.1.24:40000) -> 198.51.100.7:443       ESTABLISHED:ESTABLISHED'),
].join('');

describe('StateKillGuard', () => {
  it('lets the child kill only the tunnel\'s states of the last listing: on its IPv4 address, between its ends', () => {
    const guard = new StateKillGuard('gif0');
    guard.sawInterfaces(IFCONFIG);
    guard.sawListing(LISTING);
    expect(guard.refusal('5f3a1b2c00000001')).toBeNull();
    expect(guard.refusal('5f3a1b2c00000003')).toBeNull();
    for (const id of ['5f3a1b2c00000002', '5f3a1b2c00000004', '5f3a1b2c00000005', '5f3a1b2c00000006']) {
      expect(guard.refusal(id)).toBe(`state ${id} is not a state of maped's tunnel in the parent's last pfctl -ss -vv`);
    }
    // An id the listing never held.
    expect(guard.refusal('00000000000000ff')).not.toBeNull();
  });

  it('knows an address it set on the tunnel itself, spelled as the command spelled it, and forgets nothing it saw before a change', () => {
    const guard = new StateKillGuard('gif0');
    guard.sawInterfaces(IFCONFIG);
    guard.sawIfconfig(['gif0', 'inet', '192.0.2.66', '0.0.0.1', 'netmask', '255.255.255.255']);
    guard.sawIfconfig(['em0', 'inet6', '2001:db8:99::1', 'prefixlen', '128', 'alias']);
    guard.sawIfconfig(['gif0', 'tunnel', '2001:db8:0099:0000::1', '2001:db8:ffff:0::1']);
    guard.sawListing(LISTING);
    expect(guard.refusal('5f3a1b2c00000001')).toBeNull();
    expect(guard.refusal('5f3a1b2c00000006')).toBeNull();
    expect(guard.refusal('5f3a1b2c00000005')).toBeNull();
    expect(guard.refusal('5f3a1b2c00000004')).not.toBeNull();
  });

  it('takes nothing from another interface, nor before any listing', () => {
    const guard = new StateKillGuard('gif1');
    guard.sawInterfaces(IFCONFIG);
    expect(guard.refusal('5f3a1b2c00000001')).not.toBeNull();
    guard.sawListing(LISTING);
    expect(guard.refusal('5f3a1b2c00000001')).not.toBeNull();
  });
});
