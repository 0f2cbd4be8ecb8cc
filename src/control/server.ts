/**
 * The daemon side of the control socket: a Unix socket, mode 0660, speaking
 * the protocol of protocol.ts to any number of clients at once.
 */
import { chmodSync, existsSync, unlinkSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { dirname } from 'node:path';
import {
  MAX_REQUEST_BYTES,
  PROTOCOL_VERSION,
  RequestSchema,
  type ControlCommand,
  type ControlResponse,
} from './protocol.js';

export type CommandHandler = (command: ControlCommand) => Promise<unknown> | unknown;

function reply(socket: Socket, response: ControlResponse): void {
  if (!socket.destroyed) socket.write(JSON.stringify(response) + '\n');
}

function refuse(socket: Socket, error: string): void {
  reply(socket, { version: PROTOCOL_VERSION, ok: false, error });
}

async function answer(socket: Socket, line: string, handle: CommandHandler): Promise<void> {
  let json: unknown;
  try {
    json = JSON.parse(line);
  } catch {
    return refuse(socket, 'request is not JSON');
  }
  const request = RequestSchema.safeParse(json);
  if (!request.success) {
    const issue = request.error.issues[0];
    return refuse(socket, `bad request: ${issue?.path.join('.') || 'request'}: ${issue?.message ?? 'invalid'}`);
  }
  try {
    reply(socket, { version: PROTOCOL_VERSION, ok: true, result: await handle(request.data.command) });
  } catch (e) {
    refuse(socket, (e as Error).message);
  }
}

function serveConnection(socket: Socket, handle: CommandHandler): void {
  let buffered = '';
  socket.setEncoding('utf8');
  socket.on('error', () => socket.destroy());
  socket.on('data', (chunk: string) => {
    buffered += chunk;
    let newline = buffered.indexOf('\n');
    while (newline !== -1) {
      const line = buffered.slice(0, newline);
      buffered = buffered.slice(newline + 1);
      if (line.trim() !== '') void answer(socket, line, handle);
      newline = buffered.indexOf('\n');
    }
    if (buffered.length > MAX_REQUEST_BYTES) {
      refuse(socket, `request longer than ${MAX_REQUEST_BYTES} bytes`);
      socket.end();
    }
  });
}

/**
 * The longest socket path bind(2) takes: sun_path holds 104 bytes on
 * OpenBSD (sys/sys/un.h) and 108 on Linux (<sys/un.h>), the terminating NUL
 * included.
 */
export function socketPathLimit(platform: NodeJS.Platform = process.platform): number {
  return (platform === 'linux' ? 108 : 104) - 1;
}

/**
 * Why `path` cannot be a control socket, or null: checked before anything is
 * created, so a refused start leaves nothing behind and names the real
 * cause (bind(2) on a missing folder says EACCES or ENOENT, on a long path
 * it truncates or fails with EINVAL).
 */
export function socketPathProblem(path: string, platform: NodeJS.Platform = process.platform): string | null {
  const bytes = Buffer.byteLength(path);
  const limit = socketPathLimit(platform);
  if (bytes > limit) {
    return `path is ${bytes} bytes, longer than a Unix socket allows (${limit} bytes on ${platform === 'linux' ? 'Linux' : 'OpenBSD'})`;
  }
  const folder = dirname(path);
  if (!existsSync(folder)) return `folder ${folder} does not exist`;
  return null;
}

/**
 * Listens on `path`. A socket file left there by a previous run is removed
 * first: the caller holds the daemon lock, so no live maped owns it.
 */
export async function startControlServer(path: string, handle: CommandHandler): Promise<Server> {
  if (existsSync(path)) unlinkSync(path);
  const server = createServer((socket) => serveConnection(socket, handle));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(path, () => {
      server.off('error', reject);
      resolve();
    });
  });
  // docs/architecture.md §5: 0660 (root:wheel on OpenBSD: the socket directory's group).
  chmodSync(path, 0o660);
  return server;
}

export async function stopControlServer(server: Server, path: string): Promise<void> {
  await new Promise<void>((resolve) => server.close(() => resolve()));
  try {
    unlinkSync(path);
  } catch {
    // Already gone: nothing to clean.
  }
}
