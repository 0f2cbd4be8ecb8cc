/**
 * Exiting once the output is out. process.exit() ends the process at once,
 * and what a pipe could not take yet (64 KiB on Linux, 16 KiB on OpenBSD
 * before it grows) waits in Node's queue and is lost: rc.d(8) pipes maped's
 * stderr to logger(1), and `maped -nv | less` reads stdout.
 */

/**
 * Resolves once all that was written to the stream before is out (a
 * write's callback runs after those queued before it), or the reader is
 * gone (`maped -nv | head`: EPIPE, quietly, as SIGPIPE would end a C
 * program; the listener stays, as the error is emitted after the callback
 * or after the stream was destroyed).
 */
function drained(stream: NodeJS.WriteStream): Promise<void> {
  return new Promise((resolve) => {
    stream.on('error', () => resolve());
    // Destroyed by a write that failed before: its error is still to be emitted.
    if (stream.destroyed || !stream.writable) return resolve();
    stream.write('', () => resolve());
  });
}

/** Sets the exit status, waits until stdout and stderr are written, and exits. */
export async function exitWhenWritten(code: number): Promise<never> {
  process.exitCode = code;
  await Promise.all([drained(process.stdout), drained(process.stderr)]);
  process.exit(code);
}
