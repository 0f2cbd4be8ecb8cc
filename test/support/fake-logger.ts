/**
 * A logger(1) stand-in for maped's syslog sink: it reads lines on standard
 * input, as logger.c does when given no message, and appends
 * `<priority> <tag> <line>` for each to a file the test reads.
 */
import { chmodSync, existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface FakeLogger {
  /** The program, for `tool logger`. */
  readonly path: string;
  /** The file its lines go to. */
  readonly logged: string;
  /** Its directory; the caller removes it. */
  readonly dir: string;
}

export function createFakeLogger(): FakeLogger {
  const dir = mkdtempSync(join(tmpdir(), 'maped-syslog-'));
  const path = join(dir, 'logger');
  const logged = join(dir, 'logged');
  writeFileSync(path, `#!/bin/sh\nwhile IFS= read -r line; do printf '%s %s %s\\n' "$2" "$4" "$line" >> '${logged}'; done\n`);
  chmodSync(path, 0o755);
  return { path, logged, dir };
}

/**
 * The lines logged so far, once there are at least `until` of them or
 * `until` holds of them (or after 30 s, whatever there is): a logger may
 * still be writing after maped has handed it its last line.
 */
export async function loggedLines(file: string, until: number | ((lines: string[]) => boolean)): Promise<string[]> {
  const enough = typeof until === 'number' ? (lines: string[]) => lines.length >= until : until;
  const deadline = Date.now() + 30_000;
  for (;;) {
    const lines = existsSync(file) ? readFileSync(file, 'utf8').split('\n').filter((l) => l !== '') : [];
    if (enough(lines) || Date.now() > deadline) return lines;
    await new Promise((r) => setTimeout(r, 20));
  }
}
