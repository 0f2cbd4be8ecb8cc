/**
 * maped's unprivileged child for the privilege-separation tests: the real
 * child (src/daemon/privsep-child.ts), which on SIGUSR2 also writes to its
 * channel what a child gone hostile would:
 *
 * - with PRIVSEP_TEST_MESSAGE, the message in the file it names (JSON; an
 *   array is sent as its messages, all at once), each one line;
 * - with PRIVSEP_TEST_ENDLESS, one line that never ends: megabytes of `a`
 *   without a newline, as fast as the parent reads, until the parent ends it.
 *
 * With PRIVSEP_TEST_MARKER set, only the first child runs: the ones started
 * after it exit at once, as a child that keeps dying.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { parentSocket, runPrivsepChild } from '../../src/daemon/privsep-child.js';
import { CHILD_ENV, ChildArgsSchema } from '../../src/daemon/privsep-messages.js';

const marker = process.env.PRIVSEP_TEST_MARKER;
if (marker !== undefined) {
  if (existsSync(marker)) process.exit(3);
  writeFileSync(marker, `${process.pid}\n`);
}
const socket = parentSocket();

/** Writes `a` for ever, a mebibyte at a time, whenever the socket takes more. */
function endlessLine(): void {
  const chunk = Buffer.alloc(1024 * 1024, 'a');
  const more = (): void => {
    while (!socket.destroyed && socket.write(chunk));
    if (!socket.destroyed) socket.once('drain', more);
  };
  more();
}

process.on('SIGUSR2', () => {
  if (process.env.PRIVSEP_TEST_ENDLESS !== undefined) return endlessLine();
  const file = process.env.PRIVSEP_TEST_MESSAGE;
  if (file === undefined) return;
  const sent: unknown = JSON.parse(readFileSync(file, 'utf8'));
  for (const message of Array.isArray(sent) ? sent : [sent]) socket.write(`${JSON.stringify(message)}\n`);
});
await runPrivsepChild(ChildArgsSchema.parse(JSON.parse(process.env[CHILD_ENV] ?? '')), socket);
