/**
 * The unprivileged child of a privilege-separated maped (docs/architecture.md
 * §5): the whole daemon core (src/daemon/daemon-core.ts), with the three
 * things it may not do itself asked of the parent over the IPC channel:
 * running a tool (the parent checks it against src/openbsd/command-allowlist.ts),
 * reading the lease file, and reading or writing the ownership record.
 * Everything the child hears from the parent is validated
 * (privsep-messages.ts); what it cannot use is logged and dropped.
 */
import type { Socket } from 'node:net';
import type { Logger } from 'pino';
import { useOwnershipFiles } from '../apply/ownership.js';
import { useToolRunner, type ToolRun, type ToolRunOptions } from '../apply/tool-process.js';
import { parseConfig, type MapedConfig } from '../config/index.js';
import { serveConnection } from '../control/server.js';
import { err, type Result } from '../map/index.js';
import { startDaemonCore, type DaemonCore } from './daemon-core.js';
import { systemLeaseSources, type LeaseSources } from './lease-reading.js';
import { createLogger } from './log.js';
import { createSyslogSink } from './syslog-sink.js';
import { createOpenBSDDriver } from './openbsd-driver.js';
import { ChildRequestSchema, messageProblem, ParentMessageSchema, type ChildArgs, type ChildRequest, type ParentMessage } from './privsep-messages.js';

/**
 * How long the child waits for an answer it asked for. A tool run is
 * bounded by its own timeout, which the parent enforces; this is the
 * margin past it for a parent that does not answer at all.
 */
const ANSWER_MARGIN_MS = 15_000;

type Pending = { resolve: (m: ParentMessage) => void; timer: NodeJS.Timeout };
type Request = ChildRequest extends infer R ? (R extends { id: number } ? Omit<R, 'id'> : never) : never;

/** Requests to the parent, each answered once, by id, or failed at its deadline. */
class ParentChannel {
  private nextId = 0;
  private readonly pending = new Map<number, Pending>();

  constructor(private readonly log: Logger) {}

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
      process.send?.(message);
    });
  }

  /** An answer: hands it to whoever asked; true when it was one. */
  answered(message: ParentMessage): boolean {
    if (!('id' in message)) return false;
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

export async function runPrivsepChild(args: ChildArgs): Promise<void> {
  const syslog = args.syslog === null ? undefined : createSyslogSink(args.syslog);
  const log = createLogger({ verbose: args.verbose, json: args.json, ...(syslog === undefined ? {} : { syslog }) });
  if (process.send === undefined) {
    log.error('privsep child: no IPC channel to the parent');
    process.exit(1);
  }
  // The parent decides when maped stops; a signal to the whole process group (^C under -d) is its to handle.
  for (const signal of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) process.on(signal, () => undefined);
  // Without the parent nothing can be run or recorded: end, the parent's successor starts a new child.
  process.on('disconnect', () => process.exit(1));

  const channel = new ParentChannel(log);
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

  let core: DaemonCore | null = null;
  let first: ((config: MapedConfig) => void) | null = null;
  const configured = new Promise<MapedConfig>((resolve) => (first = resolve));

  process.on('message', (raw: unknown, handle: unknown) => {
    const parsed = ParentMessageSchema.safeParse(raw);
    if (!parsed.success) {
      log.warn(`privsep: a message from the parent that does not validate (${messageProblem(parsed.error)}) dropped`);
      (handle as Socket | undefined)?.destroy?.();
      return;
    }
    const message = parsed.data;
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
      case 'connection': {
        const socket = handle as Socket | undefined;
        if (socket === undefined || core === null) {
          socket?.destroy();
          return;
        }
        serveConnection(socket, core.handle);
        return;
      }
      case 'stop':
        void (core?.stop(message.teardown, () => process.send?.({ type: 'in-flight-done' })) ?? Promise.resolve())
          .then(() => syslog?.close())
          .finally(() => process.exit(0));
        return;
      default:
        log.warn(`privsep: an unexpected ${message.type} from the parent dropped`);
    }
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
    logLevelChanged: (verbose) => process.send?.({ type: 'log-level', verbose } satisfies ChildRequest),
    async loadConfig() {
      const answer = await channel.ask({ type: 'reload' }, ANSWER_MARGIN_MS);
      if (answer?.type !== 'reloaded') return err(unanswered('reloading').message);
      if (answer.config === null) return err(answer.error ?? 'reload refused');
      return configFrom(answer.config, args.configPath);
    },
  });
  process.send({ type: 'ready' });
  await core.start();
}
