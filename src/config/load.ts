/** The one place src/config touches the file system: reading maped.conf and its includes. */
import { readRegularFile } from '../bounded-file.js';
import { err, type Result } from '../map/index.js';
import { parseConfig } from './parse.js';
import type { MapedConfig } from './types.js';

/** A configuration file (or an include) larger than this is refused unread. */
export const MAX_CONFIG_BYTES = 1024 * 1024;

/** A configuration file (or an include): a regular file of at most MAX_CONFIG_BYTES (src/bounded-file.ts). */
function readBounded(path: string): { text: string } | { error: string } {
  return readRegularFile(path, MAX_CONFIG_BYTES);
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
