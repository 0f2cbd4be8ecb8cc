/** The one place src/config touches the file system: reading maped.conf and its includes. */
import { closeSync, constants, fstatSync, openSync, readSync } from 'node:fs';
import { err, type Result } from '../map/index.js';
import { parseConfig } from './parse.js';
import type { MapedConfig } from './types.js';

/** A configuration file (or an include) larger than this is refused unread. */
export const MAX_CONFIG_BYTES = 1024 * 1024;

/**
 * The strerror part of a Node fs error ("ENOENT: no such file or directory,
 * open '/etc/maped.conf'" → "no such file or directory"): the path is already
 * at the start of our message.
 */
function readReason(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  const match = /^[A-Z0-9_]+: ([^,]+),/.exec(message);
  return match?.[1] ?? message;
}

/**
 * Reads a regular file of at most MAX_CONFIG_BYTES. Opened non-blocking, so
 * that a FIFO named by mistake cannot hang the open; anything but a regular
 * file (a FIFO, /dev/zero, a directory) is refused before a byte is read.
 */
function readBounded(path: string): { text: string } | { error: string } {
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (error) {
    return { error: readReason(error) };
  }
  try {
    const stat = fstatSync(fd);
    if (!stat.isFile()) return { error: 'not a regular file' };
    if (stat.size > MAX_CONFIG_BYTES) return { error: `larger than ${MAX_CONFIG_BYTES} bytes` };
    const buffer = Buffer.alloc(MAX_CONFIG_BYTES + 1);
    let length = 0;
    for (let n = -1; n !== 0 && length <= MAX_CONFIG_BYTES; length += n) n = readSync(fd, buffer, length, buffer.length - length, null);
    if (length > MAX_CONFIG_BYTES) return { error: `larger than ${MAX_CONFIG_BYTES} bytes` };
    return { text: buffer.toString('utf8', 0, length) };
  } catch (error) {
    return { error: readReason(error) };
  } finally {
    closeSync(fd);
  }
}

/** Reads and parses a configuration file; synchronous, as it runs at start-up and on SIGHUP only. */
export function loadConfig(path: string): Result<MapedConfig> {
  const read = readBounded(path);
  if ('error' in read) return err(`${path}: ${read.error}`);
  return parseConfig(read.text, path, (include) => {
    const got = readBounded(include);
    return 'text' in got ? got.text : got;
  });
}
