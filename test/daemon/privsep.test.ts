/**
 * Privilege separation (docs/architecture.md §5): maped as two processes,
 * the root parent running only checked commands for the unprivileged child.
 *
 * - end to end through maped itself: the two processes, the child under an
 *   unprivileged uid when the tests run as root (ps shows it), the control
 *   socket answered by the child;
 * - the parent with a test child (test/support/privsep-test-child.ts) that
 *   sends malformed and hostile messages, an endless line, or keeps dying:
 *   logged, the child replaced with backoff, the applied state untouched,
 *   the parent's memory bounded;
 * - control requests the parent relays to a child that does not answer, or
 *   dies first: the client is told so.
 */
import { execFile, spawn } from 'node:child_process';
import { chmodSync, lstatSync, mkdirSync, readFileSync, renameSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { request } from '../../src/control/client.js';
import { MAX_ANSWER_BYTES, StatusSchema, type Status } from '../../src/control/protocol.js';
import { lookupUser, MAX_REQUESTS_AT_ONCE, RESTARTING } from '../../src/daemon/privsep-parent.js';
import { ChildRequestSchema, MAX_CHILD_MESSAGE_BYTES } from '../../src/daemon/privsep-messages.js';
import { createFakeOpenBSD, type FakeOpenBSD } from '../support/fake-openbsd/index.js';
import { startMaped } from '../support/daemon-process.js';
import { childrenOf, commandLineOf, processesNaming, residentKiB } from '../support/procfs.js';
import { REPO_ROOT } from '../support/vectors.js';

const run = promisify(execFile);
const S46 = readFileSync(join(REPO_ROOT, 'examples', 'lease', 'em0'), 'utf8')
  .split('\n')
  .find((line) => line.startsWith('s46 '))!;
const PARENT_RIG = resolve(REPO_ROOT, 'test', 'support', 'privsep-parent-rig.ts');

const cleanups: (() => Promise<void>)[] = [];

/** A directory and each one above it, up to the root. */
function ancestors(dir: string): string[] {
  const found = [dir];
  for (let up = dirname(dir); up !== found.at(-1); up = dirname(up)) found.push(up);
  return found;
}
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

interface Rig {
  fake: FakeOpenBSD;
  dir: string;
  configPath: string;
  socket: string;
}

/** A router of fake tools with a bound lease, its directory open to an unprivileged child. */
async function rig(extra = ''): Promise<Rig> {
  const fake = await createFakeOpenBSD({ kernelPortset: true });
  const dir = await mkdtemp(join(tmpdir(), 'maped-privsep-'));
  cleanups.push(() => fake.cleanup(), () => rm(dir, { recursive: true, force: true }));
  // mkdtemp makes it 0700: a child under another uid could not reach its state-dir.
  chmodSync(dir, 0o755);
  mkdirSync(join(dir, 'lease'));
  const configPath = join(dir, 'maped.conf');
  writeFileSync(
    configPath,
    [
      'wan em0',
      `lease file "${join(dir, 'lease', 'em0')}"`,
      'nat from { 192.168.1.0/24 }',
      ...(['ifconfig', 'route', 'pfctl', 'dhcp6leasectl'] as const).map((t) => `tool ${t} "${fake.tools[t]}"`),
      `state-dir "${join(dir, 'state')}"`,
      'metrics yes',
      extra,
      '',
    ].join('\n'),
  );
  writeFileSync(join(dir, 'lease', 'tmp'), `ia_pd 0 2001:db8:12:3400:: 56\n${S46}\n`);
  renameSync(join(dir, 'lease', 'tmp'), join(dir, 'lease', 'em0'));
  fake.setLeasectl('em0', 'em0 [Bound]\n\tIA_PD 0: 2001:db8:12:3400::/56\n\tlease 7 days\n');
  return { fake, dir, configPath, socket: join(dir, 'maped.sock') };
}

/** One control request's deadline: the parent hands the connection to its child, two processes to wake on a loaded machine. */
const ANSWER_MS = 10_000;
const status = async (socket: string): Promise<Status> => StatusSchema.parse(await request(socket, 'status', ANSWER_MS));

async function waitFor<T>(what: string, probe: () => Promise<T | null> | T | null, log: () => string, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  while (Date.now() < deadline) {
    try {
      const value = await probe();
      if (value !== null) return value;
    } catch (e) {
      last = (e as Error).message;
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out waiting for ${what} (${last})\nlog:\n${log()}`);
}

/** The unprivileged children of maped's parent `pid`, not the tools it runs. */
function mapedChildren(pid: number): number[] {
  return childrenOf(pid).filter((child) => {
    try {
      return readFileSync(`/proc/${child}/cmdline`, 'utf8').includes('maped-child');
    } catch {
      return false; // Gone meanwhile.
    }
  });
}

async function uidOf(pid: number): Promise<number> {
  const { stdout } = await run('ps', ['-o', 'uid=', '-p', String(pid)]);
  return Number(stdout.trim());
}

const isRoot = process.getuid?.() === 0;
const nobody = lookupUser('nobody');

describe('maped as two processes, end to end', () => {
  it('the split without a uid change: the child answers the control socket, the parent runs the tools', async () => {
    const r = await rig();
    const maped = startMaped(r.configPath, r.socket);
    cleanups.push(async () => {
      maped.signal('SIGKILL');
      await maped.exited;
    });
    const active = await maped.waitFor((s) => s.state === 'active', 'active');
    const parent = maped.child.pid!;
    // status pid is maped's, the one in the pid file, not the child's.
    expect(active.pid).toBe(parent);
    const [child, ...more] = mapedChildren(parent);
    expect(more).toEqual([]);
    expect(child).toBeGreaterThan(0);
    expect(r.fake.state().anchors['maped']?.join('\n')).toMatch(/map-e-portset 6\/8\/52/);
    // Rewritten after the apply that made maped active.
    await waitFor('maped.prom to say active', () => (/^maped_state\{state="active"\} 1$/m.test(readFileSync(join(r.dir, 'state', 'child', 'maped.prom'), 'utf8')) ? true : null), maped.output);

    maped.signal('SIGTERM');
    expect(await maped.exited).toBe(0);
    // The child went first, and what maped configured stays (on-exit keep).
    expect(() => process.kill(child!, 0)).toThrow(/ESRCH/);
    expect(r.fake.state().anchors['maped']?.length).toBeGreaterThan(0);
  });

  it('mapedctl log verbose and brief reach both processes; each logs its memory when it turns verbose', async () => {
    const r = await rig();
    const maped = startMaped(r.configPath, r.socket, [], undefined, [], ['-d']);
    cleanups.push(async () => {
      maped.signal('SIGKILL');
      await maped.exited;
    });
    await maped.waitFor((s) => s.state === 'active', 'active');
    const parent = maped.child.pid!;
    const [first] = mapedChildren(parent);
    expect(maped.output()).not.toMatch(/^debug:/m);

    expect(await request(r.socket, 'log verbose', ANSWER_MS)).toEqual({ message: 'logging verbose' });
    const memory = (pid: number, who: string) =>
      waitFor(`the memory line of the ${who}`, () => new RegExp(`^debug: memory of pid ${pid} \\(${who}\\): rss ([\\d.]+) MiB, V8 heap used ([\\d.]+) MiB of ([\\d.]+) MiB, external [\\d.]+ MiB$`, 'm').exec(maped.output()), maped.output);
    for (const [pid, who] of [[parent, 'privileged parent'], [first!, 'unprivileged child']] as const) {
      const [, rss, used, total] = (await memory(pid, who)).map(Number);
      // Figures of the process itself: a node process holds tens of MiB, its heap a part of them.
      expect(rss).toBeGreaterThan(10);
      expect(used).toBeGreaterThan(0);
      expect(used).toBeLessThanOrEqual(total!);
      expect(total).toBeLessThan(rss!);
    }
    // The parent logs at debug now: a child it starts again says so.
    process.kill(first!, 'SIGKILL');
    const second = await waitFor('a new child', () => mapedChildren(parent).find((pid) => pid !== first) ?? null, maped.output);
    await waitFor('the new child said at debug', () => (maped.output().includes(`debug: unprivileged child ${second} started`) ? true : null), maped.output);
    await maped.waitFor((s) => s.state === 'active', 'active again');

    // Brief again, in both: the next child's start is not said.
    expect(await request(r.socket, 'log brief', ANSWER_MS)).toEqual({ message: 'logging brief' });
    const debugLines = maped.output().match(/^debug:/gm)!.length;
    process.kill(second, 'SIGKILL');
    const third = await waitFor('a third child', () => mapedChildren(parent).find((pid) => pid !== first && pid !== second) ?? null, maped.output);
    await maped.waitFor((s) => s.state === 'active', 'active a third time');
    expect(maped.output()).toMatch(new RegExp(`unprivileged child ${second} ended`));
    expect(maped.output()).not.toContain(`unprivileged child ${third} started`);
    expect(maped.output().match(/^debug:/gm)!.length).toBe(debugLines);
  });

  it.runIf(isRoot && nobody.ok)('as root: the child runs as the user of maped.conf, ps shows its uid; the parent stays root', async () => {
    const user = nobody.ok ? nobody.value : null;
    // The run's temporary directory (test/support/temp-dir-check.ts) is 0700: the child must pass through it.
    // So is a checkout in /root or in CI's mktemp directory: the child loads maped's code from it, as
    // an installed maped's from a world-readable /usr/local. Each directory on the way gets o+x
    // (traverse only) for the test, and its mode back afterwards.
    for (const dir of [tmpdir(), ...ancestors(REPO_ROOT)]) {
      const mode = statSync(dir).mode & 0o7777;
      if ((mode & 0o001) !== 0) continue;
      chmodSync(dir, mode | 0o001);
      cleanups.push(async () => chmodSync(dir, mode));
    }
    const r = await rig('user nobody');
    // tsx keeps its cache in the temporary directory, per uid: the child's must be one it can write.
    const tmp = join(r.dir, 'tmp');
    mkdirSync(tmp);
    chmodSync(tmp, 0o1777);
    // state-dir a link to a directory elsewhere, as an admin may make it (followed), and in it a
    // link where the child's directory goes, as a child of an earlier version could have planted
    // one (removed, never followed: root would otherwise give that directory to the child's group).
    const elsewhere = join(r.dir, 'state-on-another-disk');
    const target = join(r.dir, 'planted-target');
    mkdirSync(elsewhere);
    mkdirSync(target, { mode: 0o700 });
    symlinkSync(elsewhere, join(r.dir, 'state'));
    symlinkSync(target, join(elsewhere, 'child'));
    const maped = startMaped(r.configPath, r.socket, [], undefined, [], undefined, { privsep: 'auto', env: { TMPDIR: tmp } });
    cleanups.push(async () => {
      maped.signal('SIGKILL');
      await maped.exited;
    });
    await maped.waitFor((s) => s.state === 'active', 'active');
    const parent = maped.child.pid!;
    const [child] = childrenOf(parent);
    expect(child).toBeDefined();
    expect(await uidOf(parent)).toBe(0);
    expect(await uidOf(child!)).toBe(user!.uid);
    expect(maped.output()).not.toMatch(/refused to run/);
    // The metrics file the child writes in state-dir/child, given to its group.
    await waitFor('maped.prom to say active', () => (/^maped_state\{state="active"\} 1$/m.test(readFileSync(join(r.dir, 'state', 'child', 'maped.prom'), 'utf8')) ? true : null), maped.output);
    const owner = async (path: string): Promise<string> => (await run('stat', ['-L', '-c', '%u %g %a', path])).stdout.trim();
    // state-dir is root's alone, the child's directory in it root's with the child's group.
    expect(await owner(join(r.dir, 'state'))).toMatch(/^0 \d+ 755$/);
    expect(await owner(join(r.dir, 'state', 'child'))).toBe(`0 ${user!.gid} 770`);
    expect(lstatSync(join(elsewhere, 'child')).isDirectory()).toBe(true);
    expect(await owner(target)).toMatch(/^0 0 700$/);
    expect(maped.output()).toContain(`${join(r.dir, 'state', 'child')}: a symbolic link where maped keeps a directory; removed`);
    // The ownership record stays the parent's: root's, mode 0600.
    expect(await owner(join(r.dir, 'state', 'ownership.json'))).toMatch(/^0 \d+ 600$/);
    // The child can write beside its own files, not beside the record.
    const asChild = (path: string): Promise<unknown> => run('su', ['-s', '/bin/sh', '-c', `touch ${path}`, 'nobody']);
    await asChild(join(r.dir, 'state', 'child', 'planted'));
    await expect(asChild(join(r.dir, 'state', 'planted'))).rejects.toThrow(/Permission denied/);
    maped.signal('SIGTERM');
    expect(await maped.exited).toBe(0);
  });

  it('as root without the user: maped says so in one line and starts nothing', async () => {
    if (!isRoot) return;
    const r = await rig('user maped-test-no-such-user');
    const maped = startMaped(r.configPath, r.socket, [], undefined, [], undefined, { privsep: 'auto' });
    expect(await maped.exited).toBe(1);
    expect(maped.output()).toMatch(/^maped: user maped-test-no-such-user: no such user/m);
    expect(r.fake.mutations()).toEqual([]);
  });
});

/** maped's parent with the test child, as a process of its own (test/support/privsep-parent-rig.ts). */
async function parentRig(childEnv: Record<string, string>): Promise<Rig & { log: () => string; childPid: () => number | null; parentPid: number }> {
  const r = await rig();
  let text = '';
  const parent = spawn(process.execPath, ['--import', 'tsx', PARENT_RIG, r.configPath, r.socket], {
    cwd: REPO_ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ...childEnv },
  });
  parent.stdout.setEncoding('utf8').on('data', (s: string) => (text += s));
  parent.stderr.setEncoding('utf8').on('data', (s: string) => (text += s));
  const exited = new Promise((done) => parent.once('exit', done));
  cleanups.push(async () => {
    parent.kill('SIGTERM');
    await exited;
  });
  const childPid = (): number | null => {
    const started = [...text.matchAll(/unprivileged child (\d+) started/g)];
    const last = started.at(-1);
    return last === undefined || new RegExp(`unprivileged child ${last[1]} ended`).test(text) ? null : Number(last[1]);
  };
  return { ...r, log: () => text, childPid, parentPid: parent.pid! };
}

/** What maped configured, as the fakes hold it. */
const applied = (fake: FakeOpenBSD): string => {
  const s = fake.state();
  return JSON.stringify([s.interfaces, s.routes, s.anchors]);
};

describe('the parent and a child gone wrong', () => {
  // Each replaced child waits longer (1 s, 2 s, 4 s): three kinds here, the rest of the schema below.
  const hostile: [string, unknown][] = [
    ['not an object', 'reboot'],
    ['an unknown message', { type: 'exec', command: '/bin/sh -c reboot' }],
    ['a run with a field too many', { type: 'run', id: 7, file: '/bin/sh', args: ['-c', 'reboot'], timeoutMs: 1000, maxOutput: 1000, shell: true }],
  ];

  it.each([
    ['a run of a hundred arguments', { type: 'run', id: 8, file: '/sbin/pfctl', args: Array.from({ length: 100 }, () => '-F'), timeoutMs: 1000, maxOutput: 1000 }],
    ['a run without a timeout', { type: 'run', id: 8, file: '/sbin/pfctl', args: ['-sr'], maxOutput: 1000 }],
    ['an ownership record that is not text', { type: 'write-ownership', id: 9, text: { version: 1 } }],
    ['a lease read of any path', { type: 'read-lease', id: 10 }],
    ['an id that is not a number', { type: 'reload', id: 'x' }],
    ['a control reply of two lines', { type: 'control-reply', id: 1, text: '{"version":1,"ok":true,"result":1}\n{"version":1}\n' }],
    ['a control reply without its newline', { type: 'control-reply', id: 1, text: '{"version":1,"ok":true,"result":1}' }],
    ['a control reply longer than an answer may be', { type: 'control-reply', id: 1, text: `${'€'.repeat(Math.floor(MAX_ANSWER_BYTES / 3) + 1)}\n` }],
  ])('the parent takes %s for a child gone wrong (the message does not validate)', (_name, message) => {
    expect(ChildRequestSchema.safeParse(message).success).toBe(false);
  });

  it('each malformed message: logged, the child replaced, the applied state untouched', async () => {
    const messageFile = join(tmpdir(), `maped-privsep-message-${process.pid}.json`);
    cleanups.push(() => rm(messageFile, { force: true }));
    const r = await parentRig({ PRIVSEP_TEST_MESSAGE: messageFile });
    await waitFor('active', async () => ((await status(r.socket)).state === 'active' ? true : null), r.log);
    const before = applied(r.fake);
    const mutations = r.fake.mutations().length;

    for (const [name, message] of hostile) {
      const child = r.childPid()!;
      writeFileSync(messageFile, JSON.stringify(message));
      process.kill(child, 'SIGUSR2');
      await waitFor(`a new child after ${name}`, () => (r.childPid() !== null && r.childPid() !== child ? true : null), r.log);
      expect(r.log()).toMatch(new RegExp(`unprivileged child ${child}: a message that does not validate \\(.+\\); ending it`));
      await waitFor(`active again after ${name}`, async () => ((await status(r.socket)).state === 'active' ? true : null), r.log);
      expect(applied(r.fake), name).toBe(before);
    }
    // Nothing was torn down or applied again: the new children found it all in place.
    expect(r.fake.mutations().length).toBe(mutations);
  }, 90_000);

  it('a well-formed request the allowlist refuses: logged and answered as a failed run; nothing runs, the child stays', async () => {
    const messageFile = join(tmpdir(), `maped-privsep-refused-${process.pid}.json`);
    cleanups.push(() => rm(messageFile, { force: true }));
    const r = await parentRig({ PRIVSEP_TEST_MESSAGE: messageFile });
    await waitFor('active', async () => ((await status(r.socket)).state === 'active' ? true : null), r.log);
    const child = r.childPid()!;
    const calls = r.fake.log().length;
    const requests: unknown[] = [
      { type: 'run', id: 1_000_001, file: r.fake.tools.pfctl, args: ['-F', 'all'], timeoutMs: 1000, maxOutput: 1000 },
      { type: 'run', id: 1_000_002, file: r.fake.tools.ifconfig, args: ['em0', 'down'], timeoutMs: 1000, maxOutput: 1000 },
      { type: 'run', id: 1_000_003, file: r.fake.tools.pfctl, args: ['-o', 'none', '-a', 'maped', '-f', '-'], stdin: 'pass all\n', timeoutMs: 1000, maxOutput: 1000 },
      { type: 'run', id: 1_000_004, file: '/bin/sh', args: ['-c', 'id'], timeoutMs: 1000, maxOutput: 1000 },
      { type: 'write-ownership', id: 1_000_005, text: '{"version": 1, "gifCreated": "yes"}' },
      // A state of the router's own (the admin's SSH session, say): the shape is maped's, the state is not.
      { type: 'run', id: 1_000_006, file: r.fake.tools.pfctl, args: ['-k', 'id', '-k', '00000000000000ff'], timeoutMs: 1000, maxOutput: 1000 },
    ];
    for (const message of requests) {
      writeFileSync(messageFile, JSON.stringify(message));
      const said = r.log().length;
      process.kill(child, 'SIGUSR2');
      await waitFor('the refusal logged', () => (/refused/.test(r.log().slice(said)) ? true : null), r.log);
    }
    expect(r.log()).toMatch(/refused to run .*pfctl -F all: not a pfctl command maped runs/);
    expect(r.log()).toMatch(/refused to run .*ifconfig em0 down: not a WAN command maped runs/);
    expect(r.log()).toMatch(/refused to run .*pfctl -o none -a maped -f -: anchor line 1: a rule not bound to an interface/);
    expect(r.log()).toMatch(/refused to run \/bin\/sh -c id: \/bin\/sh is not a tool path of maped.conf/);
    expect(r.log()).toMatch(/ownership record from the child refused/);
    expect(r.log()).toMatch(/refused to run .*pfctl -k id -k 00000000000000ff: state 00000000000000ff is not a state of maped's tunnel in the parent's last pfctl -ss -vv/);
    expect(r.fake.log().slice(calls).filter(([tool, ...args]) => tool === 'pfctl' && args.includes('-F'))).toEqual([]);
    expect(r.childPid()).toBe(child);
    expect((await status(r.socket)).state).toBe('active');
  }, 60_000);

  it('a record from the child may not name other interfaces or anchors (they would widen the allowlist), and what reaches the disk is the parent\'s own serialization', async () => {
    const messageFile = join(tmpdir(), `maped-privsep-record-${process.pid}.json`);
    cleanups.push(() => rm(messageFile, { force: true }));
    const r = await parentRig({ PRIVSEP_TEST_MESSAGE: messageFile });
    await waitFor('active', async () => ((await status(r.socket)).state === 'active' ? true : null), r.log);
    const child = r.childPid()!;
    const recordPath = join(r.dir, 'state', 'ownership.json');
    const record = JSON.parse(readFileSync(recordPath, 'utf8')) as Record<string, unknown>;
    expect(record).toMatchObject({ wan: 'em0', tunnel: 'gif0', anchor: 'maped' });
    const ask = async (message: unknown, said: RegExp): Promise<void> => {
      writeFileSync(messageFile, JSON.stringify(message));
      const from = r.log().length;
      process.kill(child, 'SIGUSR2');
      await waitFor(`the parent's word on ${JSON.stringify(message).slice(0, 80)}`, () => (said.test(r.log().slice(from)) ? true : null), r.log);
    };
    for (const [field, value] of [['wan', 'em1'], ['tunnel', 'gif1'], ['anchor', 'blocklist'], ['label', 'dhcpleased']] as const) {
      await ask(
        { type: 'write-ownership', id: 2_000_000, text: JSON.stringify({ ...record, [field]: value }) },
        new RegExp(`ownership record from the child refused: ${field} ${value} is neither maped.conf's`),
      );
    }
    expect(JSON.parse(readFileSync(recordPath, 'utf8'))).toEqual(record);
    // The names stay maped.conf's: another anchor's rules can still not be flushed.
    await ask({ type: 'run', id: 2_000_001, file: r.fake.tools.pfctl, args: ['-a', 'blocklist', '-F', 'all'], timeoutMs: 1000, maxOutput: 1000 }, /refused to run .*pfctl -a blocklist -F all: anchor blocklist is not maped's anchor maped/);
    // A record with the configuration's names is written, but as the parent parsed it: a word of the child's own never reaches the disk.
    const inode = statSync(recordPath).ino;
    writeFileSync(messageFile, JSON.stringify({ type: 'write-ownership', id: 2_000_002, text: JSON.stringify({ ...record, x: '$(touch /tmp/pwned)' }) }));
    process.kill(child, 'SIGUSR2');
    // Replaced by rename(2): a new file.
    await waitFor('the record written again', () => (statSync(recordPath).ino !== inode ? true : null), r.log);
    expect(readFileSync(recordPath, 'utf8')).not.toMatch(/pwned|"x"/);
    expect(JSON.parse(readFileSync(recordPath, 'utf8'))).toEqual(record);
    expect(r.childPid()).toBe(child);
    expect(r.fake.log().filter(([tool, ...args]) => tool === 'pfctl' && args.includes('blocklist'))).toEqual([]);
  }, 60_000);

  it(`a child that asks for more than ${MAX_REQUESTS_AT_ONCE} runs at once: logged once, replaced, the applied state untouched`, async () => {
    const messageFile = join(tmpdir(), `maped-privsep-flood-${process.pid}.json`);
    cleanups.push(() => rm(messageFile, { force: true }));
    const r = await parentRig({ PRIVSEP_TEST_MESSAGE: messageFile });
    await waitFor('active', async () => ((await status(r.socket)).state === 'active' ? true : null), r.log);
    const before = applied(r.fake);
    const child = r.childPid()!;
    // `ifconfig em0` alone: a read the allowlist takes (prefix autoconf's) that maped, following a lease file here, never runs itself.
    // A long timeout: a run the parent killed at its timeout before the fake logged it would go uncounted.
    const flood = Array.from({ length: MAX_REQUESTS_AT_ONCE + 8 }, (_, i) => ({ type: 'run', id: 3_000_000 + i, file: r.fake.tools.ifconfig, args: ['em0'], timeoutMs: 60_000, maxOutput: 1000 }));
    writeFileSync(messageFile, JSON.stringify(flood));
    process.kill(child, 'SIGUSR2');
    await waitFor('a new child', () => (r.childPid() !== null && r.childPid() !== child ? true : null), r.log);
    expect(r.log().match(new RegExp(`unprivileged child ${child}: more than ${MAX_REQUESTS_AT_ONCE} requests at once; ending it`, 'g'))).toHaveLength(1);
    // The runs the parent took go on after the child is ended, each logged by the fake only once
    // its node process has started (seconds, for thirty of them on a loaded machine): counted
    // once none is left.
    const floodRun = `${r.fake.tools.ifconfig} em0`;
    await waitFor('the flooded runs to end', () => (processesNaming(floodRun).some((pid) => commandLineOf(pid).endsWith(floodRun)) ? null : true), r.log);
    // Not one run past the limit was started.
    const flooded = r.fake.log().filter(([tool, ...args]) => tool === 'ifconfig' && args.join(' ') === 'em0').length;
    expect(flooded).toBeGreaterThan(0);
    expect(flooded).toBeLessThanOrEqual(MAX_REQUESTS_AT_ONCE);
    await waitFor('active again', async () => ((await status(r.socket)).state === 'active' ? true : null), r.log);
    expect(applied(r.fake)).toBe(before);
  }, 120_000);

  it('a child that writes one endless line: logged once, ended and replaced; the parent never holds more than the bound, the applied state untouched', async () => {
    const r = await parentRig({ PRIVSEP_TEST_ENDLESS: '1' });
    await waitFor('active', async () => ((await status(r.socket)).state === 'active' ? true : null), r.log);
    const before = applied(r.fake);
    const mutations = r.fake.mutations().length;
    const child = r.childPid()!;
    const start = residentKiB(r.parentPid);
    let peak = start;
    const sampler = setInterval(() => (peak = Math.max(peak, residentKiB(r.parentPid))), 10);
    cleanups.push(async () => clearInterval(sampler));
    process.kill(child, 'SIGUSR2');
    await waitFor('a new child', () => (r.childPid() !== null && r.childPid() !== child ? true : null), r.log);
    await waitFor('active again', async () => ((await status(r.socket)).state === 'active' ? true : null), r.log);
    clearInterval(sampler);
    peak = Math.max(peak, residentKiB(r.parentPid));
    const said = r.log().match(new RegExp(`unprivileged child ${child}: a message longer than ${MAX_CHILD_MESSAGE_BYTES} bytes; ending it`, 'g'));
    expect(said, r.log()).toHaveLength(1);
    expect(r.log()).toMatch(new RegExp(`unprivileged child ${child} ended \\(SIGKILL\\); what is applied stays`));
    // Node's own channel grew to 650 MB and crashed (RangeError: Invalid string length); the bound is 8 MiB.
    const grownMiB = (peak - start) / 1024;
    expect(grownMiB, `the parent's RSS grew from ${Math.round(start / 1024)} MiB to ${Math.round(peak / 1024)} MiB`).toBeLessThan(40);
    expect(applied(r.fake)).toBe(before);
    expect(r.fake.mutations().length).toBe(mutations);
  }, 60_000);

  it('a child that keeps dying: restarted after 1 s, 2 s, 4 s …, and the system left as it is', async () => {
    const marker = join(tmpdir(), `maped-privsep-marker-${process.pid}`);
    cleanups.push(() => rm(marker, { force: true }));
    const r = await parentRig({ PRIVSEP_TEST_MARKER: marker });
    await waitFor('active', async () => ((await status(r.socket)).state === 'active' ? true : null), r.log);
    const before = applied(r.fake);
    const mutations = r.fake.mutations().length;
    process.kill(r.childPid()!, 'SIGKILL');
    await waitFor('three restarts', () => ((r.log().match(/starting it again in/g) ?? []).length >= 3 ? true : null), r.log, 30_000);
    expect(r.log()).toMatch(/ended \(SIGKILL\); what is applied stays; starting it again in 1 s/);
    expect(r.log()).toMatch(/ended \(exit 3\); what is applied stays; starting it again in 2 s/);
    expect(r.log()).toMatch(/ended \(exit 3\); what is applied stays; starting it again in 4 s/);
    expect(applied(r.fake)).toBe(before);
    expect(r.fake.mutations().length).toBe(mutations);
    // Meanwhile the control socket says why it cannot answer, in the protocol's own words.
    await expect(request(r.socket, 'status', ANSWER_MS)).rejects.toThrow(/restarting its unprivileged part/);
  }, 60_000);
});

describe('control requests the parent relays', () => {
  it('a child that does not answer in time: the client is refused, saying so; its late answer is dropped, the child kept', async () => {
    const r = await parentRig({ PRIVSEP_TEST_CONTROL_MS: '1000' });
    await waitFor('active', async () => ((await status(r.socket)).state === 'active' ? true : null), r.log);
    const child = r.childPid()!;
    process.kill(child, 'SIGSTOP');
    try {
      await expect(request(r.socket, 'status', 5000)).rejects.toThrow("maped's unprivileged part did not answer within 1 s");
    } finally {
      process.kill(child, 'SIGCONT');
    }
    // The answer that comes after is of no use, and no sign of a child gone wrong.
    expect((await status(r.socket)).state).toBe('active');
    expect(r.childPid()).toBe(child);
    expect(r.log()).not.toMatch(/ending it/);
  }, 60_000);

  it('a child that dies with requests pending: each client is refused at once, and answered again by the next child', async () => {
    const r = await parentRig({});
    await waitFor('active', async () => ((await status(r.socket)).state === 'active' ? true : null), r.log);
    const child = r.childPid()!;
    process.kill(child, 'SIGSTOP');
    const pending = [request(r.socket, 'status', 10_000), request(r.socket, 'show rules', 10_000)].map((p) => p.then(() => 'answered', (e: Error) => e.message));
    // Both reach the child before it dies (they wait in its channel).
    await new Promise((done) => setTimeout(done, 300));
    const killed = Date.now();
    process.kill(child, 'SIGKILL');
    expect(await Promise.all(pending)).toEqual([RESTARTING, RESTARTING]);
    expect(Date.now() - killed).toBeLessThan(5000);
    await waitFor('a new child', () => (r.childPid() !== null && r.childPid() !== child ? true : null), r.log);
    await waitFor('active again', async () => ((await status(r.socket)).state === 'active' ? true : null), r.log);
  }, 60_000);
});
