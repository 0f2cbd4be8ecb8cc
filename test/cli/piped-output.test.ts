/**
 * maped's one-shot paths exit once their output is written: a pipe takes
 * 64 KiB at a time, and process.exit() would drop what it has not taken yet
 * (rc.d pipes maped's stderr to logger).
 */
import { spawn } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { MAPED_ENTRY } from '../support/daemon-process.js';
import { REPO_ROOT } from '../support/vectors.js';

const dir = mkdtempSync(join(tmpdir(), 'maped-piped-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/**
 * Runs maped with stdout and stderr on pipes, one of which is read only
 * once maped has written to it and would have exited, as a busy logger(1)
 * or a pager would: the pipe is full by then, and maped must still be
 * waiting to write the rest. The other is read as it comes; `written`
 * tells from it when maped is past its write to the late one, or is how
 * long to wait when the other says nothing.
 */
async function maped(
  late: 'stdout' | 'stderr',
  written: ((early: string) => boolean) | number,
  ...args: string[]
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', MAPED_ENTRY, ...args], { cwd: REPO_ROOT });
  const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
  const closed = new Promise<number | null>((resolve) => child.on('close', resolve));
  const text = { stdout: '', stderr: '' };
  const early = late === 'stdout' ? 'stderr' : 'stdout';
  let past: () => void = () => {};
  const isPast = typeof written === 'number' ? sleep(written) : new Promise<void>((resolve) => (past = resolve)).then(() => sleep(500));
  child[early].setEncoding('utf8').on('data', (s: string) => {
    text[early] += s;
    if (typeof written !== 'number' && written(text[early])) past();
  });
  // Past the write, an exit (without the fix) comes within milliseconds.
  await Promise.race([exited, isPast]);
  child[late].setEncoding('utf8').on('data', (s: string) => (text[late] += s));
  return { code: await closed, ...text };
}

const prefixes = Array.from({ length: 24000 }, (_, i) => `10.${i >> 8}.${i & 255}.0/24`);

describe('maped output on a pipe', () => {
  it('-nv writes all of a configuration longer than 200 KB before exiting', async () => {
    const conf = join(dir, 'big.conf');
    writeFileSync(conf, `wan em0\ntunnel gif0\n${prefixes.map((p) => `nat from ${p}\n`).join('')}`);
    const result = await maped('stdout', (stderr) => stderr.includes('\n'), '-nv', '-f', conf);
    expect(result.stderr).toBe('configuration OK\n');
    expect(result.code).toBe(0);
    expect(result.stdout.length).toBeGreaterThan(200_000);
    expect(result.stdout).toContain(` ${prefixes.at(-1)} }\n`);
    expect(result.stdout.endsWith('\n')).toBe(true);
  });

  it('-n writes every error line of a long refused configuration before exiting 1', async () => {
    const conf = join(dir, 'bad.conf');
    writeFileSync(conf, `wan em0\ntunnel gif0\n${prefixes.map((p) => `bogus ${p}\n`).join('')}`);
    const result = await maped('stderr', 4000, '-n', '-f', conf);
    expect(result.code).toBe(1);
    const lines = result.stderr.trimEnd().split('\n');
    expect(result.stderr.length).toBeGreaterThan(200_000);
    expect(lines).toHaveLength(prefixes.length);
    expect(lines.at(-1)).toMatch(new RegExp(`^maped: ${conf}:${prefixes.length + 2}:1: unknown keyword "bogus"`));
  });
});

describe('maped output to a reader that goes away', () => {
  it('-nv 2>&1 | head -c 10: exits 0, not on an uncaught EPIPE', async () => {
    const conf = join(dir, 'head.conf');
    writeFileSync(conf, `wan em0\ntunnel gif0\n${prefixes.map((p) => `nat from ${p}\n`).join('')}`);
    const head = spawn('head', ['-c', '10'], { stdio: ['pipe', 'ignore', 'ignore'] });
    const headDone = new Promise((resolve) => head.on('close', resolve));
    // stdout and stderr on the one pipe: "configuration OK" meets EPIPE too.
    const child = spawn(process.execPath, ['--import', 'tsx', MAPED_ENTRY, '-nv', '-f', conf], { cwd: REPO_ROOT, stdio: ['ignore', head.stdin, head.stdin] });
    head.stdin.destroy();
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    await headDone;
    expect(code).toBe(0);
  });
});
