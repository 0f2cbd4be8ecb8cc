/**
 * The unprivileged child of a privilege-separated maped (docs/architecture.md
 * §5): the whole daemon core (src/daemon/daemon-core.ts), with the three
 * things it may not do itself asked of the parent over the channel on fd 3
 * (privsep-channel.ts): running a tool (the parent checks it against
 * src/openbsd/command-allowlist.ts), reading the lease file, and reading or
 * writing the ownership record. It answers the control requests the parent
 * relays. Everything the child hears from the parent is validated
 * (privsep-messages.ts); what it cannot use is logged and dropped.
 */
import { Socket } from 'node:net';
import type { Logger } from 'pino';
import { useOwnershipFiles } from '../apply/ownership.js';
import { useToolRunner, type ToolRun, type ToolRunOptions } from '../apply/tool-process.js';
import { parseConfig, type MapedConfig } from '../config/index.js';
import { answerLine, refusalLine } from '../control/server.js';
import { err, type Result } from '../map/index.js';
import { startDaemonCore, type DaemonCore } from './daemon-core.js';
import { systemLeaseSources, type LeaseSources } from './lease-reading.js';
import { createLogger } from './log.js';
import { createSyslogSink } from './syslog-sink.js';
import { createOpenBSDDriver } from './openbsd-driver.js';
import { MessageChannel } from './privsep-channel.js';
import {
  ANSWER_MARGIN_MS,
  ChildRequestSchema,
  MAX_CHILD_MESSAGE_BYTES,
  MAX_PARENT_MESSAGE_BYTES,
  messageProblem,
  ParentMessageSchema,
  type ChildArgs,
  type ChildRequest,
  type ParentMessage,
} from './privsep-messages.js';

/** The child's end of the channel: the parent starts it with a socketpair(2) there. */
export const CHANNEL_FD = 3;

type Pending = { resolve: (m: ParentMessage) => void; timer: NodeJS.Timeout };
type Request = ChildRequest extends infer R ? (R extends { id: number } ? Omit<R, 'id'> : never) : never;

/** Requests to the parent, each answered once, by id, or failed at its deadline. */
class ParentChannel {
  private nextId = 0;
  private readonly pending = new Map<number, Pending>();

  constructor(
    private readonly log: Logger,
    private readonly send: (message: ChildRequest) => boolean,
  ) {}

  ask(request: Request, waitMs: number): Promise<ParentMessage | null> {
    const id = this.nextId++;
    const message = { ...request, id };
    // What the child sends is checked as the parent will check it: one the parent would take
    // for a child gone wrong is not sent (a bug on this side, said in the log).
    const checked = ChildRequestSchema.safeParse(message);
    if (!checked.success) {
      this.log.error(`privsep: not sending a ${request.type} request that does not validate (${messageProblem(checked.error)})`);
      return Promise.resolve(null);
    }
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        resolve(null);
      }, waitMs);
      this.pending.set(id, { resolve, timer });
      // Longer than the parent reads (an anchor of MAX_ANCHOR_TEXT non-ASCII characters), or the channel is closed: failed at once.
      if (!this.send(checked.data)) {
        this.log.error(`privsep: a ${request.type} request not sent (longer than the parent reads, or the channel is closed)`);
        clearTimeout(timer);
        this.pending.delete(id);
        resolve(null);
      }
    });
  }

  /** An answer: hands it to whoever asked; true when it was one. */
  answered(message: ParentMessage): boolean {
    // A control request has an id too, the parent's own.
    if (!('id' in message) || message.type === 'control') return false;
    const waiting = this.pending.get(message.id);
    if (waiting === undefined) {
      this.log.warn(`privsep: an answer to no request (${message.type} ${message.id}) dropped`);
      return true;
    }
    this.pending.delete(message.id);
    clearTimeout(waiting.timer);
    waiting.resolve(message);
    return true;
  }
}

const unanswered = (what: string): Error => new Error(`the privileged parent did not answer (${what})`);

function toolRunner(channel: ParentChannel) {
  return async (file: string, args: readonly string[], options: ToolRunOptions): Promise<ToolRun> => {
    const answer = await channel.ask(
      { type: 'run', file, args: [...args], ...(options.stdin === undefined ? {} : { stdin: options.stdin }), timeoutMs: options.timeoutMs, maxOutput: options.maxOutput },
      options.timeoutMs + ANSWER_MARGIN_MS,
    );
    if (answer?.type === 'ran') return answer.run;
    return { ok: false, exitCode: null, stdout: '', stderr: '', failure: unanswered(`running ${file}`).message, timedOut: false, spawnError: null };
  };
}

function leaseSources(channel: ParentChannel): LeaseSources {
  return {
    ...systemLeaseSources,
    async readFile(path) {
      const answer = await channel.ask({ type: 'read-lease', path }, ANSWER_MARGIN_MS);
      if (answer?.type !== 'file') throw unanswered('reading the lease');
      if (answer.error !== null) throw new Error(answer.error);
      return answer.text;
    },
  };
}

/** The configuration as the parent sent it, parsed and checked by maped.conf's own parser. */
function configFrom(text: string, path: string): Result<MapedConfig> {
  const parsed = parseConfig(text, path);
  return parsed.ok ? parsed : err(`the configuration from the parent does not parse: ${parsed.error.split('\n')[0]}`);
}

/** The child's end of the channel, fd 3 (maped-child.ts checks it is a socket). */
export function parentSocket(): Socket {
  return new Socket({ fd: CHANNEL_FD, readable: true, writable: true });
}

/**
 * Runs the child, talking to its parent over `socket` (the test child
 * passes its own, to write on it what a child gone wrong would).
 */
export async function runPrivsepChild(args: ChildArgs, socket: Socket = parentSocket()): Promise<void> {
  const syslog = args.syslog === null ? undefined : createSyslogSink(args.syslog);
  const log = createLogger({ verbose: args.verbose, json: args.json, ...(syslog === undefined ? {} : { syslog }) });
  // The parent decides when maped stops; a signal to the whole process group (^C under -d) is its to handle.
  for (const signal of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) process.on(signal, () => undefined);

  let core: DaemonCore | null = null;
  let first: ((config: MapedConfig) => void) | null = null;
  const configured = new Promise<MapedConfig>((resolve) => (first = resolve));

  const onMessage = (message: ParentMessage): void => {
    if (channel.answered(message)) return;
    switch (message.type) {
      case 'config': {
        const config = configFrom(message.config, args.configPath);
        if (!config.ok) {
          log.error(config.error);
          return;
        }
        if (first !== null) {
          first(config.value);
          first = null;
        } else if (core !== null) {
          void core.apply(config.value);
        }
        return;
      }
      case 'wake':
        core?.wake(message.why);
        return;
      case 'control': {
        const { id } = message;
        // The parent relays requests only once this child said it is ready, after its core started.
        void (core === null ? Promise.resolve(refusalLine('maped is starting; try again')) : answerLine(message.line, core.handle)).then((text) =>
          send({ type: 'control-reply', id, text }),
        );
        return;
      }
      case 'stop':
        void (core?.stop(message.teardown, () => send({ type: 'in-flight-done' })) ?? Promise.resolve())
          .then(() => syslog?.close())
          .finally(() => process.exit(0));
        return;
      default:
        log.warn(`privsep: an unexpected ${message.type} from the parent dropped`);
    }
  };
  const link = new MessageChannel<ParentMessage, ChildRequest>(socket, {
    maxLineBytes: MAX_PARENT_MESSAGE_BYTES,
    maxSendBytes: MAX_CHILD_MESSAGE_BYTES,
    schema: ParentMessageSchema,
    overlong: 'skip',
    onMessage,
    onProblem: (why) => log.warn(`privsep: from the parent, ${why}; dropped`),
    // Without the parent nothing can be run or recorded: end, the parent's successor starts a new child.
    onClose: () => process.exit(1),
  });
  const send = (message: ChildRequest): boolean => link.send(message);
  const channel = new ParentChannel(log, send);
  useToolRunner(toolRunner(channel));
  useOwnershipFiles({
    async read() {
      const answer = await channel.ask({ type: 'read-ownership' }, ANSWER_MARGIN_MS);
      if (answer?.type !== 'file') throw unanswered('reading the ownership record');
      if (answer.error !== null) throw new Error(answer.error);
      return answer.text;
    },
    async write(_stateDir, text) {
      const answer = await channel.ask({ type: 'write-ownership', text }, ANSWER_MARGIN_MS);
      if (answer?.type !== 'done') throw unanswered('writing the ownership record');
      if (answer.error !== null) throw new Error(answer.error);
    },
  });

  const config = await configured;
  core = startDaemonCore({
    config,
    log,
    driver: createOpenBSDDriver(log),
    leaseSources: leaseSources(channel),
    dryRun: false,
    follow: null,
    // maped's pid, the one in the pid file, is the parent's.
    pid: process.ppid,
    who: 'unprivileged child',
    logLevelChanged: (verbose) => send({ type: 'log-level', verbose }),
    async loadConfig() {
      const answer = await channel.ask({ type: 'reload' }, ANSWER_MARGIN_MS);
      if (answer?.type !== 'reloaded') return err(unanswered('reloading').message);
      if (answer.config === null) return err(answer.error ?? 'reload refused');
      return configFrom(answer.config, args.configPath);
    },
  });
  send({ type: 'ready' });
  await core.start();
}
