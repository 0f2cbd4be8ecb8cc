#!/usr/bin/env node
/**
 * The unprivileged part of maped(8) (docs/architecture.md §5): started by
 * maped itself (child_process.spawn, its channel to maped a socketpair on
 * fd 3), never by hand. What it does is in src/daemon/privsep-child.ts.
 */
import { fstatSync } from 'node:fs';
import { CHANNEL_FD, runPrivsepChild } from '../daemon/privsep-child.js';
import { CHILD_ENV, ChildArgsSchema } from '../daemon/privsep-messages.js';

let args: unknown = null;
try {
  args = JSON.parse(process.env[CHILD_ENV] ?? 'null');
} catch {
  // Refused below.
}
/** Whether fd 3 is a socket, as the channel maped starts the child with. */
function channelOpen(): boolean {
  try {
    return fstatSync(CHANNEL_FD).isSocket();
  } catch {
    return false;
  }
}
const parsed = ChildArgsSchema.safeParse(args);
if (!parsed.success || !channelOpen()) {
  process.stderr.write('maped-child: started by maped only\n');
  process.exit(1);
}
delete process.env[CHILD_ENV];
await runPrivsepChild(parsed.data);
