/**
 * The /128 a softwire adds to the WAN is its tunnel source
 * (docs/architecture.md §3.6). With its ownership record lost, maped adopts
 * the /128s it finds there that a softwire it knows would add, under the
 * prefix delegated now or an earlier one, so that the next change or
 * teardown removes them. How a kind makes its source from a prefix is that
 * kind's module's knowledge; this table is the one place that asks by kind.
 */
import { dsliteSourcesElsewhere } from './dslite.js';
import { lw4o6SourcesElsewhere } from './lw4o6.js';
import { NO_ADDRESS, type AddressTest, type Softwire, type SoftwireKind } from './types.js';

/** The sources the same parameters give under another delegated prefix. */
const ELSEWHERE: Readonly<Record<SoftwireKind, (softwire: Softwire) => AddressTest>> = {
  // Under another prefix a MAP CE address carries other EA bits, so another IPv4
  // address or PSID: the MAP rules maped knows recognise those (isMapCeAddress in
  // src/map/derive.ts, src/daemon/own-addresses.ts).
  'map-e': () => NO_ADDRESS,
  lw4o6: lw4o6SourcesElsewhere,
  // `local` is given whole (maped.conf, HB46PP), not made from a prefix.
  ipip: () => NO_ADDRESS,
  dslite: () => dsliteSourcesElsewhere,
};

export function addedAddressTest(softwire: Softwire): AddressTest {
  // The WAN's own address (DS-Lite on SLAAC) is never added, so never adopted: a teardown would remove it.
  if (softwire.tunnel.onWan === true) return NO_ADDRESS;
  const elsewhere = ELSEWHERE[softwire.kind](softwire);
  return (address) => address === softwire.tunnel.source || elsewhere(address);
}
