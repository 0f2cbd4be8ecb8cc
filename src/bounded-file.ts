/**
 * Reading a small file someone named (maped.conf and its includes, a lease
 * file given to `mapedctl decode`): a regular file of at most `max` bytes,
 * or a one-line reason. Opened non-blocking, so that a FIFO named by mistake
 * cannot hang the open, and checked on the descriptor, so anything but a
 * regular file (a FIFO, /dev/zero, a directory) is refused before a byte is
 * read; at most `max` + 1 bytes are ever read, whatever the file grows to.
 */
import { closeSync, constants, fstatSync, openSync, readSync } from 'node:fs';

/**
 * The strerror part of a Node fs error ("ENOENT: no such file or directory,
 * open '/etc/maped.conf'" → "no such file or directory"): the path is already
 * at the start of the caller's message.
 */
function readReason(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  const match = /^[A-Z0-9_]+: ([^,]+),/.exec(message);
  return match?.[1] ?? message;
}

/** Why a read failed: one line, and the errno code when the system gave one (ENOENT: no such file). */
export type ReadFailure = { readonly error: string; readonly code?: string };

/** `noFollow`: a symbolic link at `path` is refused (ELOOP), never read through (a name someone else may have planted). */
function failure(error: unknown): ReadFailure {
  const code = (error as NodeJS.ErrnoException).code;
  return code === undefined ? { error: readReason(error) } : { error: readReason(error), code };
}

export function readRegularFile(path: string, max: number, options: { readonly noFollow?: boolean } = {}): { text: string } | ReadFailure {
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK | (options.noFollow === true ? constants.O_NOFOLLOW : 0));
  } catch (error) {
    return failure(error);
  }
  try {
    const stat = fstatSync(fd);
    if (!stat.isFile()) return { error: 'not a regular file' };
    if (stat.size > max) return { error: `larger than ${max} bytes` };
    const buffer = Buffer.alloc(max + 1);
    let length = 0;
    for (let n = -1; n !== 0 && length <= max; length += n) n = readSync(fd, buffer, length, buffer.length - length, null);
    if (length > max) return { error: `larger than ${max} bytes` };
    return { text: buffer.toString('utf8', 0, length) };
  } catch (error) {
    return failure(error);
  } finally {
    closeSync(fd);
  }
}
