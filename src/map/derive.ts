/**
 * From a Basic Mapping Rule and the End-user IPv6 prefix to the CE's IPv4
 * address or prefix, PSID and port set, and MAP IPv6 address (RFC 7597 §5.2).
 *
 *   End-user prefix: | rule IPv6 prefix (n) | EA bits (o) | subnet ID | ...
 *   EA bits:         | IPv4 suffix (p)      | PSID (q)    |
 *
 *   o + r < 32  an IPv4 prefix of length r + o, p = o, q = 0
 *   o + r = 32  a full IPv4 address,             p = o, q = 0
 *   o + r > 32  a shared IPv4 address,           p = 32 - r, q = o - p
 */
import { ipv6Mask, ipv6PrefixCovers, type Ipv6Prefix } from './address.js';
import { ceIPv6Address, interfaceId, subnet64 } from './interface-id.js';
import { portSet } from './port-set.js';
import { err, ok, type Result } from './result.js';
import { MAX_EA_LEN, type ExplicitPortParams, type InterfaceIdFormat, type MapParams, type MapRule } from './rule.js';

export interface DeriveInput {
  readonly rule: MapRule;
  readonly endUserPrefix: Ipv6Prefix;
  /** From S46_PORTPARAMS or the config; null when none were given. */
  readonly portParams: ExplicitPortParams | null;
  readonly interfaceId: InterfaceIdFormat;
}

const isWhole = (n: number, min: number, max: number): boolean => Number.isInteger(n) && n >= min && n <= max;

/** Everything {@link deriveMap} gives except the port ranges, which callers that only print them can stream. */
export type MapAddressing = Omit<MapParams, 'portSets' | 'portCount'>;

export function deriveMap(input: DeriveInput): Result<MapParams> {
  const addressing = deriveAddressing(input);
  if (!addressing.ok) return addressing;
  const ports = portSet(addressing.value.psidOffset, addressing.value.psidLen, addressing.value.psid);
  return ok({ ...addressing.value, portSets: ports.ranges, portCount: ports.count });
}

export function deriveAddressing(input: DeriveInput): Result<MapAddressing> {
  const { rule, endUserPrefix } = input;
  const n = rule.ipv6Prefix.length;
  const r = rule.ipv4Prefix.length;
  const o = rule.eaLen;
  const a = rule.psidOffset;
  const warnings: string[] = [];

  if (!isWhole(o, 0, MAX_EA_LEN)) return err('ea-len out of range');
  // RFC 7598 §4.5 caps the offset at 15; 16 only makes sense with no PSID, checked below as a + k ≤ 16.
  if (!isWhole(a, 0, 16)) return err('psid offset out of range');
  if (n + o > 128) return err('rule prefix length + ea-len exceed 128 bits');
  if (!ipv6PrefixCovers(rule.ipv6Prefix, endUserPrefix)) return err('end-user prefix outside rule prefix');

  const sharedAddress = r + o > 32;
  const p = sharedAddress ? 32 - r : o;
  const q = o - p;

  // RFC 7598 §4.5: an explicit PSID MUST be used; PSID-len 0 means "ignore the PSID field";
  // port parameters MUST be discarded when the CE gets an IPv4 prefix rather than an address.
  let explicit: { psidLen: number; psid: number } | null = null;
  const given = input.portParams;
  if (given !== null && given.psidLen !== 0) {
    if (r + o < 32) {
      warnings.push('port parameters discarded: the rule assigns an IPv4 prefix, not a shared address (RFC 7598 §4.5)');
    } else if (given.psid === null) {
      if (given.psidLen !== q) return err('psid-len given without psid');
    } else {
      if (!isWhole(given.psidLen, 1, 16)) return err('psid-len out of range');
      if (!isWhole(given.psid, 0, 2 ** given.psidLen - 1)) return err(`psid ${given.psid} does not fit psid-len ${given.psidLen}`);
      explicit = { psidLen: given.psidLen, psid: given.psid };
    }
  }

  // RFC 7597 §5.2: n + o MUST be ≤ the End-user prefix length. The one way out is a prefix that
  // lacks only PSID bits while the PSID itself is given explicitly (e.g. a /56 under n + o = 64).
  const missing = n + o - endUserPrefix.length;
  if (missing > 0) {
    if (missing > q) return err('end-user prefix lacks IPv4 address bits (shorter than rule prefix + ea-len)');
    if (explicit === null) return err('end-user prefix lacks PSID bits and no explicit PSID is given');
  }

  // A PSID is at most 16 bits (RFC 7597 §5.1: it selects a port set within
  // a 16-bit port); EA bits that leave more describe no rule a BR could use,
  // whatever explicit PSID comes with them.
  if (q > 16) return err(`EA bits leave ${q} PSID bits; at most 16`);
  const k = explicit !== null ? explicit.psidLen : q;
  if (a + k > 16) return err('psid offset + psid-len > 16');

  // RFC 7597 §5.2: the EA field starts right after the rule IPv6 prefix (bit n).
  const ea = o === 0 ? 0 : Number((endUserPrefix.address >> BigInt(128 - n - o)) & ((1n << BigInt(o)) - 1n));
  const eaPsidBits = 2 ** q;
  const suffix = Math.floor(ea / eaPsidBits);
  const eaPsid = ea % eaPsidBits;
  const ipv4 = rule.ipv4Prefix.address + suffix * 2 ** (32 - r - p);
  const ipv4PrefixLen = sharedAddress ? 32 : r + o;

  let psid = eaPsid;
  if (explicit !== null) {
    psid = explicit.psid;
    // With q = 0 (Appendix A Example 5) the PSID can only come from DHCP: nothing to disagree with.
    if (q > 0 && missing <= 0 && (explicit.psidLen !== q || explicit.psid !== eaPsid)) {
      warnings.push(
        `explicit PSID ${explicit.psid}/${explicit.psidLen} differs from PSID ${eaPsid}/${q} in the EA bits; ` +
          'using the explicit one (RFC 7598 §4.5), the BR may route that port set elsewhere',
      );
    }
  }

  // §5.2 keeps the whole delegated prefix; bits beyond n + o the BR cannot reproduce (RFC 7597 §5.2, §6).
  const extraBits = endUserPrefix.length - (n + o);
  if (extraBits > 0 && (endUserPrefix.address & ~ipv6Mask(n + o) & ipv6Mask(Math.min(endUserPrefix.length, 64))) !== 0n) {
    warnings.push('end-user prefix has non-zero bits after the EA bits: the BR cannot derive this CE address');
  }

  const ceIPv6 = ceIPv6Address(endUserPrefix, interfaceId(input.interfaceId, ipv4, psid));
  return ok({ ipv4, ipv4PrefixLen, psidOffset: a, psidLen: k, psid, ceIPv6, warnings });
}

/**
 * Whether `address` is a MAP IPv6 address a CE derives from `rule` for some
 * end-user prefix (RFC 7597 §5.2, §6), in either interface-identifier form:
 * its EA bits, read back from the address, give exactly its interface
 * identifier. maped adopts such /128s on the WAN when its ownership record
 * was lost: an address picked by hand would have to repeat, in its
 * interface identifier, the IPv4 address and PSID its own EA bits encode.
 */
export function isMapCeAddress(rule: MapRule, address: bigint, portParams: ExplicitPortParams | null): boolean {
  const endUserPrefix = subnet64(address);
  return (['rfc7597', 'draft03'] as const).some((format) => {
    const derived = deriveAddressing({ rule, endUserPrefix, portParams, interfaceId: format });
    return derived.ok && derived.value.ceIPv6 === address;
  });
}
