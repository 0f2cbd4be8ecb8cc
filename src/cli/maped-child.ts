#!/usr/bin/env node
/**
 * The unprivileged part of maped(8) (docs/architecture.md §5): started by
 * maped itself with child_process.fork, never by hand. What it does is in
 * src/daemon/privsep-child.ts.
 */
import { runPrivsepChild } from '../daemon/privsep-child.js';
import { CHILD_ENV, ChildArgsSchema } from '../daemon/privsep-messages.js';

let args: unknown = null;
try {
  args = JSON.parse(process.env[CHILD_ENV] ?? 'null');
} catch {
  // Refused below.
}
const parsed = ChildArgsSchema.safeParse(args);
if (!parsed.success || process.send === undefined) {
  process.stderr.write('maped-child: started by maped only\n');
  process.exit(1);
}
delete process.env[CHILD_ENV];
await runPrivsepChild(parsed.data);
