import { describe, expect, it } from 'vitest';
import { anchorRules, desiredState, ICMP_NOT_CONFINED, MAX_STOCK_RULES, resolveTunnelMtu, stockRuleCount, usablePortRanges } from '../../src/openbsd/index.js';
import { portSet } from '../../src/map/index.js';
import { deriveSet, desiredFor, PARAMETER_SETS } from './parameter-sets.js';

describe('tunnel MTU', () => {
  it('auto is the WAN MTU minus 40 (IPv6 header), and the MSS clamp 40 below that', () => {
    expect(resolveTunnelMtu('auto', 'em0', 1500)).toEqual({ ok: true, value: 1460 });
    expect(desiredFor(PARAMETER_SETS[0]!, 'kernel', { wanMtu: 1492 }).maxMss).toBe(1412);
  });

  it('refuses what gif(4) refuses, with one clear line', () => {
    expect(resolveTunnelMtu('auto', 'em0', 1300)).toEqual({
      ok: false,
      error: 'tunnel mtu 1260 (em0 mtu 1300 - 40) is outside the gif(4) range 1280-8192',
    });
    expect(resolveTunnelMtu(9000, 'em0', 1500)).toEqual({ ok: false, error: 'tunnel mtu 9000 is outside the gif(4) range 1280-8192' });
    expect(resolveTunnelMtu('auto', 'em0', null)).toEqual({ ok: false, error: 'tunnel mtu auto: the MTU of em0 is unknown' });
    expect(resolveTunnelMtu(1280, 'em0', null)).toEqual({ ok: true, value: 1280 });
    expect(resolveTunnelMtu(8192, 'em0', null)).toEqual({ ok: true, value: 8192 });
  });
});

describe('port-set mode', () => {
  it('psid-len 0 is unrestricted whatever pf can do', () => {
    expect(desiredFor(PARAMETER_SETS[2]!, 'unrestricted', { portset: 'kernel' }).portset).toBe('unrestricted');
  });

  it('stock mode says ICMP echo ids are not confined; kernel mode does not', () => {
    expect(desiredFor(PARAMETER_SETS[0]!, 'stock').warnings).toContain(ICMP_NOT_CONFINED);
    expect(desiredFor(PARAMETER_SETS[0]!, 'kernel').warnings).toEqual([]);
  });

  it('psid-offset 0 uses map-e-portset 0/k/psid in kernel mode (the pf patch never hands out port 0)', () => {
    const map = { ...deriveSet(PARAMETER_SETS[0]!), psidOffset: 0, psidLen: 8, psid: 0, portSets: [[0, 255]] as const };
    const r = desiredState({ ...base(), map, portset: 'kernel' });
    if (!r.ok) throw new Error(r.error);
    expect(r.value.portset).toBe('kernel');
    expect(r.value.warnings).toEqual([]);
    const nat = anchorRules(r.value).flatMap((rule) => (rule.natTo === null ? [] : [rule.natTo]));
    expect(nat.length).toBeGreaterThan(0);
    for (const natTo of nat) expect([natTo.mapePortset, natTo.ports]).toEqual([[0, 8, 0], null]);
  });

  it('a port set stock pf would need tens of thousands of rules for is refused before anything runs, naming the way out', () => {
    // RFC 7598 §4.5: psid-offset up to 15; with psid-len 1 that is 2^15 - 1 ranges.
    const wide = { ...deriveSet(PARAMETER_SETS[0]!), psidOffset: 15, psidLen: 1, psid: 0, portSets: portSet(15, 1, 0).ranges };
    const stock = desiredState({ ...base(), map: wide, portset: 'stock' });
    expect(stock).toEqual({
      ok: false,
      error:
        'pf portset stock: the port set has 32767 ranges (psid-offset 15); with 0 nat from prefixes the anchor would hold 65534 rules, ' +
        'more than the 16384 maped loads; pf portset kernel (the map-e-portset patch) needs one rule a source',
    });
    expect(desiredState({ ...base(), map: wide, portset: 'kernel' }).ok).toBe(true);
    // The rule count is the anchor's: psid-offset 12, 4095 ranges, with one nat from prefix.
    const twelve = { ...wide, psidOffset: 12, psidLen: 4, portSets: portSet(12, 4, 0).ranges };
    const loaded = desiredState({ ...base(), map: twelve, natFrom: [{ address: 0xc0a80100, length: 24 }], portset: 'stock' });
    if (!loaded.ok) throw new Error(loaded.error);
    expect(anchorRules(loaded.value).filter((r) => r.tag !== null || r.tagged !== null)).toHaveLength(stockRuleCount(4095, 1));
    expect(stockRuleCount(4095, 1)).toBeLessThanOrEqual(MAX_STOCK_RULES);
  });

  it('psid-offset 0 in stock mode: one port range, starting at 1 instead of 0', () => {
    const map = { ...deriveSet(PARAMETER_SETS[0]!), psidOffset: 0, psidLen: 8, psid: 0, portSets: [[0, 255]] as const };
    const r = desiredState({ ...base(), map, portset: 'stock' });
    if (!r.ok) throw new Error(r.error);
    expect(r.value.portset).toBe('stock');
    expect(r.value.portSets).toEqual([[1, 255]]);
    const ports = anchorRules(r.value).flatMap((rule) => (rule.natTo?.ports ? [rule.natTo.ports] : []));
    // natFrom is empty here: the router's own traffic is the one source.
    expect(ports).toEqual([[1, 255]]);
  });

  it('no NAT rule ever uses port 0 or pf\'s default 50001-65535 range in stock mode', () => {
    for (const set of PARAMETER_SETS) {
      for (const rule of anchorRules(desiredFor(set, 'stock'))) {
        if (rule.natTo === null) continue;
        expect(rule.natTo.ports).not.toBeNull();
        expect(rule.natTo.ports![0]).toBeGreaterThanOrEqual(1);
      }
    }
    expect(usablePortRanges([[0, 0], [0, 3]])).toEqual([[1, 3]]);
  });
});

describe('names', () => {
  it('refuses names that are not interfaces or plain anchor names', () => {
    expect(desiredState({ ...base(), tunnel: 'tun0' })).toEqual({ ok: false, error: 'tunnel: "tun0" is not a gif(4) interface (expected gif0, gif1, …)' });
    expect(desiredState({ ...base(), anchor: 'maped; rm' })).toEqual({
      ok: false,
      error: 'pf anchor: invalid anchor name "maped; rm" (letters, digits, "_", ".", "-"; "/" between nested names; no name may start with "_")',
    });
  });
});

describe('default route', () => {
  it('is at priority 7 through the placeholder peer unless told otherwise', () => {
    const built = desiredState(base());
    expect(built.ok && [built.value.routePriority, built.value.ipv4Peer]).toEqual([7, 1]);
    const told = desiredState({ ...base(), routePriority: 20, ipv4Peer: 0x0afffffe });
    expect(told.ok && [told.value.routePriority, told.value.ipv4Peer]).toEqual([20, 0x0afffffe]);
  });

  it('refuses a priority route(8) refuses, and a peer that is the tunnel address itself', () => {
    expect(desiredState({ ...base(), routePriority: 1 })).toEqual({ ok: false, error: 'route priority 1 is outside 2-63' });
    expect(desiredState({ ...base(), routePriority: 64 })).toEqual({ ok: false, error: 'route priority 64 is outside 2-63' });
    const own = base().map.ipv4;
    expect(desiredState({ ...base(), ipv4Peer: own })).toEqual({ ok: false, error: "tunnel peer 87.202.58.210 is the tunnel's own IPv4 address" });
  });
});

function base() {
  return {
    wan: 'em0',
    tunnel: 'gif0',
    mtu: 'auto' as const,
    wanMtu: 1500,
    map: deriveSet(PARAMETER_SETS[0]!),
    br: 1n,
    natFrom: [],
    anchor: 'maped',
    portset: 'kernel' as const,
  };
}
