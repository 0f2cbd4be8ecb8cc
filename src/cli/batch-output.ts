/**
 * Where `mapedctl calc --batch` writes: two byte buffers taking turns, one
 * being filled by the derivations while the other is written to stdout.
 *
 * Why not process.stdout: Node writes to files and pipes synchronously on
 * POSIX, so every megabyte handed to a pipe stops the derivations until the
 * reader has taken it. fs.write runs on libuv's thread pool instead, and the
 * next megabyte is derived meanwhile. Only one write is in flight at a time,
 * so the output keeps its order.
 */
import { write } from 'node:fs';
import { AsciiSink } from '../map/index.js';

/** How large a buffer grows before it is handed to the writer. */
export const BATCH_FLUSH_BYTES = 1 << 20;

const STDOUT = 1;

type WriteOutcome = 'written' | 'reader-gone';

export class BatchOutput {
  private filling = new AsciiSink(BATCH_FLUSH_BYTES);
  private spare = new AsciiSink(BATCH_FLUSH_BYTES);
  /** The write under way; it never rejects, a failure is kept in {@link failure}. */
  private inFlight: Promise<void> = Promise.resolve();
  private readerGone = false;
  private failure: Error | null = null;
  /** Set once fs.write met a non-blocking descriptor: from then on the stream API, which waits for it. */
  private throughStream = false;

  /** The buffer to append output to; changes after {@link flush}. */
  get sink(): AsciiSink {
    return this.filling;
  }

  /** True once the reader closed its end (EPIPE): nothing more needs deriving. */
  get closed(): boolean {
    return this.readerGone;
  }

  /**
   * Starts writing what was appended, after the previous write has finished
   * (waiting for that one only), and offers the other buffer for appending.
   */
  async flush(): Promise<void> {
    await this.settled();
    if (this.filling.length === 0 || this.readerGone) return;
    const full = this.filling;
    this.filling = this.spare;
    this.spare = full;
    this.inFlight = this.writeAll(full.view()).then(
      (outcome) => {
        if (outcome === 'reader-gone') this.readerGone = true;
        full.clear();
      },
      (error: Error) => {
        this.failure = error;
      },
    );
  }

  /** Writes what is left and waits until all of it is out. */
  async close(): Promise<void> {
    await this.flush();
    await this.settled();
  }

  /** Waits for the write under way; throws what it failed with (EIO, ENOSPC, ...). */
  private async settled(): Promise<void> {
    await this.inFlight;
    if (this.failure !== null) throw this.failure;
  }

  private writeAll(bytes: Uint8Array): Promise<WriteOutcome> {
    if (this.throughStream) return this.writeThroughStream(bytes);
    return new Promise((resolve, reject) => {
      const from = (offset: number): void => {
        write(STDOUT, bytes, offset, bytes.length - offset, null, (error, written) => {
          if (error === null) {
            // A pipe may take part of a write; go on from where it stopped.
            if (offset + written < bytes.length) from(offset + written);
            else resolve('written');
          } else if (error.code === 'EPIPE') {
            resolve('reader-gone');
          } else if (error.code === 'EAGAIN') {
            // Inherited O_NONBLOCK (a parent's event loop set it): fs.write
            // cannot wait for room, the stream API polls for it.
            this.throughStream = true;
            this.writeThroughStream(bytes.subarray(offset)).then(resolve, reject);
          } else {
            reject(error);
          }
        });
      };
      from(0);
    });
  }

  private writeThroughStream(bytes: Uint8Array): Promise<WriteOutcome> {
    return new Promise((resolve, reject) => {
      const onError = (error: NodeJS.ErrnoException): void => {
        if (error.code === 'EPIPE') resolve('reader-gone');
        else reject(error);
      };
      // Fetched only now: process.stdout sets the descriptor up when first asked for.
      const stream = process.stdout;
      stream.once('error', onError);
      // The stream keeps its own reference until written, so the copy lets
      // this buffer be reused at once.
      stream.write(Buffer.from(bytes), (error) => {
        stream.off('error', onError);
        if (error) onError(error);
        else resolve('written');
      });
    });
  }
}
