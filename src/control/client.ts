/**
 * The mapedctl side of the control socket: one request, one response.
 */
import { statSync } from 'node:fs';
import { connect } from 'node:net';
import { MAX_ANSWER_BYTES, PROTOCOL_VERSION, ResponseSchema, type ControlCommand } from './protocol.js';

const STRERROR: Record<string, string> = {
  ENOENT: 'No such file or directory',
  ECONNREFUSED: 'Connection refused',
  EACCES: 'Permission denied',
  ENOTSOCK: 'Socket operation on non-socket',
  ETIMEDOUT: 'Operation timed out',
};

/** No socket, or nobody listening on it: most likely maped is not running. */
const NOT_LISTENING = new Set(['ENOENT', 'ECONNREFUSED']);

export class ControlError extends Error {}

/** Something other than a socket is at the path; what cannot be looked at (EACCES) is left to connect() to report. */
function notASocket(path: string): boolean {
  try {
    return statSync(path, { throwIfNoEntry: false })?.isSocket() === false;
  } catch {
    return false;
  }
}

/** Sends `command` and resolves with the daemon's result; rejects with a one-line ControlError. */
/** How long mapedctl waits for an answer. */
export const REQUEST_TIMEOUT_MS = 5000;

export function request(socketPath: string, command: ControlCommand, timeoutMs = REQUEST_TIMEOUT_MS): Promise<unknown> {
  // connect() would take '' for a port, and refuses a file, a folder or a fifo as if maped were not running.
  if (socketPath === '') return Promise.reject(new ControlError('socket path is empty'));
  if (notASocket(socketPath)) return Promise.reject(new ControlError(`${socketPath}: not a socket`));
  return new Promise((resolve, reject) => {
    const socket = connect(socketPath);
    let buffered = '';
    const fail = (message: string): void => {
      socket.destroy();
      reject(new ControlError(message));
    };
    // A deadline for the whole answer, not an idle timeout: a peer that
    // trickles bytes without a newline must not hold mapedctl forever.
    const deadline = setTimeout(() => fail(`${socketPath}: no answer within ${timeoutMs / 1000} s`), timeoutMs);
    socket.once('close', () => clearTimeout(deadline));
    socket.on('error', (e: NodeJS.ErrnoException) =>
      fail(`connect ${socketPath}: ${STRERROR[e.code ?? ''] ?? e.message}${NOT_LISTENING.has(e.code ?? '') ? ' (is maped running?)' : ''}`),
    );
    socket.on('connect', () => socket.write(JSON.stringify({ version: PROTOCOL_VERSION, command }) + '\n'));
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      buffered += chunk;
      const newline = buffered.indexOf('\n');
      if (newline === -1) {
        if (buffered.length > MAX_ANSWER_BYTES) fail(`${socketPath}: answer longer than ${MAX_ANSWER_BYTES} bytes`);
        return;
      }
      socket.end();
      let json: unknown;
      try {
        json = JSON.parse(buffered.slice(0, newline));
      } catch {
        return fail('maped sent an unreadable answer');
      }
      const response = ResponseSchema.safeParse(json);
      if (!response.success) return fail('maped sent an answer of another protocol version');
      if (!response.data.ok) return fail(response.data.error);
      resolve(response.data.result);
    });
    socket.on('end', () => {
      if (!buffered.includes('\n')) fail('maped closed the connection without answering');
    });
  });
}
