/**
 * Which /128s on the WAN maped may take as its own when its ownership
 * record was lost (docs/architecture.md §3.6): the MAP CE addresses of the
 * rules it knows (RFC 7597 §5.2, §6: the address's EA bits give its
 * interface identifier), whatever end-user prefix they were derived for,
 * and the addresses the softwires it knows add, of whichever kind, under
 * the prefix delegated now or an earlier one (addedAddressTest in
 * src/softwire/added-address.ts). Pure.
 */
import type { RuleView } from '../control/protocol.js';
import { isMapCeAddress, parseIpv4Prefix, parseIpv6Prefix, type ExplicitPortParams, type MapRule } from '../map/index.js';
import { addedAddressTest, type AddressTest, type Softwire } from '../softwire/index.js';

export function ownAddressTest(rules: readonly RuleView[], softwires: readonly Softwire[] = []): AddressTest {
  const parsed: { rule: MapRule; ports: ExplicitPortParams | null }[] = [];
  for (const view of rules) {
    const v6 = parseIpv6Prefix(view.ipv6Prefix);
    const v4 = parseIpv4Prefix(view.ipv4Prefix);
    // Views are made from parsed rules; one that does not read back recognises nothing.
    if (!v6.ok || !v4.ok) continue;
    const rule: MapRule = { ipv6Prefix: v6.value, ipv4Prefix: v4.value, eaLen: view.eaLen, psidOffset: view.psidOffset };
    parsed.push({ rule, ports: view.psidLen === null ? null : { psidLen: view.psidLen, psid: view.psid } });
  }
  const added = softwires.map(addedAddressTest);
  return (address) => added.some((test) => test(address)) || parsed.some(({ rule, ports }) => isMapCeAddress(rule, address, ports));
}
