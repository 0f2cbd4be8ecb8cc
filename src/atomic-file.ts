/**
 * Replacing a small state file whole (the ownership record, the HB46PP
 * cache, maped.prom): the text goes to a temporary file in the same
 * directory, which rename(2) then puts over the old one, so a reader sees
 * the old file or the new one, never half of one. `durable` also fsync(2)s
 * the file before the rename and the directory after it, so the new file
 * survives a crash once this returns (rename(2) alone may not be on disk
 * yet). On any failure (ENOSPC, EROFS, EIO) the temporary file is removed,
 * the old file stays, and the error is thrown.
 *
 * The temporary file is made new: a file or symbolic link left at its name
 * (a crash, or someone with write access to the directory) is removed
 * first, and the open refuses to follow a link or reuse a file
 * (O_CREAT|O_EXCL|O_NOFOLLOW), so the text never lands anywhere but in the
 * directory given.
 *
 * The durable form waits for its two fsync(2)s in libuv's thread pool: on
 * a busy disk each takes tens of milliseconds, which a synchronous call
 * would take from every other client of the event loop (`mapedctl status`
 * during an apply, npm run bench soak). The rest is synchronous: a few
 * microseconds for a file of a few hundred bytes.
 */
import { closeSync, constants, fsync, openSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { promisify } from 'node:util';

const fsyncAsync = promisify(fsync);

export interface ReplaceFileOptions {
  /** Permission bits of the new file. */
  readonly mode: number;
}

export function replaceFile(path: string, text: string, options: ReplaceFileOptions): void {
  const temporary = temporaryBeside(path);
  try {
    const fd = openNew(temporary, options.mode);
    try {
      writeWhole(fd, text);
    } finally {
      closeSync(fd);
    }
    renameSync(temporary, path);
  } catch (e) {
    removeQuietly(temporary);
    throw e;
  }
}

/** {@link replaceFile}, and on disk when the promise resolves: the file fsync'd before the rename, the directory after it. */
export async function replaceFileDurably(path: string, text: string, options: ReplaceFileOptions): Promise<void> {
  const temporary = temporaryBeside(path);
  try {
    const fd = openNew(temporary, options.mode);
    try {
      writeWhole(fd, text);
      await fsyncAsync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(temporary, path);
  } catch (e) {
    removeQuietly(temporary);
    throw e;
  }
  const fd = openSync(dirname(path), 'r');
  try {
    await fsyncAsync(fd);
  } finally {
    closeSync(fd);
  }
}

const temporaryBeside = (path: string): string => join(dirname(path), `.${basename(path)}.${process.pid}.tmp`);

/** A new temporary file at `temporary`, never a link's target nor a file already there. */
function openNew(temporary: string, mode: number): number {
  removeQuietly(temporary);
  return openSync(temporary, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, mode);
}

function writeWhole(fd: number, text: string): void {
  const bytes = Buffer.from(text, 'utf8');
  for (let at = 0; at < bytes.length; ) at += writeSync(fd, bytes, at, bytes.length - at);
}

function removeQuietly(path: string): void {
  try {
    unlinkSync(path);
  } catch {
    // Never created, already renamed, or the file system refuses even that.
  }
}
