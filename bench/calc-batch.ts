/**
 * `mapedctl calc --batch` throughput (DESIGN.md §6: ≥ 100k derivations/s).
 *
 * Three workloads: shared/vectors/map-calc.jsonl repeated to ≥ 100k lines (its
 * lines average ~2 KB of output: some rules have thousands of port ranges),
 * 100k distinct /56 prefixes under the v6plus rule (15 ranges a line), and
 * 100k random rules, where remembered rule prefixes and port-set text
 * seldom apply.
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { existsSync } from 'node:fs';
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

async function throughCli(name: string, lines: readonly string[]): Promise<void> {
  const [command, ...args] = cliArgv('mapedctl');
  const started = process.hrtime.bigint();
  const { count, bytes } = await new Promise<{ count: number; bytes: number }>((done, reject) => {
    const child = spawn(command!, [...args, 'calc', '--batch'], { stdio: ['pipe', 'pipe', 'inherit'] });
    let count = 0;
    let bytes = 0;
    child.stdout.on('data', (chunk: Buffer) => {
      bytes += chunk.length;
      for (let at = chunk.indexOf(10); at !== -1; at = chunk.indexOf(10, at + 1)) count++;
    });
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? done({ count, bytes }) : reject(new Error(`mapedctl exited ${code}`))));
    child.stdin.end(lines.join('\n') + '\n');
  });
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  if (count !== lines.length) throw new Error(`calc --batch wrote ${count} lines for ${lines.length}`);
  figure(
    `${name}: mapedctl calc --batch`,
    Math.round(lines.length / seconds),
    'derivations/s',
    `target ≥ 100000 (${lines.length} lines, ${(bytes / 1e6).toFixed(0)} MB out, process start included)`,
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
  await throughCli('vectors x506', vectors);
  await throughCli('v6plus /56s', v6plus);
  await throughCli('varied rules', varied);
}
