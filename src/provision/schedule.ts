/**
 * When to ask the provisioning server again (HB46PP, v6mig-prov 1.1 §3.6):
 *
 *   c.2 no TXT record (NODATA or NXDOMAIN)  → withdraw, wait 1–3 h at random
 *   c.3 any other DNS failure               → wait 1–10 min at random
 *   f.2 no answer from the server           → wait 10–30 min at random
 *   h.2 an answer that is an error          → wait 10–30 min at random
 *   k.1 valid data with a ttl               → wait ttl seconds
 *   k.2 valid data without a ttl            → wait 20–24 h at random
 *
 * and at once when the CE's IPv6 prefix changes (k.1, k.2 and the SHOULD
 * after them); the caller handles that. Pure: the random source is passed in.
 */
const MINUTE = 60_000;
const HOUR = 60 * MINUTE;

export type FetchOutcome =
  | { readonly kind: 'no-record' }
  | { readonly kind: 'dns-failure' }
  | { readonly kind: 'no-answer' }
  | { readonly kind: 'bad-data' }
  | { readonly kind: 'valid'; readonly ttlSeconds: number | null };

/**
 * A ttl of 0 (the spec sets no lower bound) would make the CE ask without
 * pause; one minute is the floor, the same as the spec's shortest wait.
 */
export const MIN_REFRESH_MS = MINUTE;

/** Milliseconds until the next attempt; `random` returns a number in [0, 1). */
export function nextAttemptDelayMs(outcome: FetchOutcome, random: () => number): number {
  const between = (low: number, high: number): number => Math.floor(low + (high - low) * random());
  switch (outcome.kind) {
    case 'no-record':
      return between(1 * HOUR, 3 * HOUR);
    case 'dns-failure':
      return between(1 * MINUTE, 10 * MINUTE);
    case 'no-answer':
    case 'bad-data':
      return between(10 * MINUTE, 30 * MINUTE);
    case 'valid':
      return outcome.ttlSeconds === null
        ? between(20 * HOUR, 24 * HOUR)
        : Math.max(MIN_REFRESH_MS, outcome.ttlSeconds * 1000);
  }
}
