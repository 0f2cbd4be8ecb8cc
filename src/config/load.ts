/** The one place src/config touches the file system: reading maped.conf and its includes. */
import { readFileSync } from 'node:fs';
import { err, type Result } from '../map/index.js';
import { parseConfig } from './parse.js';
import type { MapedConfig } from './types.js';

function readReason(error: unknown): string {
  const code = (error as NodeJS.ErrnoException | null)?.code;
  switch (code) {
    case 'ENOENT':
      return 'no such file or directory';
    case 'EACCES':
      return 'permission denied';
    case 'EISDIR':
      return 'is a directory';
    default:
      return error instanceof Error ? error.message : String(error);
  }
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
