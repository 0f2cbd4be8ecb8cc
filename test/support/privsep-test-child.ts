/**
 * maped's unprivileged child for the privilege-separation tests: the real
 * child (src/daemon/privsep-child.ts), which on SIGUSR2 also sends its
 * parent the message in the file PRIVSEP_TEST_MESSAGE names (JSON; an
 * array is sent as its messages, all at once), as a child gone hostile would. With PRIVSEP_TEST_MARKER set, only the first child runs:
 * the ones started after it exit at once, as a child that keeps dying.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { runPrivsepChild } from '../../src/daemon/privsep-child.js';
import { CHILD_ENV, ChildArgsSchema } from '../../src/daemon/privsep-messages.js';

const marker = process.env.PRIVSEP_TEST_MARKER;
if (marker !== undefined) {
  if (existsSync(marker)) process.exit(3);
  writeFileSync(marker, `${process.pid}\n`);
}
process.on('SIGUSR2', () => {
  const file = process.env.PRIVSEP_TEST_MESSAGE;
  if (file === undefined) return;
  const sent: unknown = JSON.parse(readFileSync(file, 'utf8'));
  for (const message of Array.isArray(sent) ? sent : [sent]) process.send?.(message);
});
await runPrivsepChild(ChildArgsSchema.parse(JSON.parse(process.env[CHILD_ENV] ?? '')));
