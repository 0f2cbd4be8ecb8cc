/** The one place src/config touches the file system: reading maped.conf and its includes. */
import { readFileSync } from 'node:fs';
import { err, type Result } from '../map/index.js';
import { parseConfig } from './parse.js';
import type { MapedConfig } from './types.js';

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

function readText(path: string): string | null {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return null;
  }
}

/** Reads and parses a configuration file; synchronous, as it runs at start-up and on SIGHUP only. */
export function loadConfig(path: string): Result<MapedConfig> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    return err(`${path}: ${readReason(error)}`);
  }
  return parseConfig(text, path, readText);
}
