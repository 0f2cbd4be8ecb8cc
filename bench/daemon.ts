/**
 * maped as a process (docs/architecture.md §6):
 * - lease change → last command applied, p50/p95 over ≥ 200 changes, after
 *   the debounce, with the served fake tools (about a millisecond a call, as
 *   OpenBSD's own take; a Node process per call would cost 100 ms);
 * - CPU used while idle (target ≤ 20 ms over 60 s; MAPED_BENCH_IDLE_S shortens it);
 * - steady memory against a bare node process holding one timer (target
 *   ≤ 1.3×), maped's two processes counted together (docs/architecture.md
 *   §5): summed RSS, which counts node's code once per process, and summed
 *   PSS, which counts it once (bench/README.md); each process on its own,
 *   with its V8 heap from the line it logs when logging turns verbose.
 * Linux /proc supplies CPU time (schedstat, ns) and memory (smaps_rollup).
 */
import { execFile, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { request } from '../src/control/client.js';
import { isMutation } from '../test/support/fake-openbsd/index.js';
import { benchRouter, startBenchMaped, waitStatus } from './fake-router.js';
import { figure, percentile, privateNodeBinary, processMemory, processTree, treeMemory, type ProcessMemory } from './support.js';

const DEBOUNCE_MS = 100;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** CPU time of maped: both of its processes (the privileged parent and the unprivileged child). */
function cpuNs(pid: number): number {
  return processTree(pid).reduce((sum, p) => sum + Number(readFileSync(`/proc/${p}/schedstat`, 'utf8').split(' ')[0]), 0);
}

/** A process's V8 heap, from its debug line (src/daemon/memory-use.ts). */
interface HeapLine {
  readonly who: string;
  readonly usedMiB: number;
  readonly totalMiB: number;
}
const HEAP_LINE = /memory of pid (\d+) \(([^)]+)\): rss [\d.]+ MiB, V8 heap used ([\d.]+) MiB of ([\d.]+) MiB/;

/**
 * Each of maped's processes logs its memory line when logging turns
 * verbose (mapedctl log verbose); logging is brief again afterwards.
 */
async function heapLines(socket: string, lines: Map<number, HeapLine>, pids: readonly number[]): Promise<void> {
  lines.clear();
  await request(socket, 'log verbose', 5000);
  const deadline = Date.now() + 10_000;
  while (pids.some((p) => !lines.has(p)) && Date.now() < deadline) await sleep(20);
  await request(socket, 'log brief', 5000);
}

const mib = (kb: number): number => kb / 1024;
const sum = (memory: readonly ProcessMemory[], key: 'rssKb' | 'pssKb' | 'privateKb'): number => memory.reduce((total, m) => total + m[key], 0);

export async function benchDaemon(): Promise<void> {
  const changes = Number(process.env.MAPED_BENCH_CHANGES ?? 200);
  const idleSeconds = Number(process.env.MAPED_BENCH_IDLE_S ?? 60);
  const settleSeconds = 10;
  const router = await benchRouter('bench');
  const { fake, socket } = router;
  const lease = (hextet: string): void => router.lease(hextet);

  // maped and the bare node run from a node binary of their own, so that PSS
  // counts the code pages they share with each other only (privateNodeBinary).
  const node = privateNodeBinary(router.dir);
  const heaps = new Map<number, HeapLine>();
  const stderrLine = (line: string): void => {
    const m = HEAP_LINE.exec(line);
    if (m !== null) heaps.set(Number(m[1]), { who: m[2]!, usedMiB: Number(m[3]), totalMiB: Number(m[4]) });
  };

  lease('3400');
  const child = await startBenchMaped(router, { node, stderrLine }).catch(async (e: unknown) => {
    await router.remove();
    throw e;
  });
  const pid = child.pid!;
  let maped: ProcessMemory[] = [];
  try {

    // Timed from the fake tools' own records, not by watching: the served
    // tools' server notes when each call arrives and is carried out, in log
    // order. The bench only asks maped for its status every 20 ms to learn
    // that a change is done, so it does not steal the CPU it is timing.
    const latencies: number[] = [];
    const firstCalls: number[] = [];
    let runsPerChange = 0;
    let mutationsPerChange = 0;
    for (let i = 0; i < changes; i++) {
      const hextet = i % 2 === 0 ? '5600' : '3400';
      const psid = parseInt(hextet.slice(0, 2), 16);
      fake.clearLog();
      const written = performance.timeOrigin + performance.now();
      lease(hextet);
      await waitStatus(socket, (s) => s.map?.psid === psid && s.state === 'active', 20_000, 20);
      const calls = fake.log();
      const runs = fake.runTimes();
      const mutating = calls.map((call) => isMutation(call));
      const last = mutating.lastIndexOf(true);
      if (last === -1 || runs.length !== calls.length) throw new Error(`change ${i}: no mutation recorded`);
      // Applied: the fakes' server has carried out the last mutating command.
      latencies.push(runs[last]![1] - written - DEBOUNCE_MS);
      firstCalls.push(runs[0]![0] - written - DEBOUNCE_MS);
      runsPerChange += calls.length / changes;
      mutationsPerChange = mutating.filter(Boolean).length;
    }
    latencies.sort((a, b) => a - b);
    firstCalls.sort((a, b) => a - b);

    // Asynchronously: the served tools' server runs in this process.
    const toolRuns: number[] = [];
    for (let i = 0; i < 30; i++) {
      const t = performance.now();
      await new Promise((done) => execFile(fake.tools.ifconfig, ['em0'], done));
      toolRuns.push(performance.now() - t);
    }
    const toolMs = toolRuns.reduce((a, b) => a + b, 0) / toolRuns.length;

    figure(`lease change → last command, p50 (${changes} changes)`, percentile(latencies, 50), 'ms', 'after the 100 ms debounce, fake tools included');
    figure(`lease change → last command, p95 (${changes} changes)`, percentile(latencies, 95), 'ms', 'target p95 ≤ 50 ms');
    figure('  lease change → first tool call, p50', percentile(firstCalls, 50), 'ms', 'noticing, reading and deciding');
    figure('  fake tool run, mean of 30', toolMs, 'ms', `a C client of the fakes' server; ${runsPerChange.toFixed(1)} runs per change, ${mutationsPerChange} mutating`);

    // Idle means steady state: let V8 finish the garbage collection the burst of
    // changes left behind (its memory reducer runs seconds after allocation stops).
    await sleep(settleSeconds * 1000);
    const cpuBefore = cpuNs(pid);
    await sleep(idleSeconds * 1000);
    const cpuMs = (cpuNs(pid) - cpuBefore) / 1e6;
    figure(`idle CPU over ${idleSeconds} s`, cpuMs, 'ms', `target ≤ 20 ms over 60 s; measured from ${settleSeconds} s after the last change`);

    maped = treeMemory(pid);
    await heapLines(socket, heaps, maped.map((m) => m.pid));
  } finally {
    child.kill('SIGTERM');
    await new Promise((r) => child.once('exit', r));
  }
  try {
    // Alone: with maped gone, the bare node's pages of the binary are its own.
    const bare = spawn(node, ['-e', 'setInterval(() => {}, 1 << 30)'], { stdio: 'ignore' });
    await sleep(1500);
    const alone = processMemory(bare.pid!);
    bare.kill();

    for (const m of maped) {
      const heap = heaps.get(m.pid);
      const who = heap?.who ?? (m.pid === pid ? 'maped' : 'a process under maped');
      const heapText = heap === undefined ? 'V8 heap: no memory line' : `V8 heap used ${heap.usedMiB} of ${heap.totalMiB} MiB`;
      figure(`  ${who} (pid ${m.pid})`, `${mib(m.rssKb).toFixed(1)} / ${mib(m.pssKb).toFixed(1)} / ${mib(m.privateKb).toFixed(1)}`, 'MiB', `RSS / PSS / private; ${heapText}`);
    }
    figure('  bare node with one timer', `${mib(alone.rssKb).toFixed(1)} / ${mib(alone.pssKb).toFixed(1)} / ${mib(alone.privateKb).toFixed(1)}`, 'MiB', 'RSS / PSS / private, alone');
    figure(`RSS maped, ${maped.length} processes summed`, mib(sum(maped, 'rssKb')), 'MiB', "node's code and libraries counted once per process");
    figure('RSS ratio to a bare node', sum(maped, 'rssKb') / alone.rssKb, '×', 'shown; two node processes are at least 2× by this measure');
    figure(`PSS maped, ${maped.length} processes summed`, mib(sum(maped, 'pssKb')), 'MiB', 'shared pages counted once: the memory maped costs the router');
    figure('PSS ratio to a bare node', sum(maped, 'pssKb') / alone.pssKb, '×', 'target ≤ 1.3×');
    figure('private memory maped, summed', mib(sum(maped, 'privateKb')), 'MiB', `bare node: ${mib(alone.privateKb).toFixed(1)} MiB (its binary's pages are its own)`);
  } finally {
    await router.remove();
  }
}
