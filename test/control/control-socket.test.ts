import { execFile } from 'node:child_process';
import { readdirSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { ControlError, request } from '../../src/control/client.js';
import { MAX_ANSWER_BYTES, MAX_REQUEST_BYTES, PROTOCOL_VERSION, type ControlCommand } from '../../src/control/protocol.js';
import { socketPathLimit, socketPathProblem, startControlServer, stopControlServer } from '../../src/control/server.js';
import { fakeLeaser, fakeRouterConfig, MAPED_ENTRY, MAPEDCTL_ENTRY, startMaped } from '../support/daemon-process.js';
import { createFakeOpenBSD } from '../support/fake-openbsd/index.js';
import { REPO_ROOT } from '../support/vectors.js';

const run = promisify(execFile);

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function serve(handler: (command: ControlCommand) => unknown = (command) => ({ echo: command })) {
  const dir = await mkdtemp(join(tmpdir(), 'maped-control-'));
  const path = join(dir, 'maped.sock');
  const server = await startControlServer(path, handler);
  cleanups.push(() => rm(dir, { recursive: true, force: true }), () => stopControlServer(server, path));
  return path;
}

/** Sends raw bytes and collects every answer line until the server closes or `lines` arrived. */
function raw(path: string, payload: string, lines = 1): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const socket = connect(path);
    let buffered = '';
    const done = () => {
      socket.destroy();
      resolve(buffered.split('\n').filter((l) => l !== ''));
    };
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      buffered += chunk;
      if (buffered.split('\n').length - 1 >= lines) done();
    });
    socket.on('end', done);
    socket.on('error', reject);
    socket.write(payload);
  });
}

describe('control socket', () => {
  it('is created with mode 0660', async () => {
    const path = await serve();
    expect((await stat(path)).mode & 0o777).toBe(0o660);
  });

  it('answers a request with the handler result', async () => {
    const path = await serve();
    expect(await request(path, 'show ports')).toEqual({ echo: 'show ports' });
  });

  it('serves several clients at once', async () => {
    let release: () => void = () => undefined;
    const gate = new Promise<void>((r) => (release = r));
    const path = await serve(async (command) => {
      if (command === 'status') await gate;
      return command;
    });
    const slow = request(path, 'status');
    // A second client is answered while the first one still waits.
    expect(await request(path, 'show rules')).toBe('show rules');
    release();
    expect(await slow).toBe('status');
  });

  it('answers several requests on one connection in order', async () => {
    const path = await serve();
    const lines = await raw(
      path,
      `${JSON.stringify({ version: PROTOCOL_VERSION, command: 'status' })}\n${JSON.stringify({ version: PROTOCOL_VERSION, command: 'reload' })}\n`,
      2,
    );
    expect(lines.map((l) => JSON.parse(l))).toEqual([
      { version: 1, ok: true, result: { echo: 'status' } },
      { version: 1, ok: true, result: { echo: 'reload' } },
    ]);
  });

  it.each([
    ['not JSON', 'status please\n', 'request is not JSON'],
    ['an unknown command', JSON.stringify({ version: 1, command: 'rm -rf' }) + '\n', 'bad request: command: '],
    ['another protocol version', JSON.stringify({ version: 2, command: 'status' }) + '\n', 'bad request: version: '],
  ])('refuses %s with a one-line reason', async (_what, payload, reason) => {
    const path = await serve();
    const [line] = await raw(path, payload);
    const answer = JSON.parse(line!) as { ok: boolean; error: string };
    expect(answer.ok).toBe(false);
    expect(answer.error.startsWith(reason)).toBe(true);
    expect(answer.error).not.toMatch(/\n/);
  });

  it('refuses an oversized request and closes the connection', async () => {
    const path = await serve();
    const lines = await raw(path, 'x'.repeat(MAX_REQUEST_BYTES + 10), 5);
    expect(lines).toEqual([JSON.stringify({ version: 1, ok: false, error: `request longer than ${MAX_REQUEST_BYTES} bytes` })]);
  });

  it.each([
    ['a whole line in one write', `${JSON.stringify({ version: 1, command: 'status', pad: 'x'.repeat(MAX_REQUEST_BYTES) })}\n`],
    ['a line short in characters but not in bytes', `${'€'.repeat(Math.ceil(MAX_REQUEST_BYTES / 2))}\n`],
  ])('refuses %s over the limit, answering nothing else', async (_what, payload) => {
    const path = await serve();
    const lines = await raw(path, payload + `${JSON.stringify({ version: 1, command: 'status' })}\n`, 5);
    expect(lines).toEqual([JSON.stringify({ version: 1, ok: false, error: `request longer than ${MAX_REQUEST_BYTES} bytes` })]);
  });

  it('replaces an answer longer than mapedctl reads with a refusal saying so', async () => {
    const path = await serve(() => ({ text: 'x'.repeat(MAX_ANSWER_BYTES) }));
    await expect(request(path, 'metrics')).rejects.toThrow(new ControlError(`answer longer than ${MAX_ANSWER_BYTES} bytes`));
  });

  it('passes a handler failure back as the error', async () => {
    const path = await serve(() => {
      throw new Error('reload refused: /etc/maped.conf:3:1: unknown keyword "tunel"');
    });
    await expect(request(path, 'reload')).rejects.toThrow(new ControlError('reload refused: /etc/maped.conf:3:1: unknown keyword "tunel"'));
  });

  it('a client names the socket and the system reason when nothing listens', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'maped-control-'));
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    const path = join(dir, 'absent.sock');
    await expect(request(path, 'status')).rejects.toThrow(`connect ${path}: No such file or directory (is maped running?)`);
  });

  it('a client says a file, a folder or a fifo at the path is not a socket, and an empty path is empty', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'maped-control-'));
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    const file = join(dir, 'file');
    const fifo = join(dir, 'fifo');
    writeFileSync(file, '');
    await run('mkfifo', [fifo]);
    for (const path of [file, dir, fifo]) await expect(request(path, 'status')).rejects.toThrow(new ControlError(`${path}: not a socket`));
    await expect(request('', 'status')).rejects.toThrow(new ControlError('socket path is empty'));
  });
});

describe('-s with an empty path', () => {
  it.each([
    ['mapedctl', MAPEDCTL_ENTRY, ['-s', '', 'status'], 'usage: mapedctl [-s socket] command [argument ...]'],
    ['maped', MAPED_ENTRY, ['-d', '--dry-run', '-s', ''], 'usage: maped [-dnv] [-f file] [-s socket] [--dry-run] [--log-json]'],
  ])('%s: a usage error of one line, then the usage line', async (name, entry, args, usage) => {
    const result = await run(process.execPath, ['--import', 'tsx', entry, ...args], { cwd: REPO_ROOT }).then(
      () => ({ code: 0, stderr: '' }),
      (e: { code: number; stderr: string }) => ({ code: e.code, stderr: e.stderr }),
    );
    expect(result).toEqual({ code: 1, stderr: `${name}: -s: socket path is empty\n${usage}\n` });
  });
});

describe('-s: a socket path bind(2) cannot take', () => {
  it('names the sun_path limit of the platform: 103 bytes on OpenBSD, 107 on Linux', () => {
    const path = `/var/run/${'m'.repeat(100)}.sock`;
    expect(socketPathProblem(path, 'openbsd')).toBe(`path is ${path.length} bytes, longer than a Unix socket allows (103 bytes on OpenBSD)`);
    expect(socketPathProblem(path, 'linux')).toBe(`path is ${path.length} bytes, longer than a Unix socket allows (107 bytes on Linux)`);
    expect(socketPathProblem('/var/run/maped.sock', 'openbsd')).toBeNull();
  });

  it('maped refuses a long path or a missing folder before creating anything, and says which', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'maped-control-'));
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    writeFileSync(join(dir, 'maped.conf'), 'wan em0\nstate-dir "state"\n');
    const maped = (socket: string) =>
      run(process.execPath, ['--import', 'tsx', MAPED_ENTRY, '-d', '-f', join(dir, 'maped.conf'), '-s', socket], { cwd: REPO_ROOT }).then(
        () => ({ code: 0, stderr: '' }),
        (e: { code: number; stderr: string }) => ({ code: e.code, stderr: e.stderr }),
      );
    const long = join(dir, `${'s'.repeat(120)}.sock`);
    const missing = join(dir, 'run', 'maped.sock');
    const [tooLong, noFolder] = await Promise.all([maped(long), maped(missing)]);
    expect(tooLong).toEqual({
      code: 1,
      stderr: `maped: control socket ${long}: path is ${Buffer.byteLength(long)} bytes, longer than a Unix socket allows (${socketPathLimit()} bytes on ${process.platform === 'linux' ? 'Linux' : 'OpenBSD'})\n`,
    });
    expect(noFolder).toEqual({ code: 1, stderr: `maped: control socket ${missing}: folder ${join(dir, 'run')} does not exist\n` });
    expect(readdirSync(dir)).toEqual(['maped.conf']);
  });
});

// In two processes the privileged parent serves the connection and relays each line to its child.
describe.each(['one', 'split'] as const)('maped itself, MAPED_PRIVSEP=%s', (privsep) => {
  it('answers requests pipelined on one connection in order, a bad one with its reason; one over the limit is refused and the connection closed', async () => {
    const fake = await createFakeOpenBSD({ kernelPortset: true });
    const dir = await mkdtemp(join(tmpdir(), 'maped-control-'));
    cleanups.push(() => fake.cleanup(), () => rm(dir, { recursive: true, force: true }));
    fakeLeaser(fake, dir)('3400');
    writeFileSync(join(dir, 'maped.conf'), fakeRouterConfig(fake.tools, dir));
    const socket = join(dir, 'maped.sock');
    const maped = startMaped(join(dir, 'maped.conf'), socket, [], undefined, [], undefined, { privsep });
    cleanups.push(async () => {
      maped.signal('SIGKILL');
      await maped.exited;
    });
    await maped.waitFor((s) => s.state === 'active', 'active');
    const ask = (command: string): string => `${JSON.stringify({ version: PROTOCOL_VERSION, command })}\n`;
    const lines = await raw(socket, `${ask('status')}status please\n${ask('show ports')}${ask('show rules')}`, 4);
    const answers = lines.map((l) => JSON.parse(l) as unknown);
    expect(answers[0]).toMatchObject({ version: 1, ok: true, result: { state: 'active' } });
    expect(answers[1]).toEqual({ version: 1, ok: false, error: 'request is not JSON' });
    expect(answers[2]).toMatchObject({ version: 1, ok: true, result: { psid: 0x34 } });
    expect(answers[3]).toMatchObject({ version: 1, ok: true, result: { rules: [expect.anything()] } });
    expect(await raw(socket, `${'x'.repeat(MAX_REQUEST_BYTES + 10)}\n${ask('status')}`, 5)).toEqual([
      JSON.stringify({ version: 1, ok: false, error: `request longer than ${MAX_REQUEST_BYTES} bytes` }),
    ]);
    expect(await request(socket, 'status')).toMatchObject({ state: 'active' });
    maped.signal('SIGTERM');
    expect(await maped.exited).toBe(0);
  }, 60_000);
});
