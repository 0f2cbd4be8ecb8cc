/** Shared by the config tests: parse text as /etc/maped.conf and unwrap the result. */
import { expect } from 'vitest';
import { parseConfig, type MapedConfig, type ReadFile } from '../../src/config/index.js';

export const CONF = '/etc/maped.conf';

export function parsed(text: string, readFile?: ReadFile): MapedConfig {
  const result = parseConfig(text, CONF, readFile);
  if (!result.ok) expect.fail(`expected the config to parse, got: ${result.error}`);
  return result.value;
}

/** Every error of the file, one per line, in file order. */
export function parseErrors(text: string, readFile?: ReadFile): string[] {
  const result = parseConfig(text, CONF, readFile);
  if (result.ok) expect.fail(`expected an error for:\n${text}`);
  return result.error.split('\n');
}

/** The first error of the file: what the cases about one mistake look at. */
export function parseError(text: string, readFile?: ReadFile): string {
  return parseErrors(text, readFile)[0]!;
}
