/**
 * maped as a process (DESIGN.md §6):
 * - lease change → last command applied, p50/p95 over ≥ 200 changes, after
 *   the debounce; with the fake tools, whose own run time is shown beside it;
 * - CPU used while idle (target ≤ 20 ms over 60 s; MAPED_BENCH_IDLE_S shortens it);
 * - steady RSS against a bare node process holding one timer (target ≤ 1.3×).
 * Linux /proc supplies CPU time (schedstat, ns) and RSS.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from '../src/control/client.js';
import { StatusSchema, type Status } from '../src/control/protocol.js';
import { createFakeOpenBSD, isMutation } from '../test/support/fake-openbsd/index.js';
import { cliArgv, figure, percentile, rcNodeFlags, ROOT } from './support.js';

const DEBOUNCE_MS = 100;
const S46 = readFileSync(join(ROOT, 'examples', 'lease', 'em0'), 'utf8')
  .split('\n')
  .find((l) => l.startsWith('s46 '))!;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function cpuNs(pid: number): number {
  return Number(readFileSync(`/proc/${pid}/schedstat`, 'utf8').split(' ')[0]);
}

function rssKb(pid: number): number {
  const line = readFileSync(`/proc/${pid}/status`, 'utf8')
    .split('\n')
    .find((l) => l.startsWith('VmRSS:'));
  return Number(line?.replace(/\D+/g, '') ?? NaN);
}

async function waitStatus(socket: string, predicate: (s: Status) => boolean, timeoutMs = 20_000): Promise<Status> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    try {
      const status = StatusSchema.parse(await request(socket, 'status', 2000));
      if (predicate(status)) return status;
    } catch {
      // not up yet
    }
    await sleep(5);
  }
  throw new Error('maped did not reach the expected state');
}

/** The time covered by at least one interval: maped reads the live state with tools run side by side. */
function coveredMs(intervals: [number, number][]): number {
  const sorted = [...intervals].sort((a, b) => a[0] - b[0]);
  let total = 0;
  let end = -Infinity;
  for (const [from, to] of sorted) {
    if (to <= end) continue;
    total += to - Math.max(from, end);
    end = to;
  }
  return total;
}

export async function benchDaemon(): Promise<void> {
  const changes = Number(process.env.MAPED_BENCH_CHANGES ?? 200);
  const idleSeconds = Number(process.env.MAPED_BENCH_IDLE_S ?? 60);
  const settleSeconds = 10;
  const fake = await createFakeOpenBSD({ kernelPortset: true });
  const dir = await mkdtemp(join(tmpdir(), 'maped-bench-'));
  mkdirSync(join(dir, 'lease'));
  const config = join(dir, 'maped.conf');
  const socket = join(dir, 'maped.sock');
  writeFileSync(
    config,
    [
      'wan em0',
      `lease file "${join(dir, 'lease', 'em0')}"`,
      'nat from { 192.168.1.0/24 }',
      ...(['ifconfig', 'route', 'pfctl', 'dhcp6leasectl'] as const).map((t) => `tool ${t} "${fake.tools[t]}"`),
      `state-dir "${join(dir, 'state')}"`,
      '',
    ].join('\n'),
  );
  let serial = 0;
  const lease = (hextet: string): void => {
    fake.setLeasectl('em0', `em0 [Bound]\n\tIA_PD 0: 2001:db8:12:${hextet}::/56\n\tlease 7 days\n`);
    const temp = join(dir, 'lease', `t${String(serial++).padStart(9, '0')}`);
    writeFileSync(temp, `ia_pd 0 2001:db8:12:${hextet}:: 56\n${S46}\n`);
    renameSync(temp, join(dir, 'lease', 'em0'));
  };

  lease('3400');
  const [command, ...args] = cliArgv('maped');
  const child: ChildProcess = spawn(command!, [...rcNodeFlags(), ...args, '-d', '-f', config, '-s', socket], { stdio: 'ignore' });
  try {
    await waitStatus(socket, (s) => s.state === 'active');
    const pid = child.pid!;

    const latencies: number[] = [];
    /** Tool runs up to the last mutating one, per change: their time is the fake tools', not maped's. */
    const callsBefore: number[] = [];
    const ownTimes: number[] = [];
    let mutationsPerChange = 0;
    for (let i = 0; i < changes; i++) {
      const hextet = i % 2 === 0 ? '5600' : '3400';
      const psid = parseInt(hextet.slice(0, 2), 16);
      fake.clearLog();
      const startedEpoch = performance.timeOrigin + performance.now();
      const started = performance.now();
      lease(hextet);
      let lastMutationAt = NaN;
      let seen = 0;
      let calls = 0;
      let done = false;
      while (!done) {
        const log = fake.log();
        const mutations = log.filter(isMutation).length;
        if (mutations > seen) {
          seen = mutations;
          lastMutationAt = performance.now();
          calls = log.length;
        }
        if (seen > 0) {
          const status = StatusSchema.parse(await request(socket, 'status', 2000));
          done = status.map?.psid === psid && status.state === 'active';
        }
        if (!done) await sleep(1);
      }
      mutationsPerChange = seen;
      callsBefore.push(calls);
      latencies.push(lastMutationAt - started - DEBOUNCE_MS);
      // The tool runs that ended before the last mutation was seen: maped waited for each in turn.
      const lastEpoch = performance.timeOrigin + lastMutationAt;
      const toolTime = coveredMs(fake.runTimes().filter(([from, to]) => from >= startedEpoch && to <= lastEpoch + 1));
      ownTimes.push(lastMutationAt - started - DEBOUNCE_MS - toolTime);
    }
    latencies.sort((a, b) => a - b);

    const toolRuns: number[] = [];
    for (let i = 0; i < 30; i++) {
      const t = performance.now();
      spawnSync(fake.tools.ifconfig, ['em0'], { stdio: 'ignore' });
      toolRuns.push(performance.now() - t);
    }
    const toolMs = toolRuns.reduce((a, b) => a + b, 0) / toolRuns.length;

    const meanCalls = callsBefore.reduce((a, b) => a + b, 0) / callsBefore.length;
    const own = [...ownTimes].sort((a, b) => a - b);
    figure(`lease change → last command, p50 (${changes} changes)`, percentile(latencies, 50), 'ms', 'after the 100 ms debounce, fake tools included');
    figure(`lease change → last command, p95 (${changes} changes)`, percentile(latencies, 95), 'ms', 'fake tools included');
    figure('  fake tool run, mean of 30 (a node process)', toolMs, 'ms', `${meanCalls.toFixed(1)} runs per change, ${mutationsPerChange} of them mutating`);
    figure('  maped itself (latency − tool lifetimes), p50', percentile(own, 50), 'ms', 'tool runs timed from their process start');
    figure('  maped itself (latency − tool lifetimes), p95', percentile(own, 95), 'ms', 'target p95 ≤ 50 ms');

    // Idle means steady state: let V8 finish the garbage collection the burst of
    // changes left behind (its memory reducer runs seconds after allocation stops).
    await sleep(settleSeconds * 1000);
    const cpuBefore = cpuNs(pid);
    await sleep(idleSeconds * 1000);
    const cpuMs = (cpuNs(pid) - cpuBefore) / 1e6;
    figure(`idle CPU over ${idleSeconds} s`, cpuMs, 'ms', `target ≤ 20 ms over 60 s; measured from ${settleSeconds} s after the last change`);

    const bare = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1 << 30)'], { stdio: 'ignore' });
    await sleep(1500);
    const bareKb = rssKb(bare.pid!);
    bare.kill();
    const mapedKb = rssKb(pid);
    figure('RSS maped (steady)', mapedKb / 1024, 'MiB');
    figure('RSS bare node with one timer', bareKb / 1024, 'MiB');
    figure('RSS ratio', mapedKb / bareKb, '×', 'target ≤ 1.3×');
  } finally {
    child.kill('SIGTERM');
    await new Promise((r) => child.once('exit', r));
    await fake.cleanup();
    await rm(dir, { recursive: true, force: true });
  }
}
