/**
 * `mapedctl calc --batch` throughput (docs/architecture.md §6: ≥ 100k derivations/s).
 *
 * Three workloads: test/vectors/map-calc.jsonl repeated to ≥ 100k lines (its
 * lines average ~2 KB of output: some rules have thousands of port ranges),
 * 100k distinct /56 prefixes under the v6plus rule (15 ranges a line), and
 * 100k random rules, where remembered rule prefixes and port-set text
 * seldom apply.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type * as MapModule from '../src/map/index.js';
import { cliArgv, figure, ROOT, VECTORS } from './support.js';

/** The built library when there is one (as installed), else the TypeScript through tsx. */
async function mapLibrary(): Promise<typeof MapModule> {
  const built = resolve(ROOT, 'dist', 'map', 'index.js');
  return (await import(existsSync(built) ? built : '../src/map/index.js')) as typeof MapModule;
}

function vectorLines(): string[] {
  const inputs = readFileSync(resolve(VECTORS, 'map-calc.jsonl'), 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.stringify((JSON.parse(l) as { input: unknown }).input));
  const lines: string[] = [];
  while (lines.length < 100_000) lines.push(...inputs);
  return lines;
}

function v6plusLines(count: number): string[] {
  const lines: string[] = [];
  for (let i = 0; i < count; i++) {
    // 240b:10::/31 holds 2^25 /56s; walk them with an odd stride so every line differs.
    const n = (i * 2654435761) % 2 ** 25;
    const h1 = 0x10 + (n >>> 24);
    const h2 = (n >>> 8) & 0xffff;
    const h3 = (n & 0xff) << 8;
    lines.push(
      JSON.stringify({
        rule: { ipv6Prefix: '240b:10::/31', ipv4Prefix: '106.72.0.0/15', eaLen: 25, psidOffset: 4 },
        endUserPrefix: `240b:${h1.toString(16)}:${h2.toString(16)}:${h3.toString(16)}::/56`,
        psidLen: null,
        psid: null,
        iid: 'draft03',
      }),
    );
  }
  return lines;
}

/**
 * 100k lines, each its own random valid rule (seeded): few lines share a port
 * set, so the remembered port-set text rarely helps — the slow path.
 */
function variedLines(count: number): string[] {
  let seed = 7;
  const next = (n: number): number => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    return seed % n;
  };
  const lines: string[] = [];
  while (lines.length < count) {
    const r = 8 + next(17); // IPv4 rule prefix /8../24
    const a = next(11); // offset 0..10
    const k = 1 + next(16 - a); // PSID length 1..16-a
    const p = 32 - r;
    const o = p + k;
    if (o > 48) continue;
    const n = 32;
    const ea = BigInt(next(2 ** 30)) * BigInt(2 ** 18) + BigInt(next(2 ** 18));
    const eaBits = ea & ((1n << BigInt(o)) - 1n);
    const eupLength = 64;
    const address = (0x20010db8n << 96n) | (eaBits << BigInt(128 - n - o));
    const hex = address.toString(16).padStart(32, '0');
    const groups = hex.match(/.{4}/g)!.slice(0, 4).map((g) => parseInt(g, 16).toString(16));
    lines.push(
      JSON.stringify({
        rule: { ipv6Prefix: '2001:db8::/32', ipv4Prefix: `10.0.0.0/${r}`, eaLen: o, psidOffset: a },
        endUserPrefix: `${groups.join(':')}::/${eupLength}`,
        psidLen: null,
        psid: null,
        iid: 'rfc7597',
      }),
    );
  }
  return lines;
}

const RUNS = 5;

/** What a run of mapedctl costs before the first line: node, the bundle, commander and zod. */
async function processStart(): Promise<void> {
  const runs: number[] = [];
  for (let run = 0; run < RUNS; run++) {
    const started = process.hrtime.bigint();
    await new Promise<void>((done, reject) => {
      const [command, ...args] = cliArgv('mapedctl');
      const child = spawn(command!, [...args, 'calc', '--version'], { stdio: 'ignore' });
      child.on('error', reject);
      child.on('close', (code) => (code === 0 ? done() : reject(new Error(`mapedctl calc --version exited ${code}`))));
    });
    runs.push(Number(process.hrtime.bigint() - started) / 1e6);
  }
  figure('mapedctl start (calc --version)', runs.sort((a, b) => a - b)[Math.floor(RUNS / 2)]!, 'ms', `median of ${RUNS}; part of each figure below`);
}

function inProcess(map: typeof MapModule, name: string, lines: readonly string[]): void {
  const { AsciiSink, writeCalcLine } = map;
  const sink = new AsciiSink(1 << 20);
  for (const line of lines.slice(0, 500)) writeCalcLine(sink, line);
  sink.take();
  const started = process.hrtime.bigint();
  for (const line of lines) {
    writeCalcLine(sink, line);
    sink.byte(10);
    if (sink.length > 1 << 20) sink.take();
  }
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  figure(`${name}: library in-process`, Math.round(lines.length / seconds), 'derivations/s', 'target ≥ 100000');
}

/**
 * Runs `mapedctl calc --batch < file | wc -l` as a user would: the input comes
 * from a file and the output goes to a fast C reader, so the figure is
 * mapedctl's own rate. (A Node parent reading the 200 MB itself costs a
 * quarter of a second more, and that is the reader's time, not calc's.)
 */
async function throughCli(name: string, lines: readonly string[]): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'maped-bench-'));
  const input = join(dir, 'input.jsonl');
  writeFileSync(input, lines.join('\n') + '\n');
  // This machine's timing swings by a third from one minute to the next: the median of five runs.
  const runs: number[] = [];
  for (let run = 0; run < RUNS; run++) {
    const started = process.hrtime.bigint();
    const counted = await new Promise<string>((done, reject) => {
      const child = spawn(
        '/bin/bash',
        ['-c', 'set -o pipefail; in=$1; shift; "$@" calc --batch < "$in" | wc -l', 'bash', input, ...cliArgv('mapedctl')],
        { stdio: ['ignore', 'pipe', 'inherit'] },
      );
      let out = '';
      child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
      child.on('error', reject);
      child.on('close', (code) => (code === 0 ? done(out) : reject(new Error(`mapedctl calc --batch exited ${code}`))));
    });
    runs.push(Number(process.hrtime.bigint() - started) / 1e9);
    const count = Number(counted.trim());
    if (count !== lines.length) throw new Error(`calc --batch wrote ${count} lines for ${lines.length}`);
  }
  const seconds = runs.sort((a, b) => a - b)[Math.floor(RUNS / 2)]!;
  const bytes = statSync(input).size;
  rmSync(dir, { recursive: true, force: true });
  figure(
    `${name}: mapedctl calc --batch`,
    Math.round(lines.length / seconds),
    'derivations/s',
    `target ≥ 100000 (${lines.length} lines, ${(bytes / 1e6).toFixed(1)} MB in, median of ${RUNS}, process start included)`,
  );
}

export async function benchCalcBatch(): Promise<void> {
  const vectors = vectorLines();
  const v6plus = v6plusLines(100_000);
  const varied = variedLines(100_000);
  const map = await mapLibrary();
  inProcess(map, 'vectors x506', vectors);
  inProcess(map, 'v6plus /56s', v6plus);
  inProcess(map, 'varied rules', varied);
  await processStart();
  await throughCli('vectors x506', vectors);
  await throughCli('v6plus /56s', v6plus);
  await throughCli('varied rules', varied);
}
