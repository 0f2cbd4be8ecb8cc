/**
 * Basic Mapping Rule selection (RFC 7597 §5; RFC 7598 §4.1 F-flag text):
 * "a longest match between the End-user IPv6 prefix and the Rule IPv6 prefix".
 */
import { formatIpv6Prefix, ipv6PrefixCovers, type Ipv6Prefix } from './address.js';
import { err, ok, type Result } from './result.js';

export interface BmrSelection<R> {
  readonly bmr: R;
  /** Every other rule, in the order given: forwarding (FMR) candidates. */
  readonly others: readonly R[];
}

export function selectBmr<R extends { readonly ipv6Prefix: Ipv6Prefix }>(
  rules: readonly R[],
  endUserPrefix: Ipv6Prefix,
): Result<BmrSelection<R>> {
  let best: R | null = null;
  let tie: R | null = null;
  for (const rule of rules) {
    if (!ipv6PrefixCovers(rule.ipv6Prefix, endUserPrefix)) continue;
    if (best === null || rule.ipv6Prefix.length > best.ipv6Prefix.length) {
      best = rule;
      tie = null;
    } else if (rule.ipv6Prefix.length === best.ipv6Prefix.length) {
      tie = rule;
    }
  }
  if (best === null) {
    return err(`no rule matches end-user prefix ${formatIpv6Prefix(endUserPrefix)} (${rules.length} rules)`);
  }
  if (tie !== null) {
    return err(
      `two rules match end-user prefix ${formatIpv6Prefix(endUserPrefix)} equally: ${formatIpv6Prefix(best.ipv6Prefix)}`,
    );
  }
  const bmr = best;
  return ok({ bmr, others: rules.filter((rule) => rule !== bmr) });
}
