/**
 * The MAP-E lines of the earlier Perl maped's dhcp6leased patch, which maped
 * accepts so users of that patch can switch (test/vectors/README.md):
 *
 *   lease file:             mape_br <ipv6>
 *                           mape_rule <flags> <ea-len> <v4> <v4len> <v6> <v6len>
 *                           mape_portparams <offset> <psid-len> <psid>
 *   dhcp6leasectl -l -m:    BR: <ipv6>
 *                           rule: flags <n> ea-len <n> <v4>/<len> <v6>/<len>
 *                           portparams: offset <n> psid-len <n> psid <n>
 *
 * The PSID is already right-aligned there. Port parameters belong to the
 * rule before them (RFC 7598 §4.1 nests S46_PORTPARAMS in S46_RULE). The
 * field ranges are those of RFC 7598 §4.1/§4.5, as in src/dhcpv6.
 */
import { z } from 'zod';
import type { MapEDomain, S46PortParams, S46Rule } from '../dhcpv6/index.js';
import { err, formatIpv6, ok, parseIpv4Prefix, parseIpv6, parseIpv6Prefix, shown, type Result } from '../map/index.js';
import { notUnicast } from '../softwire/endpoint.js';

/** A whole decimal number within a range, named in its error. */
export function wholeNumber(name: string, min: number, max: number) {
  return z
    .string()
    .regex(/^[0-9]{1,10}$/, { error: (issue) => `${name} '${shown(String(issue.input))}' is not a whole number` })
    .transform(Number)
    .refine((n) => n >= min && n <= max, { error: (issue) => `${name} ${String(issue.input)} out of range ${min}..${max}` });
}

/** One text field through a schema, as a Result with the schema's one-line message. */
export function field<T>(schema: z.ZodType<T, string>, text: string | undefined): Result<T> {
  const parsed = schema.safeParse(text ?? '');
  return parsed.success ? ok(parsed.data) : err(parsed.error.issues[0]?.message ?? 'invalid field');
}

const FLAGS = wholeNumber('flags', 0, 255);
const EA_LEN = wholeNumber('ea-len', 0, 48);
const PREFIX4_LEN = wholeNumber('prefix4-len', 0, 32);
const PREFIX6_LEN = wholeNumber('prefix6-len', 0, 128);
const OFFSET = wholeNumber('offset', 0, 15);
const PSID_LEN = wholeNumber('psid-len', 0, 16);
const PSID = wholeNumber('psid', 0, 0xffff);

/** A rule from its six fields; prefixes are masked (RFC 7598 §4.1: the receiver ignores bits beyond the length). */
export function compatRule(
  flagsText: string | undefined,
  eaLenText: string | undefined,
  ipv4Text: string | undefined,
  ipv4LenText: string | undefined,
  ipv6Text: string | undefined,
  ipv6LenText: string | undefined,
): Result<S46Rule> {
  if (ipv6Text === undefined || ipv6LenText === undefined) return err('rule without an IPv6 prefix');
  const flags = field(FLAGS, flagsText);
  if (!flags.ok) return flags;
  const eaLen = field(EA_LEN, eaLenText);
  if (!eaLen.ok) return eaLen;
  const v4Len = field(PREFIX4_LEN, ipv4LenText);
  if (!v4Len.ok) return v4Len;
  const v6Len = field(PREFIX6_LEN, ipv6LenText);
  if (!v6Len.ok) return v6Len;
  const ipv4Prefix = parseIpv4Prefix(`${ipv4Text ?? ''}/${v4Len.value}`);
  if (!ipv4Prefix.ok) return err(`IPv4 prefix: ${ipv4Prefix.error}`);
  const ipv6Prefix = parseIpv6Prefix(`${ipv6Text}/${v6Len.value}`);
  if (!ipv6Prefix.ok) return err(`IPv6 prefix: ${ipv6Prefix.error}`);
  if (v6Len.value + eaLen.value > 128) return err(`prefix6-len ${v6Len.value} + ea-len ${eaLen.value} exceed 128 bits`);
  return ok({ fmr: (flags.value & 1) === 1, eaLen: eaLen.value, ipv4Prefix: ipv4Prefix.value, ipv6Prefix: ipv6Prefix.value, portParams: null });
}

export function compatPortParams(offsetText: string | undefined, psidLenText: string | undefined, psidText: string | undefined): Result<S46PortParams> {
  const psidOffset = field(OFFSET, offsetText);
  if (!psidOffset.ok) return psidOffset;
  const psidLen = field(PSID_LEN, psidLenText);
  if (!psidLen.ok) return psidLen;
  const psid = field(PSID, psidText);
  if (!psid.ok) return psid;
  if (psidOffset.value + psidLen.value > 16) {
    return err(`offset ${psidOffset.value} + psid-len ${psidLen.value} exceed the 16 bits of a port`);
  }
  // Right-aligned here, so it must fit psid-len bits; psid-len 0 means "ignore the PSID" (RFC 7598 §4.5).
  if (psidLen.value > 0 && psid.value >= 2 ** psidLen.value) return err(`psid ${psid.value} does not fit psid-len ${psidLen.value}`);
  return ok({ psidOffset: psidOffset.value, psidLen: psidLen.value, psid: psidLen.value === 0 ? 0 : psid.value });
}

/** A BR is the tunnel's remote end, a unicast address (RFC 7597 §5.4), as S46_BR and maped.conf's `br` must be. */
export function compatBr(text: string | undefined): Result<bigint> {
  if (text === undefined) return err('BR address missing');
  const address = parseIpv6(text);
  if (!address.ok) return err(`BR address: ${address.error}`);
  const reason = notUnicast(address.value);
  return reason === null ? address : err(`BR address: ${formatIpv6(address.value)} is ${reason}, not a unicast address (RFC 7597 §5.4)`);
}

/**
 * Collects the lines of one MAP-E domain in the order they come. Each add
 * returns an error text or null; `finish` applies RFC 7598 §5.1 (≥ 1 rule,
 * ≥ 1 BR) and gives null when no line was added.
 */
export class CompatMapEDomain {
  private readonly rules: S46Rule[] = [];
  private readonly brs: bigint[] = [];

  get empty(): boolean {
    return this.rules.length === 0 && this.brs.length === 0;
  }

  addRule(rule: S46Rule): string | null {
    if (this.rules.length >= 128) return 'more than 128 rules';
    this.rules.push(rule);
    return null;
  }

  addBr(address: bigint): string | null {
    // One line per BR in that patch: the same address twice is a broken writer, not a choice.
    if (this.brs.includes(address)) return `duplicate BR ${formatIpv6(address)}`;
    if (this.brs.length >= 16) return 'more than 16 BRs';
    this.brs.push(address);
    return null;
  }

  addPortParams(portParams: S46PortParams): string | null {
    const last = this.rules[this.rules.length - 1];
    if (last === undefined) return 'port parameters before any rule';
    if (last.portParams !== null) return 'second port parameters for one rule';
    this.rules[this.rules.length - 1] = { ...last, portParams };
    return null;
  }

  finish(): Result<MapEDomain | null> {
    if (this.empty) return ok(null);
    if (this.rules.length === 0) return err('MAP-E BR given without any rule');
    if (this.brs.length === 0) return err('MAP-E rule given without any BR');
    return ok({ rules: [...this.rules], br: [...this.brs] });
  }
}
