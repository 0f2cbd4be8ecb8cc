/**
 * Follows address changes on the WAN through `route -n monitor`, the OpenBSD
 * way to learn of them without polling (route(8): "monitor: continuously
 * report any changes to the routing information base, routing lookup misses,
 * or suspected network partitionings"). Each routing message is printed as a
 * line naming its type (`RTM_NEWADDR: address being added to iface: …`,
 * sbin/route/route.c 1.267 print_rtmsg, lines 1434-1630; `name <if>` for
 * RTM_IFINFO at lines 1461-1473 and RTM_NEWADDR/RTM_DELADDR at lines
 * 1480-1490), followed by its addresses (pmsg_addrs, lines 1965-2006). A message of type RTM_NEWADDR, RTM_DELADDR or
 * RTM_IFINFO that names the WAN interface calls `onChange`.
 *
 * The monitor is a long-running child in a process group of its own, killed
 * with that group on close; output lines are capped in length (a longer one
 * is cut, never buffered whole); when the child ends it is started again
 * after a delay that doubles from 1 s to 5 min and resets once it has run a
 * minute.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { killGroup } from '../apply/tool-process.js';
import { toolEnvironment } from '../openbsd/index.js';

export const MAX_MONITOR_LINE = 4096;
const FIRST_RETRY_MS = 1000;
const LAST_RETRY_MS = 300_000;
/** A child that ran this long was healthy: the next restart starts from the first delay again. */
const HEALTHY_MS = 60_000;
/** Lines of one message looked at for the interface name: a message is a header, a sockaddrs line and the addresses. */
const MESSAGE_LINES = 4;

const WATCHED = /^RTM_(NEWADDR|DELADDR|IFINFO):/;

export interface RouteMonitorLog {
  info(message: string): void;
  warn(message: string): void;
}

export interface RouteMonitor {
  close(): Promise<void>;
}

/**
 * Splits a byte stream into lines of at most `max` characters: the rest of
 * an overlong line is dropped up to its newline.
 */
export function lineSplitter(max: number, onLine: (line: string) => void): (chunk: string) => void {
  let current = '';
  let skipping = false;
  return (chunk) => {
    let start = 0;
    for (;;) {
      const newline = chunk.indexOf('\n', start);
      if (!skipping) {
        current += chunk.slice(start, newline === -1 ? chunk.length : newline);
        if (current.length > max) {
          onLine(current.slice(0, max));
          current = '';
          skipping = true;
        }
      }
      if (newline === -1) return;
      if (!skipping) onLine(current);
      current = '';
      skipping = false;
      start = newline + 1;
    }
  };
}

/** Reads messages line by line; true from `feed` when a finished message concerns `iface`. */
export function messageFilter(iface: string): (line: string) => boolean {
  let watched = false;
  let left = 0;
  // The name as a word of its own: `em0` but not `em01` or `vlan0em0`.
  const word = new RegExp(`(^|[^A-Za-z0-9])${iface.replace(/[^a-z0-9]/g, '')}([^A-Za-z0-9]|$)`);
  return (line) => {
    if (/^RTM_[A-Z0-9]+:/.test(line)) {
      watched = WATCHED.test(line);
      left = MESSAGE_LINES;
    }
    if (!watched || left === 0) return false;
    left -= 1;
    if (word.test(line)) {
      watched = false;
      return true;
    }
    return false;
  };
}

export function monitorRoutes(
  routePath: string,
  iface: string,
  onChange: () => void,
  log: RouteMonitorLog,
  options: { firstRetryMs?: number } = {},
): RouteMonitor {
  let child: ChildProcess | null = null;
  let closed = false;
  let retry: NodeJS.Timeout | null = null;
  const first = options.firstRetryMs ?? FIRST_RETRY_MS;
  let delay = first;

  const start = (): void => {
    if (closed) return;
    const startedAt = Date.now();
    const env = toolEnvironment(process.env.PATH);
    // detached: a process group of its own, so close() can kill it with all it started.
    const current = spawn(routePath, ['-n', 'monitor'], { detached: true, stdio: ['ignore', 'pipe', 'ignore'], env });
    child = current;
    // In a group of its own it outlives maped's own group: a maped that exits
    // without close() (the shutdown deadline's process.exit) ends it here,
    // rather than leave it until its next write meets a closed pipe.
    const endWithMaped = (): void => killGroup(current.pid, 'SIGKILL');
    process.once('exit', endWithMaped);
    current.once('close', () => process.off('exit', endWithMaped));
    const concerns = messageFilter(iface);
    const feed = lineSplitter(MAX_MONITOR_LINE, (line) => {
      if (concerns(line)) onChange();
    });
    current.stdout?.setEncoding('utf8').on('data', feed);
    current.on('error', (e) => log.warn(`route monitor: ${e.message}`));
    current.on('close', (code, signal) => {
      if (child === current) child = null;
      if (closed) return;
      if (Date.now() - startedAt >= HEALTHY_MS) delay = first;
      log.warn(`route monitor ended (${signal ?? `exit ${code}`}); starting it again in ${Math.round(delay / 1000)} s`);
      retry = setTimeout(() => {
        retry = null;
        start();
        // Whatever changed while no monitor ran is read once the new one is up.
        onChange();
      }, delay);
      retry.unref?.();
      delay = Math.min(LAST_RETRY_MS, delay * 2);
    });
  };

  start();
  return {
    async close() {
      closed = true;
      if (retry !== null) clearTimeout(retry);
      const current = child;
      if (current === null || current.exitCode !== null || current.pid === undefined) return;
      const ended = new Promise<void>((resolve) => current.once('close', () => resolve()));
      try {
        process.kill(-current.pid, 'SIGTERM');
      } catch {
        current.kill('SIGTERM');
      }
      // A monitor that ignores SIGTERM is not waited for longer than two seconds.
      const timer = setTimeout(() => killGroup(current.pid, 'SIGKILL'), 2000);
      await ended;
      clearTimeout(timer);
    },
  };
}
