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
 * - A message that does not validate (privsep-messages.ts) is taken as a
 *   child gone wrong: it is logged and the child replaced.
 * - A child that dies is started again after 1 s, doubling to 5 min
 *   (retry-delay.ts, as the engine's retries), the counter reset after it ran a minute. The
 *   parent never tears anything down by itself: what is applied stays.
 * - Control connections are accepted here and each handed to the child as
 *   the handle of a message; the listening socket stays with the parent
 *   across child restarts.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { closeSync, constants, fchmodSync, fchownSync, lstatSync, mkdirSync, openSync, unlinkSync } from 'node:fs';
import { readRegularFile } from '../bounded-file.js';
import type { Server, Socket } from 'node:net';
import type { Logger } from 'pino';
import { localOwnershipFiles, OWNERSHIP_FILE, parseOwnership, serializeOwnership, type OwnershipRead } from '../apply/ownership.js';
import { runToolHere, type ToolRun } from '../apply/tool-process.js';
import { childFilesDir, loadConfig, printConfig, type MapedConfig } from '../config/index.js';
import { refuseConnection } from '../control/server.js';
import { MAX_LEASE_FILE_BYTES } from '../lease/lease-file.js';
import { err, ok, type Result } from '../map/index.js';
import { commandRefusal, DEFAULT_LABEL, toolEnvironment, type AllowlistScope } from '../openbsd/index.js';
import { followPrefix } from './prefix-follower.js';
import { followedBy, type Follower } from './prefix-source.js';
import { retryDelayMs } from './retry-delay.js';
import { StateKillGuard } from './state-kill-guard.js';
import { memoryUseLine } from './memory-use.js';
import { CHILD_ENV, ChildRequestSchema, MAX_OWNERSHIP_TEXT, messageProblem, type ChildArgs, type ChildRequest, type ParentMessage } from './privsep-messages.js';
import { join } from 'node:path';

/** A child that ran this long was healthy: the next restart starts the backoff again. */
const HEALTHY_MS = 60_000;
/**
 * Requests of the child's the parent works on at once. maped asks for at
 * most about fifteen (eight state kills side by side, the reads, the
 * system checks, a usage listing); a child that asks for more is taken for
 * one gone wrong: each run is a root process that may print up to 64 MiB.
 */
export const MAX_REQUESTS_AT_ONCE = 32;

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

export class PrivsepParent {
  private config: MapedConfig;
  private readonly log: Logger;
  private child: ChildProcess | null = null;
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
    return this.child?.pid ?? null;
  }

  start(): void {
    this.spawnChild();
  }

  /** A control connection: the child answers it, or it is told why not. */
  connection(socket: Socket): void {
    if (this.child === null || !this.ready || !this.child.connected) {
      refuseConnection(socket, 'maped is restarting its unprivileged part; try again');
      return;
    }
    this.child.send({ type: 'connection' } satisfies ParentMessage, socket, (error) => {
      if (error !== null && error !== undefined) socket.destroy();
    });
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
    if (child.connected) child.send({ type: 'stop', teardown } satisfies ParentMessage);
    const timer = setTimeout(() => child.kill('SIGKILL'), deadlineMs);
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
    if (this.child !== null && this.ready && this.child.connected) this.child.send(message);
  }

  private spawnChild(): void {
    const credentials = this.options.credentials;
    const child = fork(this.options.childEntry, [], {
      execArgv: [...(this.options.execArgv ?? process.execArgv)],
      env: { ...process.env, [CHILD_ENV]: JSON.stringify(this.options.childArgs) },
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      serialization: 'json',
      // libuv drops the supplementary groups, then setgid(2) and setuid(2), before
      // the child's first instruction (deps/uv/src/unix/process.c, uv__process_child_init).
      ...(credentials === null ? {} : { uid: credentials.uid, gid: credentials.gid }),
    });
    this.child = child;
    this.ready = false;
    this.working = 0;
    this.startedAt = Date.now();
    this.childExited = new Promise((resolve) => child.once('exit', () => resolve()));
    child.on('error', (e) => this.log.warn(`unprivileged child: ${e.message}`));
    child.on('message', (raw: unknown) => void this.serve(child, raw));
    child.once('exit', (code, signal) => this.exited(child, code, signal));
    this.tellChild(child, { type: 'config', config: printConfig(this.config) });
    this.log.debug(`unprivileged child ${child.pid ?? '?'} started${credentials === null ? '' : ` as ${credentials.user} (uid ${credentials.uid})`}`);
  }

  private tellChild(child: ChildProcess, message: ParentMessage): void {
    if (child.connected) child.send(message);
  }

  private exited(child: ChildProcess, code: number | null, signal: NodeJS.Signals | null): void {
    if (this.child !== child) return;
    this.child = null;
    this.ready = false;
    if (this.stopping) return;
    if (Date.now() - this.startedAt >= HEALTHY_MS) this.attempt = 0;
    const delay = retryDelayMs(this.attempt++);
    this.log.warn(
      `unprivileged child ${child.pid ?? '?'} ended (${signal ?? `exit ${code}`}); what is applied stays; starting it again in ${Math.round(delay / 1000)} s`,
    );
    this.restartTimer = setTimeout(() => {
      this.restartTimer = null;
      if (!this.stopping) this.spawnChild();
    }, delay);
  }

  /** A child that sends what does not validate is not trusted further: it is replaced. */
  private hostile(child: ChildProcess, why: string): void {
    // Said once: the messages it sent before it was ended may still arrive.
    if (this.child !== child || child.killed) return;
    this.log.warn(`unprivileged child ${child.pid ?? '?'}: ${why}; ending it`);
    this.ready = false;
    child.kill('SIGKILL');
  }

  private async serve(child: ChildProcess, raw: unknown): Promise<void> {
    const parsed = ChildRequestSchema.safeParse(raw);
    if (!parsed.success) {
      this.hostile(child, `a message that does not validate (${messageProblem(parsed.error)})`);
      return;
    }
    const request = parsed.data;
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
    if (this.working >= MAX_REQUESTS_AT_ONCE) {
      this.hostile(child, `more than ${MAX_REQUESTS_AT_ONCE} requests at once`);
      return;
    }
    this.working++;
    let answer: ParentMessage;
    try {
      answer = await this.answer(request);
    } finally {
      if (this.child === child) this.working--;
    }
    if (this.child === child) this.tellChild(child, answer);
  }

  private async answer(request: Exclude<ChildRequest, { type: 'ready' | 'in-flight-done' | 'log-level' }>): Promise<ParentMessage> {
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
