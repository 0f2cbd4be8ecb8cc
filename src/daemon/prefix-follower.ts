/**
 * What tells maped the prefix may have changed: the lease file's directory
 * watch, or with `prefix autoconf` the routing socket (route -n monitor)
 * and, in case a message is missed, a look once a minute. The process that
 * follows is maped's one process, or the privileged parent of a
 * privilege-separated maped (docs/architecture.md §5), which wakes its
 * child; the child follows nothing itself.
 */
import type { Logger } from 'pino';
import type { MapedConfig } from '../config/index.js';
import { followLease } from './lease-follower.js';
import { monitorRoutes } from './route-monitor.js';
import type { Follower } from './prefix-source.js';

/** `prefix autoconf`: the look that backs up the routing socket, never more often than this. */
const AUTOCONF_POLL_MS = 60_000;

export function followPrefix(config: MapedConfig, wake: (why: string) => void, log: Logger): Follower {
  if (config.prefix === 'lease') return followLease(config.leaseFile, () => wake('lease file changed'), log);
  const monitor = monitorRoutes(config.tools.route, config.wan, () => wake(`address change on ${config.wan}`), log);
  const poll = setInterval(() => wake('autoconf look'), AUTOCONF_POLL_MS);
  poll.unref();
  return {
    ready: Promise.resolve(),
    async close() {
      clearInterval(poll);
      await monitor.close();
    },
  };
}
