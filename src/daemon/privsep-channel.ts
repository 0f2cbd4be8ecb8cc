/**
 * The channel between maped's privileged parent and its unprivileged child
 * (docs/architecture.md §5): newline-delimited JSON over a stream socket
 * (the child's fd 3, a socketpair(2)), one message a line, each validated
 * with its zod schema (privsep-messages.ts) when it arrives.
 *
 * Node's own IPC channel (child_process.fork) reads a JSON line whole into
 * one string before parsing it, with no limit: a child that writes without
 * a newline grows its parent until V8 gives up. Here a line's length is
 * counted in bytes while it is read, across chunks, and a line longer than
 * the bound is never held: the parent ends the channel (and the child with
 * it), the child drops the line and reads on.
 */
import type { Socket } from 'node:net';
import type { z } from 'zod';
import { messageProblem } from './privsep-messages.js';

const NEWLINE = 0x0a;

export interface ChannelOptions<In> {
  /** The most bytes a line received may hold, its newline not counted. */
  readonly maxLineBytes: number;
  /** The most bytes a line sent may hold: the other side's maxLineBytes. */
  readonly maxSendBytes: number;
  /** What a message received must be. */
  readonly schema: z.ZodType<In>;
  /**
   * A line received over maxLineBytes: `close` ends the channel at once (the
   * parent, reading a child it does not trust); `skip` drops the line as it
   * comes, up to its newline, and reads on (the child, reading its parent).
   */
  readonly overlong: 'close' | 'skip';
  readonly onMessage: (message: In) => void;
  /** A line too long, not JSON, or not valid: one line saying why. The message is dropped. */
  readonly onProblem: (why: string) => void;
  /** The other side closed, or the channel was ended; said once. */
  readonly onClose?: () => void;
}

export class MessageChannel<In, Out> {
  /** The line read so far: the pieces of the chunks it spans, and their bytes. */
  private pieces: Buffer[] = [];
  private partial = 0;
  /** In a line over the bound (overlong `skip`): dropped up to its newline. */
  private skipping = false;
  private closed = false;

  constructor(
    private readonly socket: Socket,
    private readonly options: ChannelOptions<In>,
  ) {
    socket.on('data', (chunk: Buffer) => this.read(chunk));
    // 'close' follows an error, and is what the owner is told.
    socket.on('error', () => undefined);
    socket.once('close', () => this.ended());
  }

  /** The socket can still be written: the channel was not ended and the other side did not close. */
  get open(): boolean {
    return !this.closed && this.socket.writable;
  }

  /**
   * Sends `message` as one line; `flushed` is called once it has been
   * handed to the kernel (or the channel ended first). False, and nothing
   * sent, when the line would be longer than the other side reads or the
   * channel is closed.
   */
  send(message: Out, flushed?: () => void): boolean {
    if (!this.open) return false;
    const line = Buffer.from(`${JSON.stringify(message)}\n`, 'utf8');
    if (line.length - 1 > this.options.maxSendBytes) return false;
    this.socket.write(line, () => flushed?.());
    return true;
  }

  /** Stops reading and writing; nothing more is delivered. */
  close(): void {
    this.pieces = [];
    this.partial = 0;
    this.socket.destroy();
    this.ended();
  }

  private ended(): void {
    if (this.closed) return;
    this.closed = true;
    this.options.onClose?.();
  }

  private read(chunk: Buffer): void {
    const max = this.options.maxLineBytes;
    let start = 0;
    while (!this.closed && start < chunk.length) {
      const newline = chunk.indexOf(NEWLINE, start);
      const end = newline === -1 ? chunk.length : newline;
      if (!this.skipping) {
        if (this.partial + (end - start) > max) {
          // Counted before it is kept: the partial line never grows past the bound.
          this.pieces = [];
          this.partial = 0;
          this.options.onProblem(`a message longer than ${max} bytes`);
          if (this.options.overlong === 'close') {
            this.close();
            return;
          }
          this.skipping = true;
        } else if (end > start) {
          this.pieces.push(chunk.subarray(start, end));
          this.partial += end - start;
        }
      }
      if (newline === -1) return;
      start = newline + 1;
      if (this.skipping) {
        this.skipping = false;
        continue;
      }
      const line = Buffer.concat(this.pieces, this.partial);
      this.pieces = [];
      this.partial = 0;
      this.deliver(line);
    }
  }

  private deliver(line: Buffer): void {
    let json: unknown;
    try {
      json = JSON.parse(line.toString('utf8'));
    } catch {
      this.options.onProblem('a message that is not JSON');
      return;
    }
    const parsed = this.options.schema.safeParse(json);
    if (!parsed.success) {
      this.options.onProblem(`a message that does not validate (${messageProblem(parsed.error)})`);
      return;
    }
    this.options.onMessage(parsed.data);
  }
}
