/** The one place src/config touches the file system: reading maped.conf and its includes. */
import { readRegularFile } from '../bounded-file.js';
import { err, type Result } from '../map/index.js';
import { parseConfig } from './parse.js';
import type { MapedConfig } from './types.js';

/** A configuration file (or an include) larger than this is refused unread. */
export const MAX_CONFIG_BYTES = 1024 * 1024;

/**
 * A configuration file (or an include): a regular file of at most
 * MAX_CONFIG_BYTES (src/bounded-file.ts), and text: a file with a NUL byte
 * (a binary, a disk image given by mistake) is one error, not a page of
 * unknown keywords.
 */
function readBounded(path: string): { text: string } | { error: string } {
  const read = readRegularFile(path, MAX_CONFIG_BYTES);
  if ('error' in read) return read;
  const nul = read.text.indexOf('\0');
  if (nul < 0) return read;
  const line = read.text.slice(0, nul).split('\n').length;
  return { error: `not a text file (a NUL byte on line ${line})` };
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
