/**
 * AFTR names (DS-Lite, lw4o6) resolved by maped itself: one AAAA query with
 * node:dns's Resolver (c-ares), bounded in time, and the answer kept until
 * its TTL runs out. The engine asks for a name when a selection needs it,
 * wakes when the earliest answer expires, and forgets a name whose tunnel
 * failed to come up, so the next attempt asks the DNS again.
 *
 * Errors are one line with c-ares' code (ENOTFOUND: no such name, ENODATA:
 * no AAAA record, ETIMEOUT: no answer).
 */
import { Resolver } from 'node:dns/promises';
import { err, formatIpv6, ok, parseIpv6, type Result } from '../map/index.js';
import { notUnicast } from '../softwire/index.js';
import type { Selection } from './select-mapping.js';

/** Per query attempt; two attempts. A DNS answer takes milliseconds when the server is up. */
const QUERY_TIMEOUT_MS = 2000;
const QUERY_TRIES = 2;
/** A TTL of 0 or a few seconds would have maped query on every wake; a day is long enough to trust. */
export const MIN_TTL_S = 30;
export const MAX_TTL_S = 86_400;
/** At most this many names are kept (a configuration holds two at most). */
const MAX_ENTRIES = 16;

interface Entry {
  readonly address: bigint;
  readonly expiresAt: number;
}

export class AftrResolver {
  private readonly entries = new Map<string, Entry>();

  /**
   * @param minTtlS the shortest time an answer is kept ({@link MIN_TTL_S}); tests shorten it
   *   to see a TTL run out.
   */
  constructor(
    private readonly now: () => number = Date.now,
    private readonly minTtlS: number = MIN_TTL_S,
  ) {}

  private key(name: string, dns: string | null): string {
    return `${name} ${dns ?? ''}`;
  }

  /** The address while its TTL lasts; undefined when it must be asked. */
  cached(name: string, dns: string | null): bigint | undefined {
    const key = this.key(name, dns);
    const entry = this.entries.get(key);
    if (entry === undefined) return undefined;
    if (entry.expiresAt > this.now()) return entry.address;
    this.entries.delete(key);
    return undefined;
  }

  /**
   * When the first answer kept runs out (ms since the epoch), or null. An
   * answer already run out counts no more (and is dropped): a wake for it
   * has been had, and a configuration that no longer names it must not be
   * woken again and again.
   */
  nextExpiry(): number | null {
    const now = this.now();
    let first: number | null = null;
    for (const [key, entry] of this.entries) {
      if (entry.expiresAt <= now) this.entries.delete(key);
      else if (first === null || entry.expiresAt < first) first = entry.expiresAt;
    }
    return first;
  }

  /** Drops every answer: the next selection asks again. */
  forget(): void {
    this.entries.clear();
  }

  async resolve(name: string, dns: string | null): Promise<Result<bigint>> {
    const resolver = new Resolver({ timeout: QUERY_TIMEOUT_MS, tries: QUERY_TRIES });
    if (dns !== null) resolver.setServers([dns]);
    // c-ares keeps its own timers; this one bounds the whole query whatever they do.
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        resolver.cancel();
        reject(Object.assign(new Error('no answer in time'), { code: 'ETIMEOUT' }));
      }, QUERY_TIMEOUT_MS * QUERY_TRIES + 1000);
    });
    try {
      const records = await Promise.race([resolver.resolve6(name, { ttl: true }), deadline]);
      const first = records[0];
      if (first === undefined) return err(`AFTR ${name}: no AAAA record`);
      const address = parseIpv6(first.address);
      if (!address.ok) return err(`AFTR ${name}: answer "${first.address}" is not an IPv6 address`);
      // The AFTR is the tunnel's remote end (RFC 6333 §5, RFC 7596 §5.1): a unicast address, as given one must be.
      const reason = notUnicast(address.value);
      if (reason !== null) return err(`AFTR ${name}: answer ${formatIpv6(address.value)} is ${reason}, not a unicast address`);
      const ttl = Math.min(MAX_TTL_S, Math.max(this.minTtlS, first.ttl));
      if (this.entries.size >= MAX_ENTRIES) this.entries.clear();
      this.entries.set(this.key(name, dns), { address: address.value, expiresAt: this.now() + ttl * 1000 });
      return ok(address.value);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code ?? 'error';
      return err(`AFTR ${name} does not resolve (${code}${dns === null ? '' : ` from ${dns}`})`);
    } finally {
      clearTimeout(timer);
    }
  }
}

/**
 * A selection with AFTR names: first with the answers at hand, recording the
 * names it missed; then, if it missed any, with those asked of the DNS.
 */
export async function selectResolving(
  select: (lookup: (name: string, dns: string | null) => Result<bigint>) => Selection,
  resolver: AftrResolver,
): Promise<Selection> {
  const missed: [string, string | null][] = [];
  const first = select((name, dns) => {
    const address = resolver.cached(name, dns);
    if (address !== undefined) return ok(address);
    missed.push([name, dns]);
    return err(`AFTR ${name} not resolved yet`);
  });
  if (missed.length === 0) return first;
  const answers = new Map<string, Result<bigint>>();
  for (const [name, dns] of missed) answers.set(`${name} ${dns ?? ''}`, await resolver.resolve(name, dns));
  return select((name, dns) => answers.get(`${name} ${dns ?? ''}`) ?? err(`AFTR ${name} not resolved`));
}
