/**
 * The control socket under hostile clients: one that pipelines requests and
 * never reads, one that streams bytes without a newline, many idle ones;
 * and what -s may replace. maped's memory stays bounded, other clients keep
 * getting answers, and nothing but a dead socket is ever unlinked.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, connect, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ControlError, request } from '../../src/control/client.js';
import { MAX_CONNECTIONS, startControlServer, stopControlServer } from '../../src/control/server.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'maped-control-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

async function serve(path: string, handler: () => unknown): Promise<Server> {
  const server = await startControlServer(path, handler);
  cleanups.push(() => stopControlServer(server, path));
  return server;
}

function open(path: string): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect(path);
    socket.once('connect', () => resolve(socket));
    socket.once('error', reject);
    cleanups.push(() => void socket.destroy());
  });
}

const STATUS = JSON.stringify({ version: 1, command: 'status' }) + '\n';

describe('control socket limits', () => {
  it('a client that pipelines megabytes of requests and never reads: maped stops reading it, answers others, handles a bounded number', async () => {
    const path = join(tempDir(), 'maped.sock');
    let handled = 0;
    await serve(path, () => {
      handled++;
      return { state: 'active', filler: 'x'.repeat(2000) };
    });
    const hog = await open(path);
    hog.pause();
    // Write until the kernel buffers are full and the write side backs up.
    const chunk = STATUS.repeat(1000);
    let written = 0;
    for (let i = 0; i < 2000 && hog.write(chunk); i++) written += chunk.length;
    await new Promise((r) => setTimeout(r, 500));
    const before = handled;
    expect(await request(path, 'status', 5000)).toMatchObject({ state: 'active' });
    await new Promise((r) => setTimeout(r, 500));
    // Without backpressure every request written would be answered into memory.
    expect(handled - before).toBeLessThan(200);
    expect(written + hog.writableLength).toBeGreaterThan(chunk.length);
  });

  it('connections beyond the limit are closed at once; the ones inside keep working', async () => {
    const path = join(tempDir(), 'maped.sock');
    const server = await serve(path, () => 'ok');
    const sockets = await Promise.all(Array.from({ length: MAX_CONNECTIONS }, () => open(path)));
    expect(sockets).toHaveLength(MAX_CONNECTIONS);
    const extra = await open(path);
    await new Promise((resolve) => extra.once('close', resolve));
    for (const s of sockets) s.destroy();
    // The server counts a connection gone once it has read its end, not when this side closes it:
    // wait for that rather than a fixed 100 ms, which a stalled test process could spend before
    // the server read any (the request was then refused as one past the limit).
    const connected = (): Promise<number> => new Promise((resolve, reject) => server.getConnections((e, n) => (e ? reject(e) : resolve(n))));
    for (const deadline = Date.now() + 30_000; (await connected()) > 0 && Date.now() < deadline; ) await new Promise((r) => setTimeout(r, 20));
    expect(await request(path, 'status')).toBe('ok');
    expect(server.listening).toBe(true);
  });

  it('mapedctl gives up on a daemon that streams bytes without a newline', async () => {
    const path = join(tempDir(), 'fake.sock');
    const streamer = createServer((socket) => {
      const timer = setInterval(() => socket.write('x'.repeat(100)), 10);
      socket.on('close', () => clearInterval(timer));
      socket.on('error', () => clearInterval(timer));
    });
    await new Promise<void>((r) => streamer.listen(path, r));
    cleanups.push(() => new Promise<void>((r) => streamer.close(() => r())));
    const started = Date.now();
    await expect(request(path, 'status', 1000)).rejects.toThrow(ControlError);
    expect(Date.now() - started).toBeLessThan(5000);
  });
});

describe('-s: what may be replaced', () => {
  it('a regular file at the socket path is refused and left alone', async () => {
    const path = join(tempDir(), 'important.txt');
    writeFileSync(path, 'precious\n');
    await expect(startControlServer(path, () => 'x')).rejects.toThrow('exists and is not a socket; not replacing it');
    expect(readFileSync(path, 'utf8')).toBe('precious\n');
  });

  it('a socket another process answers on is refused and keeps working', async () => {
    const path = join(tempDir(), 'maped.sock');
    await serve(path, () => 'first');
    await expect(startControlServer(path, () => 'second')).rejects.toThrow('another process answers on this socket');
    expect(await request(path, 'status')).toBe('first');
  });

  it('a dead socket left by a killed maped is replaced', async () => {
    const path = join(tempDir(), 'maped.sock');
    const child = spawn(process.execPath, ['-e', `require('net').createServer().listen(${JSON.stringify(path)}, () => console.log('up'))`], { stdio: ['ignore', 'pipe', 'ignore'] });
    await new Promise((resolve) => child.stdout.once('data', resolve));
    child.kill('SIGKILL');
    await new Promise((resolve) => child.once('exit', resolve));
    expect(existsSync(path)).toBe(true);
    await serve(path, () => 'second');
    expect(await request(path, 'status')).toBe('second');
  });

  it('stopping unlinks only the socket this process made', async () => {
    const path = join(tempDir(), 'maped.sock');
    const server = await startControlServer(path, () => 'x');
    await new Promise<void>((r) => server.close(() => r()));
    // Someone else's file now stands at the path.
    rmSync(path, { force: true });
    writeFileSync(path, 'theirs\n');
    await stopControlServer(server, path);
    expect(readFileSync(path, 'utf8')).toBe('theirs\n');
  });
});
