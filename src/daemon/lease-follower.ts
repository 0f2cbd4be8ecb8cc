/**
 * Follows the lease file for the daemon. The directory watch cannot see
 * inside a directory that does not exist yet (first boot, before
 * dhcp6leased(8) ever ran): then it is set up again later, backing off from
 * 10 s to 5 min, until it can be. Once it can, there is no timer at all.
 */
import type { Logger } from 'pino';
import { watchLeaseFile, type LeaseWatch } from '../lease/lease-watch.js';

const FIRST_RETRY_MS = 10_000;
const LAST_RETRY_MS = 300_000;

export interface LeaseFollower {
  readonly ready: Promise<void>;
  close(): Promise<void>;
}

export function followLease(
  path: string,
  onChange: () => void,
  log: Logger,
  options: { debounceMs?: number; firstRetryMs?: number } = {},
): LeaseFollower {
  const debounceMs = options.debounceMs ?? 100;
  let watch: LeaseWatch | null = null;
  let retry: NodeJS.Timeout | null = null;
  let delay = options.firstRetryMs ?? FIRST_RETRY_MS;
  let closed = false;

  const start = (): LeaseWatch => {
    const current = watchLeaseFile(path, {
      debounceMs,
      onChange,
      onError: (message) => {
        log.warn(message);
        if (!message.includes('cannot watch:') || closed || retry !== null) return;
        retry = setTimeout(() => {
          retry = null;
          if (closed) return;
          void current.close().then(() => {
            if (closed) return;
            watch = start();
            // Whatever appeared meanwhile is read once the new watch is up.
            void watch.ready.then(onChange);
          });
        }, delay);
        delay = Math.min(LAST_RETRY_MS, delay * 2);
      },
    });
    return current;
  };

  watch = start();
  return {
    ready: watch.ready,
    async close() {
      closed = true;
      if (retry !== null) clearTimeout(retry);
      await watch?.close();
    },
  };
}
