/**
 * src/dhcpv6: RFC 7598 Softwire46 options in, typed rules out. Pure: no I/O,
 * no clock. Every length is checked before it is read, every field range
 * (ea-len 0–48, prefix4-len 0–32, prefix6-len 0–128, offset 0–15, PSID-len
 * 0–16) is enforced, counts are capped (option-codes.ts), nesting is fixed at
 * three levels, so a hostile input costs time linear in its length and ends
 * in a value, never an exception.
 *
 * Contract:
 * - `decodeOptions(bytes: Uint8Array): Result<S46Options>` — one or more
 *   whole options (code, length, payload). Containers 94/95/96 are decoded
 *   in order; other top-level options (89–93 included) are skipped. One bad
 *   container makes the whole input an error naming the option and byte.
 * - `decodeContainer(code: number, payload: Uint8Array): Result<S46Container>`
 *   — one container payload (lease file `s46 <code> "<hex>"` lines);
 *   `S46Container` is `{kind:'mapE'|'mapT'|'lw4o6', domain}`;
 *   `withContainers(options, containers)` appends them to an `S46Options`.
 * - Types: `S46PortParams {psidOffset, psidLen, psid /* right-aligned *\/}`,
 *   `S46Rule {fmr, eaLen, ipv4Prefix, ipv6Prefix, portParams|null}`,
 *   `MapEDomain {rules, br: bigint[]}`, `MapTDomain {rules, dmr}`,
 *   `Lw4o6Domain {br, bindings: Lw4o6Binding[]}`, `S46Options {mapE, mapT, lw4o6}`.
 * - `toDecodeJson(options): DecodeJson` — the `mapedctl decode --json` shape.
 * - `deriveMapE(domain, endUserPrefix, iid): Result<MapEDerivation>` =
 *   `{bmr, params: MapParams, br, fmrs, warnings}`; `deriveMapT` likewise
 *   with `dmr`. BMR = longest prefix match; several BRs → the first, with a
 *   warning; no matching rule → error "no rule matches the delegated prefix …".
 * - `parseHex(text, separators?)` — hex text to bytes.
 */
export * from './decode-json.js';
export * from './hex-bytes.js';
export * from './option-codes.js';
export { splitOptions, type RawOption } from './option-list.js';
export * from './rule-derive.js';
export { decodeContainer, decodeOptions } from './s46-containers.js';
export * from './s46-types.js';
