/**
 * DNS for HB46PP: the TXT record of discovery (v6mig-prov 1.1 §3.1) and the
 * IPv6 addresses of the server's host name (§3.3: the CE reaches the server
 * over IPv6 only). Asks the configured server with node:dns's Resolver (c-ares),
 * or, without one, the system's resolv.conf servers.
 */
import { lookup } from 'node:dns/promises';
import { Resolver } from 'node:dns/promises';
import { abortable } from './abortable.js';

export type TxtLookup =
  | { readonly ok: true; readonly records: string[][] }
  /** `no-record`: NXDOMAIN or NODATA (§3.6 c.2); `failure`: anything else (§3.6 c.3). */
  | { readonly ok: false; readonly kind: 'no-record' | 'failure'; readonly error: string };

/**
 * `signal` aborts a lookup when the client stops: the configured server's
 * queries are cancelled (Resolver.cancel()), and a lookup through the
 * system's resolver, which cannot be cancelled, is no longer waited for.
 */
export interface DnsAsker {
  txt(name: string, signal?: AbortSignal): Promise<TxtLookup>;
  /** The IPv6 addresses of a host name; rejects with a one-line reason. */
  ipv6(host: string, signal?: AbortSignal): Promise<string[]>;
}

/** Per-try timeout and tries of c-ares; the whole lookup is bounded by their product. */
export const DNS_TIMEOUT_MS = 3000;
export const DNS_TRIES = 2;

/** `server`: `ADDR` or `[ADDR]:PORT`, as maped.conf's `dns` gives it; null for the system's. */
export function makeDnsAsker(server: string | null): DnsAsker {
  const resolver = new Resolver({ timeout: DNS_TIMEOUT_MS, tries: DNS_TRIES });
  if (server !== null) resolver.setServers([server]);
  /** The resolver is this asker's alone (one per client): cancelling all its queries cancels the client's. */
  const cancelling = async <T>(signal: AbortSignal | undefined, ask: () => Promise<T>): Promise<T> => {
    const cancel = (): void => resolver.cancel();
    signal?.addEventListener('abort', cancel, { once: true });
    try {
      return await abortable(ask(), signal);
    } finally {
      signal?.removeEventListener('abort', cancel);
    }
  };
  return {
    async txt(name, signal) {
      try {
        return { ok: true, records: await cancelling(signal, () => resolver.resolveTxt(name)) };
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        // c-ares: ENOTFOUND is NXDOMAIN, ENODATA a name without the type.
        if (code === 'ENOTFOUND' || code === 'ENODATA') {
          return { ok: false, kind: 'no-record', error: `${name}: no TXT record (${code === 'ENOTFOUND' ? 'NXDOMAIN' : 'NODATA'})` };
        }
        return { ok: false, kind: 'failure', error: `${name}: TXT lookup failed (${code ?? (e as Error).message})` };
      }
    },
    async ipv6(host, signal) {
      try {
        if (server !== null) return await cancelling(signal, () => resolver.resolve6(host));
        // The system's way, /etc/hosts included, restricted to IPv6.
        const found = await abortable(lookup(host, { family: 6, all: true }), signal);
        return found.map((entry) => entry.address);
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        throw new Error(`${host}: no IPv6 address (${code ?? (e as Error).message})`);
      }
    },
  };
}
