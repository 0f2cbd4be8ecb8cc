/**
 * The daemon side of the control socket: a Unix socket, mode 0660, speaking
 * the protocol of protocol.ts to a bounded number of clients at once.
 *
 * Limits, so that no client can make maped grow or stop answering others:
 * at most MAX_CONNECTIONS at a time; a connection idle for IDLE_TIMEOUT_MS is
 * closed; a request is at most MAX_REQUEST_BYTES and an answer at most
 * MAX_ANSWER_BYTES; requests on one connection are answered one at a time,
 * and while answers are unread (the socket's write buffer is full) or
 * MAX_QUEUED requests wait, maped stops reading that connection, so a client
 * that pipelines without reading is held back by its own socket buffers.
 *
 * The connections are always served by the process that accepts them. What
 * answers a request is a function of its line: in one process, the daemon
 * core's handler ({@link answerLine}); in a privilege-separated maped, the
 * privileged parent relays the line, unparsed, to its unprivileged child,
 * which answers it with answerLine (src/daemon/privsep-parent.ts).
 */
import { chmodSync, existsSync, lstatSync, unlinkSync, type Stats } from 'node:fs';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { dirname } from 'node:path';
import {
  MAX_ANSWER_BYTES,
  MAX_REQUEST_BYTES,
  PROTOCOL_VERSION,
  RequestSchema,
  type ControlCommand,
  type ControlResponse,
} from './protocol.js';

export type CommandHandler = (command: ControlCommand) => Promise<unknown> | unknown;
/** The answer to one request line (without its newline): one line of text, its newline included. */
export type Responder = (line: string) => Promise<string>;

export const MAX_CONNECTIONS = 64;
export const IDLE_TIMEOUT_MS = 30_000;
/** Requests read ahead on one connection before it is no longer read. */
export const MAX_QUEUED = 16;

const line = (response: ControlResponse): string => JSON.stringify(response) + '\n';
/** A refusal in the protocol's words: one line, its newline included. */
export const refusalLine = (error: string): string => line({ version: PROTOCOL_VERSION, ok: false, error });

/**
 * The answer to one request line: parsed, validated and handed to
 * `handle`. An answer longer than MAX_ANSWER_BYTES (which mapedctl would
 * refuse) is replaced by a refusal saying so.
 */
export async function answerLine(text: string, handle: CommandHandler): Promise<string> {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return refusalLine('request is not JSON');
  }
  const request = RequestSchema.safeParse(json);
  if (!request.success) {
    const issue = request.error.issues[0];
    return refusalLine(`bad request: ${issue?.path.join('.') || 'request'}: ${issue?.message ?? 'invalid'}`);
  }
  let answer: string;
  try {
    answer = line({ version: PROTOCOL_VERSION, ok: true, result: await handle(request.data.command) });
  } catch (e) {
    answer = refusalLine((e as Error).message);
  }
  return Buffer.byteLength(answer, 'utf8') > MAX_ANSWER_BYTES ? refusalLine(`answer longer than ${MAX_ANSWER_BYTES} bytes`) : answer;
}

/** Resolves once the socket can take more output, or is gone. */
function drained(socket: Socket): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      socket.off('drain', done);
      socket.off('close', done);
      resolve();
    };
    socket.on('drain', done);
    socket.on('close', done);
  });
}

/**
 * Answers the requests of one connection, each line with `respond`; only
 * lines within MAX_REQUEST_BYTES reach it, so whatever `respond` does with
 * one (a privsep parent sends it to its child) is bounded too.
 */
export function serveConnection(socket: Socket, respond: Responder): void {
  let buffered = '';
  const queue: string[] = [];
  let busy = false;
  socket.setEncoding('utf8');
  socket.setTimeout(IDLE_TIMEOUT_MS, () => socket.destroy());
  socket.on('error', () => socket.destroy());

  const pump = async (): Promise<void> => {
    if (busy) return;
    busy = true;
    for (let next = queue.shift(); next !== undefined && !socket.destroyed; next = queue.shift()) {
      const response = await respond(next);
      if (socket.destroyed) break;
      if (!socket.write(response)) await drained(socket);
    }
    queue.length = 0;
    busy = false;
    if (!socket.destroyed && socket.isPaused()) socket.resume();
  };

  // Bytes as they came, not UTF-16 units: a request of 4096 "€" is 12 KiB.
  const tooLong = (text: string): boolean => text.length > MAX_REQUEST_BYTES || Buffer.byteLength(text, 'utf8') > MAX_REQUEST_BYTES;
  socket.on('data', (chunk: string) => {
    buffered += chunk;
    let newline = buffered.indexOf('\n');
    let overlong = false;
    while (newline !== -1) {
      const request = buffered.slice(0, newline);
      buffered = buffered.slice(newline + 1);
      // A whole line that came in one read is held to the limit as much as a partial one.
      if (tooLong(request)) overlong = true;
      else if (request.trim() !== '') queue.push(request);
      newline = buffered.indexOf('\n');
    }
    if (overlong || tooLong(buffered)) {
      queue.length = 0;
      buffered = '';
      socket.pause();
      socket.end(refusalLine(`request longer than ${MAX_REQUEST_BYTES} bytes`));
      return;
    }
    if (queue.length >= MAX_QUEUED) socket.pause();
    void pump();
  });
}

/** What stands at `path`, or null when nothing does. */
function statOf(path: string): Stats | null {
  try {
    return lstatSync(path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw e;
  }
}

/** Whether something accepts connections on the socket at `path`. */
function answers(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = connect(path);
    const settle = (yes: boolean): void => {
      probe.destroy();
      resolve(yes);
    };
    probe.setTimeout(2000, () => settle(true));
    probe.once('connect', () => settle(true));
    probe.once('error', () => settle(false));
  });
}

export class ControlSocketError extends Error {}

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
 * Listens on `path`. Only ever replaces a socket nobody answers on (left by
 * a maped that was killed): a regular file, a directory or anything else at
 * the path is refused, and so is a socket some process still listens on.
 */
export function startControlServer(path: string, handle: CommandHandler): Promise<Server> {
  return listenControlSocket(path, (socket) => serveConnection(socket, (text) => answerLine(text, handle)));
}

/**
 * Listens on `path` as {@link startControlServer} does, handing each
 * connection to `onConnection` (a privsep parent's, which serves it with
 * its relay to the child); at most MAX_CONNECTIONS at once.
 */
export async function listenControlSocket(path: string, onConnection: (socket: Socket) => void): Promise<Server> {
  const existing = statOf(path);
  if (existing !== null) {
    if (!existing.isSocket()) throw new ControlSocketError('exists and is not a socket; not replacing it');
    if (await answers(path)) throw new ControlSocketError('another process answers on this socket');
    unlinkSync(path);
  }
  const server = createServer(onConnection);
  server.maxConnections = MAX_CONNECTIONS;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(path, () => {
      server.off('error', reject);
      resolve();
    });
  });
  // After listening, a failed accept (EMFILE) is the client's loss, not maped's end.
  server.on('error', () => undefined);
  // 0660 (root:wheel on OpenBSD: the socket directory's group), mapedctl(8).
  chmodSync(path, 0o660);
  const made = lstatSync(path);
  ownSockets.set(path, { dev: made.dev, ino: made.ino });
  return server;
}

/** The sockets this process made, to unlink only those. */
const ownSockets = new Map<string, { dev: number; ino: number }>();

/** Unlinks `path` if it is still the socket this process created there. */
export function removeOwnSocket(path: string): void {
  const own = ownSockets.get(path);
  ownSockets.delete(path);
  if (own === undefined) return;
  try {
    const now = lstatSync(path);
    if (now.isSocket() && now.dev === own.dev && now.ino === own.ino) unlinkSync(path);
  } catch {
    // Already gone: nothing to clean.
  }
}

/**
 * Stops listening and removes the socket. The connections still open are
 * waited for unless `waitForConnections` is false (a privsep parent: the
 * child that answered them has stopped, so they would only be refused
 * until their idle timeout, past maped's stop deadline).
 */
export async function stopControlServer(server: Server, path: string, options: { waitForConnections?: boolean } = {}): Promise<void> {
  if (options.waitForConnections === false) server.close();
  else await new Promise<void>((resolve) => server.close(() => resolve()));
  removeOwnSocket(path);
}
