/**
 * The messages between maped's privileged parent and its unprivileged child
 * (docs/architecture.md §5), one JSON line each over the channel of
 * privsep-channel.ts (the child's fd 3), whose lines are bounded in bytes
 * as they are read: MAX_CHILD_MESSAGE_BYTES from the child,
 * MAX_PARENT_MESSAGE_BYTES from the parent. Each side validates what it
 * receives with these schemas before it acts on it; every string and count
 * is bounded, so a child that turns hostile can neither make the parent run
 * something the allowlist refuses nor make it hold unbounded data.
 *
 * Parent → child at the start: the child's arguments, in its environment.
 * Child → parent: requests, each with an id the answer repeats, and the
 * answers to control requests.
 * Parent → child: answers, the configuration, wake-ups, control requests
 * (each line a client sent, unparsed) and stop.
 */
import { z } from 'zod';
import { MAX_STATES_OUTPUT } from '../apply/pf-states.js';
import { MAX_ANSWER_BYTES, MAX_REQUEST_BYTES } from '../control/protocol.js';
import { MAX_ANCHOR_TEXT } from '../openbsd/index.js';
import { MAX_CONFIG_BYTES } from '../config/load.js';

/** The environment variable that makes a maped process the child; its value is {@link ChildArgs} as JSON. */
export const CHILD_ENV = 'MAPED_PRIVSEP_CHILD';

/** What the child is started with, in {@link CHILD_ENV}. */
export const ChildArgsSchema = z.strictObject({
  configPath: z.string().max(4096),
  verbose: z.boolean(),
  json: z.boolean(),
  /** logger(1)'s path when maped logs to syslogd(8) (without -d), as the parent does; null: stderr. */
  syslog: z.string().max(4096).nullable(),
});
export type ChildArgs = z.infer<typeof ChildArgsSchema>;

/** An id of the child's; the parent answers with the same one. */
const id = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);
/** A reason or a path: one line of text, not a document. */
const line = z.string().max(4096);
/** What a tool may print: the largest cap of a run, pf's whole state table (src/apply/pf-states.ts). */
const MAX_TOOL_OUTPUT = MAX_STATES_OUTPUT;
/** The ownership record: a few hundred bytes; a stock-mode record with every range stays far under this. */
export const MAX_OWNERSHIP_TEXT = 4 * 1024 * 1024;

/**
 * How long one side waits for the other's answer past the work it asked
 * for: the child for a tool run (past the run's own timeout, which the
 * parent enforces) or a file, the parent for the answer to a control
 * request (a client waits 5 s, mapedctl(8)).
 */
export const ANSWER_MARGIN_MS = 15_000;

/**
 * The longest line the parent reads from the child, in bytes (its newline
 * not counted): 8 MiB and 64 KiB. The largest messages a child of maped's
 * sends are a `run` of pfctl with the anchor text on stdin and a
 * `write-ownership`; the parent takes at most MAX_ANCHOR_TEXT (4 Mi)
 * characters of anchor and MAX_OWNERSHIP_TEXT (4 Mi) of record, both ASCII
 * (the allowlist refuses control characters but newline and tab in the
 * anchor; the record is JSON of names, numbers and addresses), so
 * JSON-escaped at most twice as many bytes; the rest of a run (64 words of
 * at most 128 characters, a tool path) stays far below 64 KiB. The largest
 * stock-pf anchor maped writes, 16 383 rules (MAX_STOCK_RULES is 16 384)
 * with a 31-character label, is 2.4 MB, its run message 2.5 MB. A control
 * reply is at most MAX_ANSWER_BYTES (1 MiB), twice that escaped. A line
 * longer than this is no message of maped's: the child is ended.
 */
export const MAX_CHILD_MESSAGE_BYTES = 2 * Math.max(MAX_ANCHOR_TEXT, MAX_OWNERSHIP_TEXT, MAX_ANSWER_BYTES) + 64 * 1024;

/**
 * The longest line the child reads from the parent: a `ran` with stdout and
 * stderr of MAX_TOOL_OUTPUT (64 MiB) each, JSON-escaped at most twice as
 * long for text (newlines, tabs, quotes), and 1 MiB for the rest; 257 MiB,
 * half of V8's longest string. The parent is trusted: a longer line (a
 * tool's output of control characters) is dropped and the request it
 * answers fails at its deadline.
 */
export const MAX_PARENT_MESSAGE_BYTES = 2 * 2 * MAX_STATES_OUTPUT + 1024 * 1024;

export const ChildRequestSchema = z.discriminatedUnion('type', [
  /** Run a tool: the parent checks the argv (and stdin) against the allowlist first. */
  z.strictObject({
    type: z.literal('run'),
    id,
    file: line,
    args: z.array(z.string().max(4096)).max(64),
    stdin: z.string().max(MAX_ANCHOR_TEXT).optional(),
    timeoutMs: z.number().int().min(1).max(600_000),
    maxOutput: z.number().int().min(1).max(MAX_TOOL_OUTPUT),
  }),
  /** The lease file of the configuration (the only file the parent reads for the child). */
  z.strictObject({ type: z.literal('read-lease'), id, path: line }),
  /** The ownership record's text, or null when there is none. */
  z.strictObject({ type: z.literal('read-ownership'), id }),
  /** Replace the ownership record; the parent validates it before writing. */
  z.strictObject({ type: z.literal('write-ownership'), id, text: z.string().max(MAX_OWNERSHIP_TEXT) }),
  /** Read maped.conf again (mapedctl reload); the answer is the configuration or why not. */
  z.strictObject({ type: z.literal('reload'), id }),
  /** The child is up and serving: the parent may hand it connections. */
  z.strictObject({ type: z.literal('ready') }),
  /** Stopping: the apply in flight at the stop is over (the parent no longer cuts its tools short). */
  z.strictObject({ type: z.literal('in-flight-done') }),
  /** mapedctl log verbose|brief: the parent logs at the same level (and its memory line when verbose). */
  z.strictObject({ type: z.literal('log-level'), verbose: z.boolean() }),
  /** The answer to the control request of the same id: one line of the protocol, as the parent writes it to the client. */
  z.strictObject({
    type: z.literal('control-reply'),
    id,
    text: z
      .string()
      .max(MAX_ANSWER_BYTES)
      .refine((text) => text.endsWith('\n') && text.indexOf('\n') === text.length - 1, 'not one line of text')
      .refine((text) => Buffer.byteLength(text, 'utf8') <= MAX_ANSWER_BYTES, `longer than ${MAX_ANSWER_BYTES} bytes`),
  }),
]);
export type ChildRequest = z.infer<typeof ChildRequestSchema>;

const toolRun = z.strictObject({
  ok: z.boolean(),
  exitCode: z.number().int().nullable(),
  stdout: z.string().max(MAX_TOOL_OUTPUT),
  stderr: z.string().max(MAX_TOOL_OUTPUT),
  failure: line.nullable(),
  timedOut: z.boolean(),
  spawnError: line.nullable(),
});

/** The configuration travels as maped -nv prints it: the child parses it with the same parser (§3.7). */
const configText = z.string().max(MAX_CONFIG_BYTES * 4);

export const ParentMessageSchema = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('ran'), id, run: toolRun }),
  z.strictObject({ type: z.literal('file'), id, text: z.string().max(MAX_OWNERSHIP_TEXT).nullable(), error: line.nullable() }),
  z.strictObject({ type: z.literal('done'), id, error: line.nullable() }),
  z.strictObject({ type: z.literal('reloaded'), id, config: configText.nullable(), error: z.string().max(65536).nullable() }),
  /** The configuration at start and after SIGHUP. */
  z.strictObject({ type: z.literal('config'), config: configText }),
  /** The lease file changed, or the WAN's addresses did (route -n monitor). */
  z.strictObject({ type: z.literal('wake'), why: line }),
  /**
   * A line a control client sent, as it came (at most MAX_REQUEST_BYTES, no
   * newline): the parent does not parse it; the child answers with a `control-reply`.
   */
  z.strictObject({ type: z.literal('control'), id, line: z.string().max(MAX_REQUEST_BYTES).refine((line) => !line.includes('\n'), 'not one line') }),
  /** SIGTERM or SIGINT: stop, tearing down when on-exit teardown. */
  z.strictObject({ type: z.literal('stop'), teardown: z.boolean() }),
]);
export type ParentMessage = z.infer<typeof ParentMessageSchema>;

/** One line naming the first problem of a message that does not validate. */
export function messageProblem(error: z.ZodError): string {
  const issue = error.issues[0];
  return `${issue?.path.join('.') || 'message'}: ${issue?.message ?? 'invalid'}`;
}
