/**
 * The privileged parent of a privilege-separated maped (docs/architecture.md
 * §5). It reads maped.conf, follows the lease file (or the routing socket),
 * and for its unprivileged child reads the lease file, runs the tools and
 * keeps the ownership record: nothing else. It parses no DHCPv6 option, no
 * lease line, no control request and no provisioning reply.
 *
 * - Every tool run the child asks for is checked against the allowlist
 *   (src/openbsd/command-allowlist.ts) with the names of the configuration
 *   and of the ownership record (what maped owns under an earlier
 *   configuration must still be removable); a refusal is logged and answered
 *   as a failed run, so the child's apply is degraded, never crashed.
 * - The child's messages come over a channel of this process's own
 *   (privsep-channel.ts, the child's fd 3), each line bounded in bytes as it
 *   is read (MAX_CHILD_MESSAGE_BYTES). A line too long, or a message that
 *   does not validate (privsep-messages.ts), is taken as a child gone
 *   wrong: it is logged and the child replaced.
 * - A child that dies is started again after 1 s, doubling to 5 min
 *   (retry-delay.ts, as the engine's retries), the counter reset after it ran a minute. The
 *   parent never tears anything down by itself: what is applied stays.
 * - Control connections are accepted and served here (src/control/server.ts:
 *   its bounds on connections, request size and read-ahead); each request
 *   line is relayed unparsed to the child, whose answer, one line, is
 *   written back. While the child is restarting, or when it does not answer
 *   in time, the client is told so in the protocol's words.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, constants, fchmodSync, fchownSync, lstatSync, mkdirSync, openSync, unlinkSync } from 'node:fs';
import { readRegularFile } from '../bounded-file.js';
import type { Socket } from 'node:net';
import type { Logger } from 'pino';
import { localOwnershipFiles, OWNERSHIP_FILE, parseOwnership, serializeOwnership, type OwnershipRead } from '../apply/ownership.js';
import { runToolHere, type ToolRun } from '../apply/tool-process.js';
import { childFilesDir, loadConfig, printConfig, type MapedConfig } from '../config/index.js';
import { refusalLine, serveConnection } from '../control/server.js';
import { REQUEST_TIMEOUT_MS } from '../control/client.js';
import { MAX_LEASE_FILE_BYTES } from '../lease/lease-file.js';
import { err, ok, type Result } from '../map/index.js';
import { commandRefusal, DEFAULT_LABEL, toolEnvironment, type AllowlistScope } from '../openbsd/index.js';
import { followPrefix } from './prefix-follower.js';
import { followedBy, type Follower } from './prefix-source.js';
import { retryDelayMs } from './retry-delay.js';
import { StateKillGuard } from './state-kill-guard.js';
import { memoryUseLine } from './memory-use.js';
import { MessageChannel } from './privsep-channel.js';
import {
  CHILD_ENV,
  ChildRequestSchema,
  MAX_CHILD_MESSAGE_BYTES,
  MAX_OWNERSHIP_TEXT,
  MAX_PARENT_MESSAGE_BYTES,
  type ChildArgs,
  type ChildRequest,
  type ParentMessage,
} from './privsep-messages.js';
import { join } from 'node:path';

/** A child that ran this long was healthy: the next restart starts the backoff again. */
const HEALTHY_MS = 60_000;
/**
 * Requests of the child's the parent works on at once, each counted until
 * its answer has been written to the channel (a child that does not read
 * cannot pile answers up in the parent). maped asks for at most about
 * fifteen (eight state kills side by side, the reads, the system checks, a
 * usage listing); a child that asks for more is taken for one gone wrong:
 * each run is a root process that may print up to 64 MiB.
 */
export const MAX_REQUESTS_AT_ONCE = 32;
/**
 * How long the parent waits for the child's answer to a control request:
 * under mapedctl's own wait, so that mapedctl hears the refusal saying the
 * unprivileged part did not answer rather than a timeout of its own.
 */
export const CONTROL_ANSWER_MS = REQUEST_TIMEOUT_MS - 500;
/** What a control client is told while there is no child to answer it. */
export const RESTARTING = 'maped is restarting its unprivileged part; try again';

/** A child and the parent's end of its channel. */
interface Child {
  readonly process: ChildProcess;
  readonly channel: MessageChannel<ChildRequest, ParentMessage>;
}

/** Whom the child runs as; null: as the parent (tests, and maped started unprivileged). */
export interface ChildCredentials {
  readonly user: string;
  readonly uid: number;
  readonly gid: number;
}

export interface PrivsepParentOptions {
  readonly configPath: string;
  readonly config: MapedConfig;
  readonly log: Logger;
  /** The child's entry: this file's sibling maped-child (.ts under tsx, .js built). */
  readonly childEntry: string;
  readonly childArgs: ChildArgs;
  readonly credentials: ChildCredentials | null;
  /** Node's options for the child; default this process's own (tsx's loader under the tests). */
  readonly execArgv?: readonly string[];
  /** How long a control request waits for the child's answer; default CONTROL_ANSWER_MS. */
  readonly controlTimeoutMs?: number;
}

const PASSWD = '/etc/passwd';

/**
 * The uid and gid of `user` from /etc/passwd (passwd(5): name:password:uid:gid:…;
 * OpenBSD keeps this file, without the hashes, beside the master.passwd
 * database). Bounded: a passwd file larger than a megabyte is refused.
 */
export function lookupUser(user: string, passwd = PASSWD): Result<ChildCredentials> {
  const read = readBounded(passwd, 1024 * 1024);
  if ('error' in read) return err(`user ${user}: ${passwd}: ${read.error}`);
  if (read.text === null) return err(`user ${user}: no ${passwd}`);
  for (const line of read.text.split('\n')) {
    const fields = line.split(':');
    if (fields[0] !== user || fields.length < 4) continue;
    const uid = Number(fields[2]);
    const gid = Number(fields[3]);
    if (!/^[0-9]+$/.test(fields[2]!) || !/^[0-9]+$/.test(fields[3]!)) return err(`user ${user}: ${passwd}: a uid or gid that is not a number`);
    if (uid === 0 || gid === 0) return err(`user ${user}: has uid or gid 0; the child must run unprivileged`);
    return ok({ user, uid, gid });
  }
  return err(`user ${user}: no such user (rc.d/install.sh creates _maped; or set user in maped.conf)`);
}

/**
 * A regular file of at most `max` bytes (src/bounded-file.ts); text null
 * when there is none. `noFollow`: a symbolic link at `path` is refused
 * (ELOOP), not read through.
 */
function readBounded(path: string, max: number, noFollow = false): { text: string | null } | { error: string } {
  const read = readRegularFile(path, max, { noFollow });
  if ('text' in read) return read;
  if (read.code === 'ENOENT' || read.code === 'ENOTDIR') return { text: null };
  return { error: read.code === undefined ? read.error : `cannot read: ${read.code}` };
}

/**
 * Makes `path` a directory (if missing) owned by `uid`:`gid` (-1 keeps the
 * group) with `mode`, changed through a descriptor. With `plantedLinks`
 * (a name the child could have written, in a directory it once could
 * write), a symbolic link at `path` is removed with a warning and never
 * followed (O_NOFOLLOW); without it (state-dir itself, root's choice in
 * maped.conf), a link is followed, as to a directory on another disk.
 */
function ownDirectory(path: string, uid: number, gid: number, mode: number, plantedLinks?: Logger): void {
  mkdirSync(path, { recursive: true, mode });
  if (plantedLinks !== undefined && lstatSync(path).isSymbolicLink()) {
    plantedLinks.warn(`${path}: a symbolic link where maped keeps a directory; removed`);
    unlinkSync(path);
    mkdirSync(path, { mode });
  }
  const fd = openSync(path, constants.O_RDONLY | constants.O_DIRECTORY | (plantedLinks === undefined ? 0 : constants.O_NOFOLLOW));
  try {
    fchownSync(fd, uid, gid);
    fchmodSync(fd, mode);
  } finally {
    closeSync(fd);
  }
}

/** What the tools may touch under a configuration. */
function configScope(config: MapedConfig): AllowlistScope {
  return { tools: config.tools, wan: config.wan, tunnel: config.tunnel.interface, anchor: config.pf.anchor, label: DEFAULT_LABEL, forwards: config.forwards };
}

const refused = (reason: string): ToolRun => ({
  ok: false,
  exitCode: null,
  stdout: '',
  stderr: '',
  failure: `refused by maped's command allowlist: ${reason}`,
  timedOut: false,
  spawnError: null,
});

const TOO_LARGE = 'too large to hand to the unprivileged part';

/** A failed answer in place of one the channel cannot carry; null for those that are always short. */
export function tooLargeFailure(answer: ParentMessage): ParentMessage | null {
  if (answer.type === 'ran') return { type: 'ran', id: answer.id, run: { ...refused(''), failure: `the output is ${TOO_LARGE}` } };
  if (answer.type === 'file') return { type: 'file', id: answer.id, text: null, error: TOO_LARGE };
  return null;
}

export class PrivsepParent {
  private config: MapedConfig;
  private readonly log: Logger;
  private child: Child | null = null;
  private ready = false;
  private startedAt = 0;
  private attempt = 0;
  private restartTimer: NodeJS.Timeout | null = null;
  private stopping = false;
  private follower: Follower;
  /** The names the ownership record holds: what maped owns may be removed whatever the configuration says now. */
  private owned: AllowlistScope | null = null;
  private childExited: Promise<void> = Promise.resolve();
  /** Told when the stopping child says its apply in flight is over. */
  private inFlightDone: (() => void) | null = null;
  /** Requests of the current child not answered yet. */
  private working = 0;
  /** Control requests relayed to a child and not answered yet, by id: each settled once with its answer line. */
  private readonly controls = new Map<number, { child: Child; settle: (text: string) => void }>();
  private nextControl = 0;
  /** The pf states the child may have killed: its tunnel's, as the parent last listed them. */
  private readonly kills: StateKillGuard;

  constructor(private readonly options: PrivsepParentOptions) {
    this.config = options.config;
    this.log = options.log;
    this.kills = new StateKillGuard(this.config.tunnel.interface);
    this.prepareStateDir();
    this.loadOwned();
    this.follower = followPrefix(this.config, (why) => this.tell({ type: 'wake', why }), this.log);
  }

  currentConfig(): MapedConfig {
    return this.config;
  }

  get childPid(): number | null {
    return this.child?.process.pid ?? null;
  }

  start(): void {
    this.spawnChild();
  }

  /** A control connection: served here, each request answered by the child (or refused, saying why). */
  connection(socket: Socket): void {
    serveConnection(socket, (line) => this.relay(line));
  }

  /**
   * One control request line, bounded by serveConnection (MAX_REQUEST_BYTES)
   * and never parsed here: the child's answer line, or a refusal when there
   * is no child ready or it does not answer in time (CONTROL_ANSWER_MS). At most
   * MAX_CONNECTIONS are pending at once: a connection's requests are
   * answered one at a time.
   */
  private relay(line: string): Promise<string> {
    const child = this.child;
    if (child === null || !this.ready || !child.channel.open) return Promise.resolve(refusalLine(RESTARTING));
    const id = this.nextControl++;
    const waitMs = this.options.controlTimeoutMs ?? CONTROL_ANSWER_MS;
    return new Promise((resolve) => {
      const timer = setTimeout(() => settle(refusalLine(`maped's unprivileged part did not answer within ${waitMs / 1000} s`)), waitMs);
      const settle = (text: string): void => {
        clearTimeout(timer);
        this.controls.delete(id);
        resolve(text);
      };
      this.controls.set(id, { child, settle });
      if (!child.channel.send({ type: 'control', id, line })) settle(refusalLine(RESTARTING));
    });
  }

  /** The control requests a child that is gone will not answer: refused. */
  private refuseControls(child: Child): void {
    for (const pending of [...this.controls.values()]) if (pending.child === child) pending.settle(refusalLine(RESTARTING));
  }

  /** SIGHUP: read maped.conf again; the child gets it if it loads. */
  reload(): void {
    const next = this.readConfig();
    if (!next.ok) return;
    this.tell({ type: 'config', config: printConfig(next.value) });
  }

  /**
   * SIGTERM or SIGINT: the child stops (and tears down if on-exit teardown
   * says so, through this parent's checks); the parent waits for it until
   * `deadline`, then ends it.
   */
  async stop(teardown: boolean, deadlineMs: number, inFlightDone?: () => void): Promise<void> {
    this.stopping = true;
    this.inFlightDone = inFlightDone ?? null;
    if (this.restartTimer !== null) clearTimeout(this.restartTimer);
    await this.follower.close();
    const child = this.child;
    if (child === null) return;
    child.channel.send({ type: 'stop', teardown });
    const timer = setTimeout(() => child.process.kill('SIGKILL'), deadlineMs);
    await this.childExited;
    clearTimeout(timer);
  }

  /** Reads maped.conf; on success it is the configuration from now on. */
  private readConfig(): Result<MapedConfig> {
    const next = loadConfig(this.options.configPath);
    if (!next.ok) {
      const [first, ...more] = next.error.split('\n');
      this.log.warn(`reload refused, keeping the running configuration: ${first}${more.length === 0 ? '' : ` (and ${more.length} more: maped -n shows them)`}`);
      return next;
    }
    const before = this.config;
    this.config = next.value;
    this.kills.setTunnel(this.config.tunnel.interface);
    if (followedBy(before) !== followedBy(this.config)) {
      void this.follower.close();
      this.follower = followPrefix(this.config, (why) => this.tell({ type: 'wake', why }), this.log);
    }
    if (before.stateDir !== this.config.stateDir) {
      this.prepareStateDir();
      this.loadOwned();
    }
    return next;
  }

  /**
   * state-dir is root's alone, mode 0755: the ownership record and the pid
   * file are in it, and a child that could create, rename or link names
   * beside them could have root write or read through its links. The child
   * writes its own files (maped.prom, the HB46PP cache) in state-dir/child,
   * given to its group, mode 0770. Each directory is changed through a
   * descriptor opened without following a link.
   */
  private prepareStateDir(): void {
    const credentials = this.options.credentials;
    if (credentials === null) return;
    const root = process.getuid?.() ?? 0;
    const stateDir = this.config.stateDir;
    try {
      // Its group is kept (-1): a group without write permission cannot touch the names in it.
      ownDirectory(stateDir, root, -1, 0o755);
      ownDirectory(childFilesDir(stateDir), root, credentials.gid, 0o770, this.log);
    } catch (e) {
      this.log.warn(`state-dir ${stateDir}: cannot prepare it for the unprivileged child: ${(e as Error).message}`);
    }
  }

  private loadOwned(): void {
    const path = join(this.config.stateDir, OWNERSHIP_FILE);
    const read = readBounded(path, MAX_OWNERSHIP_TEXT, true);
    this.owned = 'text' in read && read.text !== null ? this.ownedScope(parseOwnership(read.text, OWNERSHIP_FILE)) : null;
  }

  private ownedScope(record: OwnershipRead): AllowlistScope | null {
    if (record.problem !== null) return null;
    const o = record.ownership;
    if (o.wan === null || o.tunnel === null || o.anchor === null) return null;
    return { tools: this.config.tools, wan: o.wan, tunnel: o.tunnel, anchor: o.anchor, label: o.label ?? DEFAULT_LABEL, forwards: this.config.forwards };
  }

  /**
   * The names a record from the child may hold: those of the configuration,
   * or those of the record the parent holds now (what maped configured
   * under an earlier configuration, still to be removed). The names of the
   * record widen what the allowlist accepts (run), so a child may not
   * choose them: null when they are the configuration's or the record's.
   */
  private foreignNames(record: OwnershipRead): string | null {
    const o = record.ownership;
    const config = configScope(this.config);
    const held = this.owned;
    const names: [string, string | null, string, string | undefined][] = [
      ['wan', o.wan, config.wan, held?.wan],
      ['tunnel', o.tunnel, config.tunnel, held?.tunnel],
      ['anchor', o.anchor, config.anchor, held?.anchor],
      ['label', o.label, config.label, held?.label],
    ];
    for (const [what, value, configured, recorded] of names) {
      if (value !== null && value !== configured && value !== recorded) {
        return `${what} ${value} is neither maped.conf's (${configured}) nor the recorded one${recorded === undefined ? '' : ` (${recorded})`}`;
      }
    }
    return null;
  }

  private tell(message: ParentMessage): void {
    if (this.child !== null && this.ready) this.child.channel.send(message);
  }

  private spawnChild(): void {
    const credentials = this.options.credentials;
    let started: ChildProcess;
    try {
      // No Node IPC channel: the child's fd 3 is a socketpair(2) (libuv's 'pipe'), read
      // here with a bound (privsep-channel.ts). The child gets exactly these four
      // descriptors: this process's own fd 3 (the launcher's readiness channel,
      // src/daemon/detach.ts) is replaced by the pair, and every other one is close-on-exec.
      started = spawn(process.execPath, [...(this.options.execArgv ?? process.execArgv), this.options.childEntry], {
        env: { ...process.env, [CHILD_ENV]: JSON.stringify(this.options.childArgs) },
        stdio: ['ignore', 'inherit', 'inherit', 'pipe'],
        // libuv drops the supplementary groups, then setgid(2) and setuid(2), before
        // the child's first instruction (deps/uv/src/unix/process.c, uv__process_child_init).
        ...(credentials === null ? {} : { uid: credentials.uid, gid: credentials.gid }),
      });
    } catch (e) {
      // EPERM (a uid change without root), or no descriptors left for the pair.
      this.restartLater(`unprivileged child not started (${(e as Error).message})`);
      return;
    }
    const socket = started.stdio[3] as Socket | null | undefined;
    started.on('error', (e) => this.log.warn(`unprivileged child: ${e.message}`));
    if (socket === null || socket === undefined) {
      // EMFILE or ENFILE: spawn reports it as an 'error', with no channel set up.
      started.kill('SIGKILL');
      this.restartLater('unprivileged child not started (no descriptors for its channel)');
      return;
    }
    const child: Child = {
      process: started,
      channel: new MessageChannel<ChildRequest, ParentMessage>(socket, {
        maxLineBytes: MAX_CHILD_MESSAGE_BYTES,
        maxSendBytes: MAX_PARENT_MESSAGE_BYTES,
        schema: ChildRequestSchema,
        overlong: 'close',
        onMessage: (request) => void this.serve(child, request),
        onProblem: (why) => this.hostile(child, why),
        onClose: () => this.channelClosed(child),
      }),
    };
    this.child = child;
    this.ready = false;
    this.working = 0;
    this.startedAt = Date.now();
    this.childExited = new Promise((resolve) => started.once('exit', () => resolve()));
    started.once('exit', (code, signal) => this.exited(child, code, signal));
    child.channel.send({ type: 'config', config: printConfig(this.config) });
    this.log.debug(`unprivileged child ${started.pid ?? '?'} started${credentials === null ? '' : ` as ${credentials.user} (uid ${credentials.uid})`}`);
  }

  /**
   * The channel ended: the child exited, closed its end, or was found gone
   * wrong. It cannot be asked anything more: its control requests are
   * refused, and a child still running without its channel is ended (the
   * parent's successor starts a new one when it exits).
   */
  private channelClosed(child: Child): void {
    this.refuseControls(child);
    if (this.child !== child) return;
    this.ready = false;
    const running = child.process.exitCode === null && child.process.signalCode === null;
    // hostile() has sent it SIGKILL already.
    if (running && !this.stopping && !child.process.killed) child.process.kill('SIGKILL');
  }

  private exited(child: Child, code: number | null, signal: NodeJS.Signals | null): void {
    child.channel.close();
    if (this.child !== child) return;
    this.child = null;
    this.ready = false;
    if (this.stopping) return;
    this.restartLater(`unprivileged child ${child.process.pid ?? '?'} ended (${signal ?? `exit ${code}`})`);
  }

  /** Starts a child again after the backoff; `what` happened is logged with the delay. */
  private restartLater(what: string): void {
    if (this.stopping) return;
    if (Date.now() - this.startedAt >= HEALTHY_MS) this.attempt = 0;
    const delay = retryDelayMs(this.attempt++);
    this.log.warn(`${what}; what is applied stays; starting it again in ${Math.round(delay / 1000)} s`);
    this.restartTimer = setTimeout(() => {
      this.restartTimer = null;
      if (!this.stopping) this.spawnChild();
    }, delay);
  }

  /**
   * A child that sends a line too long, or what does not validate, is not
   * trusted further: its channel is closed at once (nothing more it sent is
   * read), and it is replaced.
   */
  private hostile(child: Child, why: string): void {
    // Said once: a child already ended, or gone meanwhile, is not ended again.
    if (this.child !== child || child.process.killed) return;
    this.log.warn(`unprivileged child ${child.process.pid ?? '?'}: ${why}; ending it`);
    this.ready = false;
    child.process.kill('SIGKILL');
    child.channel.close();
  }

  private async serve(child: Child, request: ChildRequest): Promise<void> {
    if (this.child !== child) return;
    if (request.type === 'ready') {
      this.ready = true;
      return;
    }
    if (request.type === 'in-flight-done') {
      this.inFlightDone?.();
      return;
    }
    if (request.type === 'log-level') {
      this.log.level = request.verbose ? 'debug' : 'info';
      this.log.debug(memoryUseLine('privileged parent'));
      return;
    }
    if (request.type === 'control-reply') {
      // A reply past its deadline (the client was told already) is of no use.
      const pending = this.controls.get(request.id);
      if (pending?.child === child) pending.settle(request.text);
      return;
    }
    if (this.working >= MAX_REQUESTS_AT_ONCE) {
      this.hostile(child, `more than ${MAX_REQUESTS_AT_ONCE} requests at once`);
      return;
    }
    this.working++;
    // Counted until written to the channel: answers a child does not read stay within the limit.
    const done = (): void => {
      if (this.child === child) this.working--;
    };
    let answer: ParentMessage;
    try {
      answer = await this.answer(request);
    } catch (e) {
      done();
      throw e;
    }
    if (this.child !== child) return done();
    if (child.channel.send(answer, done)) return;
    // Refused as longer than the child reads (tool output full of escaped
    // controls, say): a short failure in its place, so the child's step fails
    // now and says why, instead of waiting out its margin.
    const failure = child.channel.open ? tooLargeFailure(answer) : null;
    if (failure !== null) this.log.warn(`an answer to the unprivileged child was too large for the channel; sent as a failure`);
    if (failure === null || !child.channel.send(failure, done)) done();
  }

  private async answer(request: Exclude<ChildRequest, { type: 'ready' | 'in-flight-done' | 'log-level' | 'control-reply' }>): Promise<ParentMessage> {
    switch (request.type) {
      case 'run':
        return { type: 'ran', id: request.id, run: await this.run(request) };
      case 'read-lease': {
        if (request.path !== this.config.leaseFile) {
          return { type: 'file', id: request.id, text: null, error: `not the lease file of maped.conf: ${request.path.slice(0, 200)}` };
        }
        const read = readBounded(this.config.leaseFile, MAX_LEASE_FILE_BYTES);
        return 'error' in read
          ? { type: 'file', id: request.id, text: null, error: `${this.config.leaseFile}: ${read.error}` }
          : { type: 'file', id: request.id, text: read.text, error: null };
      }
      case 'read-ownership': {
        const read = readBounded(join(this.config.stateDir, OWNERSHIP_FILE), MAX_OWNERSHIP_TEXT, true);
        return 'error' in read ? { type: 'file', id: request.id, text: null, error: read.error } : { type: 'file', id: request.id, text: read.text, error: null };
      }
      case 'write-ownership': {
        const record = parseOwnership(request.text, OWNERSHIP_FILE);
        const problem = record.problem ?? this.foreignNames(record);
        if (problem !== null) {
          this.log.warn(`ownership record from the child refused: ${problem}`);
          return { type: 'done', id: request.id, error: `ownership record refused: ${problem}` };
        }
        try {
          // The record as the parent understood it, not the child's text: nothing unchecked reaches the disk.
          await localOwnershipFiles.write(this.config.stateDir, serializeOwnership(record.ownership));
        } catch (e) {
          return { type: 'done', id: request.id, error: (e as Error).message };
        }
        this.owned = this.ownedScope(record);
        return { type: 'done', id: request.id, error: null };
      }
      case 'reload': {
        const next = this.readConfig();
        return next.ok
          ? { type: 'reloaded', id: request.id, config: printConfig(next.value), error: null }
          : { type: 'reloaded', id: request.id, config: null, error: next.error.slice(0, 65536) };
      }
    }
  }

  private async run(request: Extract<ChildRequest, { type: 'run' }>): Promise<ToolRun> {
    const argv = [request.file, ...request.args];
    const underConfig = commandRefusal(configScope(this.config), argv, request.stdin);
    const refusal = underConfig === null || this.owned === null ? underConfig : commandRefusal(this.owned, argv, request.stdin) === null ? null : underConfig;
    const tools = this.config.tools;
    const isPfctl = request.file === tools.pfctl;
    const killing = isPfctl && request.args.length === 4 && request.args[0] === '-k' ? this.kills.refusal(request.args[3]!) : null;
    if (refusal !== null || killing !== null) {
      const reason = (refusal ?? killing)!;
      this.log.warn(`refused to run ${argv.join(' ').slice(0, 300)}: ${reason}`);
      return refused(reason);
    }
    const run = await runToolHere(request.file, request.args, {
      timeoutMs: request.timeoutMs,
      maxOutput: request.maxOutput,
      env: toolEnvironment(process.env.PATH),
      ...(request.stdin === undefined ? {} : { stdin: request.stdin }),
    });
    if (run.ok && request.file === tools.ifconfig) {
      if (request.args.length === 1 && request.args[0] === '-a') this.kills.sawInterfaces(run.stdout);
      else this.kills.sawIfconfig(request.args);
    }
    if (run.ok && isPfctl && request.args.join(' ') === '-ss -vv') this.kills.sawListing(run.stdout);
    return run;
  }
}

/** Resolves the child's credentials for a parent running as `uid`; null: no uid change. */
export function childCredentials(config: MapedConfig, uid: number | undefined, forceSplitOnly: boolean): Result<ChildCredentials | null> {
  if (forceSplitOnly || uid !== 0) return ok(null);
  return lookupUser(config.user);
}
