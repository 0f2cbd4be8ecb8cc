/**
 * Replacing a small state file whole (the ownership record, the HB46PP
 * cache, maped.prom): the text goes to a temporary file in the same
 * directory, which rename(2) then puts over the old one, so a reader sees
 * the old file or the new one, never half of one. `durable` also fsync(2)s
 * the file before the rename and the directory after it, so the new file
 * survives a crash once this returns (rename(2) alone may not be on disk
 * yet). On any failure (ENOSPC, EROFS, EIO) the temporary file is removed,
 * the old file stays, and the error is thrown.
 */
import { closeSync, fsyncSync, openSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';

export interface ReplaceFileOptions {
  /** Permission bits of the new file. */
  readonly mode: number;
  /** fsync the file and its directory. */
  readonly durable: boolean;
}

export function replaceFile(path: string, text: string, options: ReplaceFileOptions): void {
  const dir = dirname(path);
  const temporary = join(dir, `.${basename(path)}.${process.pid}.tmp`);
  try {
    writeWhole(temporary, text, options);
    renameSync(temporary, path);
  } catch (e) {
    try {
      unlinkSync(temporary);
    } catch {
      // Never created, already renamed, or the file system refuses even that.
    }
    throw e;
  }
  if (options.durable) syncDirectory(dir);
}

function writeWhole(path: string, text: string, options: ReplaceFileOptions): void {
  const fd = openSync(path, 'w', options.mode);
  try {
    const bytes = Buffer.from(text, 'utf8');
    for (let at = 0; at < bytes.length; ) at += writeSync(fd, bytes, at, bytes.length - at);
    if (options.durable) fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

function syncDirectory(dir: string): void {
  const fd = openSync(dir, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}
