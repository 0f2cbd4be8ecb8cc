/**
 * maped's privileged parent with the test child of privsep-test-child.ts
 * instead of maped's own, as a process of its own (like maped itself):
 *
 *   node --import tsx privsep-parent-rig.ts <maped.conf> <socket>
 *
 * The parent logs to stderr, verbosely (`unprivileged child <pid> started`
 * each time), and stops on SIGTERM as maped does. PRIVSEP_TEST_CONTROL_MS:
 * how long it waits for the child's answer to a control request.
 */
import { resolve } from 'node:path';
import { loadConfig } from '../../src/config/index.js';
import { listenControlSocket, stopControlServer } from '../../src/control/server.js';
import { createLogger } from '../../src/daemon/log.js';
import { PrivsepParent } from '../../src/daemon/privsep-parent.js';
import { REPO_ROOT } from './vectors.js';

const [configPath, socket] = process.argv.slice(2) as [string, string];
const loaded = loadConfig(configPath);
if (!loaded.ok) throw new Error(loaded.error);
const log = createLogger({ verbose: true });
const parent = new PrivsepParent({
  configPath,
  config: loaded.value,
  log,
  childEntry: resolve(REPO_ROOT, 'test', 'support', 'privsep-test-child.ts'),
  childArgs: { configPath, verbose: true, json: false, syslog: null },
  credentials: null,
  execArgv: ['--import', 'tsx'],
  ...(process.env.PRIVSEP_TEST_CONTROL_MS === undefined ? {} : { controlTimeoutMs: Number(process.env.PRIVSEP_TEST_CONTROL_MS) }),
});
const server = await listenControlSocket(socket, (connection) => parent.connection(connection));
process.on('SIGTERM', () => {
  void parent
    .stop(false, 4000)
    .then(() => stopControlServer(server, socket, { waitForConnections: false }))
    .then(() => process.exit(0));
});
parent.start();
