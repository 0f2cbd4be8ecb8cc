import { spawn } from 'node:child_process';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../support/vectors.js';

const WRITER = resolve(REPO_ROOT, 'test', 'cli', 'fixtures', 'batch-output-writer.ts');

interface Ended {
  code: number | null;
  received: Buffer;
  stderr: string;
}

/** Runs the writer; the reader waits `stallMs` before reading, or stops after `stopAfter` bytes. */
function runWriter(args: string[], reader: { stallMs?: number; stopAfter?: number }): Promise<Ended> {
  return new Promise((done, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', WRITER, ...args], { cwd: REPO_ROOT });
    const chunks: Buffer[] = [];
    let size = 0;
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s));
    child.stdout.pause();
    setTimeout(() => child.stdout.resume(), reader.stallMs ?? 0);
    child.stdout.on('data', (chunk: Buffer) => {
      chunks.push(chunk);
      size += chunk.length;
      if (reader.stopAfter !== undefined && size >= reader.stopAfter) child.stdout.destroy();
    });
    child.on('error', reject);
    child.on('close', (code) => done({ code, received: Buffer.concat(chunks), stderr }));
  });
}

function expectLetters(received: Buffer, megabytes: number): void {
  expect(received.length).toBe(megabytes << 20);
  for (let i = 0; i < megabytes; i++) {
    const block = received.subarray(i << 20, (i + 1) << 20);
    const letter = 0x61 + (i % 26);
    expect(block.every((b) => b === letter), `megabyte ${i} is all "${String.fromCharCode(letter)}"`).toBe(true);
  }
}

describe('BatchOutput (calc --batch writer)', () => {
  it('writes every megabyte once and in order through a pipe whose reader stalls', async () => {
    const ended = await runWriter(['6'], { stallMs: 300 });
    expect(ended).toMatchObject({ code: 0, stderr: 'all written\n' });
    expectLetters(ended.received, 6);
  });

  it('finishes the job through the stream when the pipe is non-blocking (EAGAIN, short writes)', async () => {
    const ended = await runWriter(['6', 'nonblocking'], { stallMs: 300 });
    expect(ended).toMatchObject({ code: 0, stderr: 'all written\n' });
    expectLetters(ended.received, 6);
  });

  it('stops quietly when the reader goes away (EPIPE), as `| head` expects', async () => {
    const ended = await runWriter(['64'], { stopAfter: 1 });
    expect(ended.code).toBe(0);
    expect(ended.stderr).toBe('reader gone\n');
    expect(ended.received.length).toBeLessThan(64 << 20);
  });
});
