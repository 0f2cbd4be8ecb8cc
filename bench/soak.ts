/**
 * Soak: maped as a process with the served fake tools, under
 * - a lease storm: 1,000 lease changes in 10 s (a change every 10 ms,
 *   alternating between two prefixes). Afterwards at most 2 applies follow
 *   the last change, and one CE alias is left on the WAN;
 * - 1,000 control clients connecting, sending garbage (random bytes, lines
 *   over the request limit, half requests) and disconnecting, while leases
 *   keep changing. Meanwhile `status` is asked every 20 ms: p99 < 100 ms;
 *   afterwards maped's RSS is back within 10 MB of where it started.
 * Prints the figures; like every bench it measures and does not fail.
 */
import { randomBytes } from 'node:crypto';
import { connect } from 'node:net';
import { request } from '../src/control/client.js';
import { StatusSchema, type Status } from '../src/control/protocol.js';
import { benchRouter, startBenchMaped, waitStatus } from './fake-router.js';
import { rssKb, figure, percentile } from './support.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));


async function status(socket: string): Promise<Status> {
  return StatusSchema.parse(await request(socket, 'status', 5000));
}


/** One hostile client: connects, writes garbage, goes. Never throws. */
function garbageClient(socket: string): Promise<void> {
  return new Promise((resolve) => {
    const c = connect(socket);
    const done = (): void => {
      c.destroy();
      resolve();
    };
    c.on('error', done);
    c.on('connect', () => {
      const kind = Math.floor(Math.random() * 4);
      if (kind === 0) c.write(randomBytes(512));
      else if (kind === 1) c.write('x'.repeat(8192));
      else if (kind === 2) c.write('{"version":1,"command":"stat');
      else c.write(`${JSON.stringify({ version: 1, command: 'status' })}\n`.repeat(50));
      setTimeout(done, Math.random() * 50);
    });
    setTimeout(done, 5000);
  });
}

export async function benchSoak(): Promise<void> {
  const router = await benchRouter('soak');
  const { fake, socket } = router;
  const lease = (hextet: string): void => router.lease(hextet);
  const psidOf = (hextet: string): number => parseInt(hextet.slice(0, 2), 16);

  lease('3400');
  const child = await startBenchMaped(router).catch(async (e: unknown) => {
    await router.remove();
    throw e;
  });
  try {
    const pid = child.pid!;

    // 1. The lease storm.
    const changes = Number(process.env.MAPED_SOAK_CHANGES ?? 1000);
    const spanMs = 10_000;
    const started = Date.now();
    let final = '3400';
    for (let i = 0; i < changes; i++) {
      final = i % 2 === 0 ? '5600' : '3400';
      lease(final);
      const due = started + ((i + 1) * spanMs) / changes;
      await sleep(Math.max(0, due - Date.now()));
    }
    fake.clearLog();
    const stormMs = Date.now() - started;
    await waitStatus(socket, (s) => s.state === 'active' && s.map?.psid === psidOf(final));
    await sleep(1000);
    const applies = fake.mutations().filter((call) => call[0] === 'ifconfig' && call.includes('alias')).length;
    const aliases = fake.state().interfaces.em0!.inet6.filter((a) => a.prefixlen === 128).length;
    figure(`lease storm: ${changes} changes`, stormMs, 'ms', 'target: 1,000 in 10 s');
    figure('  applies after the last change', applies, '', 'target ≤ 2');
    figure('  CE aliases on the WAN at the end', aliases, '', 'target 1');

    // 2. Hostile clients while leases change; status timed throughout.
    await sleep(5000);
    const rssStart = rssKb(pid);
    const latencies: number[] = [];
    let polling = true;
    const poller = (async () => {
      while (polling) {
        const t = performance.now();
        try {
          await status(socket);
          latencies.push(performance.now() - t);
        } catch {
          latencies.push(Infinity);
        }
        await sleep(20);
      }
    })();
    let changing = true;
    const changer = (async () => {
      for (let i = 0; changing; i++) {
        lease(i % 2 === 0 ? '5600' : '3400');
        await sleep(50);
      }
    })();
    const clients = Number(process.env.MAPED_SOAK_CLIENTS ?? 1000);
    const clientsStarted = Date.now();
    for (let i = 0; i < clients; i += 50) {
      await Promise.all(Array.from({ length: Math.min(50, clients - i) }, () => garbageClient(socket)));
    }
    const clientsMs = Date.now() - clientsStarted;
    changing = false;
    await changer;
    polling = false;
    await poller;
    lease('3400');
    await waitStatus(socket, (s) => s.state === 'active' && s.map?.psid === psidOf('3400'));
    // Let V8 give back what the burst allocated.
    await sleep(10_000);
    const rssEnd = rssKb(pid);
    latencies.sort((a, b) => a - b);
    figure(`hostile clients: ${clients}`, clientsMs, 'ms', 'connect, garbage, disconnect; leases changing every 50 ms');
    figure('  status p50', percentile(latencies, 50), 'ms', `${latencies.length} asked`);
    figure('  status p99', percentile(latencies, 99), 'ms', 'target < 100 ms');
    figure('  status unanswered', latencies.filter((l) => l === Infinity).length, '');
    figure('  RSS before', rssStart / 1024, 'MiB');
    figure('  RSS after', rssEnd / 1024, 'MiB', 'target within 10 MB of before');
    figure('  alive after', child.exitCode === null ? 'yes' : `no (exit ${child.exitCode})`, '');
  } finally {
    child.kill('SIGTERM');
    await new Promise((r) => child.once('exit', r));
    await router.remove();
  }
}
