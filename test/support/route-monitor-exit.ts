/**
 * `node --import tsx route-monitor-exit.ts <route> <pids-file>`: starts
 * maped's route monitor on the fake route(8), waits until the monitor has
 * started, then exits at once with process.exit(1), as maped's shutdown
 * deadline does, without closing the monitor.
 */
import { existsSync, readFileSync } from 'node:fs';
import { monitorRoutes } from '../../src/daemon/route-monitor.js';

const [routePath, pidsFile] = process.argv.slice(2) as [string, string];
const quiet = { info: () => undefined, warn: () => undefined };
monitorRoutes(routePath, 'em0', () => undefined, quiet);
const started = setInterval(() => {
  if (existsSync(pidsFile) && readFileSync(pidsFile, 'utf8').trim() !== '') {
    clearInterval(started);
    process.exit(1);
  }
}, 20);
