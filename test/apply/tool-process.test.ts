/**
 * runTool against tools that misbehave: hang ignoring SIGTERM, leave a child
 * holding the pipes, print without end, cannot be started (ENOENT, EMFILE).
 * Every case comes back with a verdict, the whole process group is gone, and
 * nothing throws.
 */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { PIPE_GRACE_MS, runTool, type ToolRunOptions } from '../../src/apply/index.js';
import { processAlive } from '../../src/daemon/pid-file.js';
import { REPO_ROOT } from '../support/vectors.js';

const OPTIONS: ToolRunOptions = { timeoutMs: 1500, maxOutput: 64 * 1024, env: { PATH: '/usr/bin:/bin' } };

async function eventually(check: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('runTool', () => {
  it('a tool that ignores SIGTERM and never exits is killed with its group at the timeout', async () => {
    const started = Date.now();
    const run = await runTool('/bin/sh', ['-c', `sleep 1000 & echo $!; trap '' TERM; while :; do sleep 1; done`], OPTIONS);
    expect(run).toMatchObject({ ok: false, timedOut: true, failure: 'timed out after 1500 ms' });
    expect(Date.now() - started).toBeLessThan(OPTIONS.timeoutMs + 5000);
    const child = Number.parseInt(run.stdout, 10);
    expect(child).toBeGreaterThan(1);
    await eventually(() => !processAlive(child), `the background sleep ${child} to be killed`);
  });

  it('a tool that exits 0 but leaves a child holding its pipes: its answer counts, the child is killed, no waiting for it', async () => {
    const started = Date.now();
    const run = await runTool('/bin/sh', ['-c', 'sleep 1000 & echo $!; echo applied'], OPTIONS);
    expect(run).toMatchObject({ ok: true, timedOut: false, failure: null, exitCode: 0 });
    const [child, word] = run.stdout.trim().split('\n');
    expect(word).toBe('applied');
    expect(Date.now() - started).toBeLessThan(OPTIONS.timeoutMs);
    await eventually(() => !processAlive(Number(child)), 'the background sleep to be killed');
  });

  it('a tool that exits 1 leaving a child: exit status 1 and its stderr, within the pipe grace', async () => {
    const run = await runTool('/bin/sh', ['-c', 'sleep 1000 & echo "pfctl: DIOCXCOMMIT: Device busy" >&2; exit 1'], OPTIONS);
    expect(run).toMatchObject({ ok: false, exitCode: 1, failure: 'exit status 1', timedOut: false });
    expect(run.stderr).toBe('pfctl: DIOCXCOMMIT: Device busy\n');
    expect(PIPE_GRACE_MS).toBeLessThan(OPTIONS.timeoutMs);
  });

  it('a tool that prints without end is stopped at the output cap', async () => {
    const run = await runTool('/usr/bin/yes', [], OPTIONS);
    expect(run).toMatchObject({ ok: false, failure: `printed more than ${OPTIONS.maxOutput} bytes` });
    expect(run.stdout.length).toBeLessThanOrEqual(OPTIONS.maxOutput);
  });

  it('a tool that does not exist is a failed run (ENOENT), not an exception', async () => {
    const run = await runTool('/nonexistent/pfctl', ['-sr'], OPTIONS);
    expect(run).toMatchObject({ ok: false, spawnError: 'ENOENT', failure: 'cannot run /nonexistent/pfctl: ENOENT' });
  });

  it('stdin is written, and a tool that does not read it is no error', async () => {
    expect(await runTool('/bin/cat', [], { ...OPTIONS, stdin: 'pass all\n' })).toMatchObject({ ok: true, stdout: 'pass all\n' });
    expect(await runTool('/bin/true', [], { ...OPTIONS, stdin: 'x'.repeat(1 << 20) })).toMatchObject({ ok: true });
  });

  it('out of file descriptors (EMFILE): runTool and runCommand answer with a failure, the process lives on', async () => {
    const { stdout } = await promisify(execFile)(
      '/bin/sh',
      ['-c', `ulimit -n 256 && exec "${process.execPath}" --import tsx "${join(REPO_ROOT, 'test', 'apply', 'fixtures', 'emfile-run.ts')}"`],
      { cwd: REPO_ROOT, timeout: 60_000 },
    );
    const answer = JSON.parse(stdout) as { held: number; tool: { ok: boolean; failure: string }; command: { ok: boolean; reason: string } };
    expect(answer.held).toBeGreaterThan(0);
    expect(answer.tool.ok).toBe(false);
    expect(answer.tool.failure).toMatch(/^cannot run \/bin\/true: (EMFILE|ENFILE)$/);
    expect(answer.command).toMatchObject({ ok: false, reason: expect.stringMatching(/EMFILE/) });
  });
});
