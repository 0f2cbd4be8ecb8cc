/**
 * rc.d/maped: what rc.subr(8) needs to start, find, reload and check maped,
 * its configtest command line run for real against the sample config, and
 * its start as rc.subr runs it with daemon_logger.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { backgroundMaped, closedWithin, fakeLeaser, fakeRouterConfig, type BackgroundMaped } from '../support/daemon-process.js';
import { createFakeLogger } from '../support/fake-logger.js';
import { createFakeOpenBSD } from '../support/fake-openbsd/index.js';
import { processGone } from '../support/procfs.js';
import { REPO_ROOT, readRepoFile } from './mdoc.js';

const script = readRepoFile('rc.d/maped');
const pkg = JSON.parse(readRepoFile('package.json')) as { name: string; bin: Record<string, string> };

/** A top-level `name=value` or `name="value"` assignment of the script. */
function assignment(name: string): string | undefined {
  const m = new RegExp(`^${name}=(?:"([^"]*)"|(\\S*))$`, 'm').exec(script);
  return m ? (m[1] ?? m[2]) : undefined;
}

/** The command line of a shell function, comments left out. */
function functionBody(name: string): string {
  const m = new RegExp(`^${name}\\(\\) \\{\\n([\\s\\S]*?)\\n\\}$`, 'm').exec(script);
  if (!m) throw new Error(`rc.d/maped has no ${name}()`);
  return m[1]!
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'))
    .join('\n');
}

/**
 * What rc_configtest runs, with ${daemon} pointing at this checkout's
 * entry point instead of the installed one (node's flags kept, so anything
 * they print shows), and ${daemon_flags} as rcctl would pass them from
 * rc.conf.local.
 */
function configtest(flags: string[]): { status: number | null; stdout: string; stderr: string } {
  const words = functionBody('rc_configtest').split(/\s+/);
  const nodeFlags = assignment('daemon')!
    .split(/\s+/)
    .filter((word) => word.startsWith('--'));
  const argv = words.flatMap((word) => {
    if (word === '${daemon}') return [process.execPath, ...nodeFlags, '--import', 'tsx', 'src/cli/maped.ts'];
    if (word === '${daemon_flags}') return flags;
    return [word];
  });
  const run = spawnSync(argv[0]!, argv.slice(1), { cwd: REPO_ROOT, encoding: 'utf8' });
  return { status: run.status, stdout: run.stdout, stderr: run.stderr };
}

/**
 * What rc.subr 1.162's rc_exec runs for start with daemon_logger set
 * (`set -o pipefail; ${daemon} ${daemon_flags} 2>&1 | logger -isp …`), with
 * this checkout's maped as ${daemon} and cat(1) as the logger: the
 * pipeline's status once it has ended, and what reached the logger. Fails
 * if the pipeline does not end within 90 s, as it would not if the daemon
 * kept the pipe.
 */
async function rcStart(flags: string[]): Promise<{ status: number | null; logged: string }> {
  const nodeFlags = assignment('daemon')!
    .split(/\s+/)
    .filter((word) => word.startsWith('--'));
  const pipeline = spawn('bash', ['-c', 'set -o pipefail; "$@" 2>&1 | cat', 'rc_exec', process.execPath, ...nodeFlags, '--import', 'tsx', 'src/cli/maped.ts', ...flags], {
    cwd: REPO_ROOT,
    stdio: ['ignore', 'pipe', 'inherit'],
    env: { ...process.env, MAPED_PRIVSEP: 'split' },
  });
  let logged = '';
  pipeline.stdout.setEncoding('utf8').on('data', (s: string) => (logged += s));
  const status = await closedWithin(pipeline, 90_000, () => `the start pipeline did not end within 90 s; logged:\n${logged}`);
  return { status, logged };
}

describe('rc.d/maped', () => {
  it('is a ksh script that sources rc.subr and ends with rc_cmd $1', () => {
    expect(script.startsWith('#!/bin/ksh\n')).toBe(true);
    expect(script).toMatch(/^\. \/etc\/rc\.d\/rc\.subr$/m);
    expect(script.trimEnd().endsWith('rc_cmd $1')).toBe(true);
  });

  it('parses as shell', () => {
    const check = spawnSync('sh', ['-n', 'rc.d/maped'], { cwd: REPO_ROOT, encoding: 'utf8' });
    expect(check.stderr).toBe('');
    expect(check.status).toBe(0);
  });

  it('runs node on the entry point npm installs for the maped bin', () => {
    expect(assignment('daemon')).toBe(`/usr/local/bin/node --max-semi-space-size=1 --lite-mode --no-expose-wasm /usr/local/lib/node_modules/${pkg.name}/${pkg.bin.maped}`);
  });

  it('leaves the backgrounding to maped (no rc_bg); what maped cannot log itself (why its start failed) reaches syslog as an error', () => {
    expect(script).not.toMatch(/^rc_bg=/m);
    expect(assignment('daemon_logger')).toBe('daemon.err');
    // maped logs to syslog and detaches itself unless told -d: the rc script must not pass it.
    expect(script).not.toMatch(/maped\.js.* -d\b/);
  });

  it("start as rc.subr runs it with daemon_logger: the pipeline returns 0 while maped runs on, or 1 with maped's reason for the logger", async () => {
    const fake = await createFakeOpenBSD({ kernelPortset: true });
    const dir = mkdtempSync(join(tmpdir(), 'maped-rc-start-'));
    const logger = createFakeLogger();
    let daemon: BackgroundMaped | null = null;
    try {
      fakeLeaser(fake, dir)('3400');
      mkdirSync(join(dir, 'state'));
      const config = join(dir, 'maped.conf');
      writeFileSync(config, `${fakeRouterConfig(fake.tools, dir)}tool logger "${logger.path}"\n`);
      const socket = join(dir, 'maped.sock');
      const pidFile = join(dir, 'state', 'maped.pid');

      const started = await rcStart(['-f', config, '-s', socket]);
      // The pipeline ended (logger saw end-of-file) with maped's status, and maped runs on.
      expect(started).toEqual({ status: 0, logged: '' });
      daemon = backgroundMaped(pidFile, socket);
      if (daemon === null) throw new Error('no pid file after a start that returned 0');
      expect((await daemon.waitFor((s) => s.state === 'active', 'active')).pid).toBe(daemon.pid);

      // A second start finds the first one's pid file: the reason goes down the pipe.
      const again = await rcStart(['-f', config, '-s', join(dir, 'other.sock')]);
      expect(again).toEqual({ status: 1, logged: `maped: already running (pid ${daemon.pid}, ${pidFile})\n` });

      daemon.signal('SIGTERM');
      await daemon.gone();
    } finally {
      if (daemon !== null && !processGone(daemon.pid)) process.kill(-daemon.pid, 'SIGKILL');
      await fake.cleanup();
      rmSync(dir, { recursive: true, force: true });
      rmSync(logger.dir, { recursive: true, force: true });
    }
  });

  it('finds the process by the title maped gives itself, as OpenBSD ps shows it', () => {
    const title = /process\.title = '([^']+)'/.exec(readRepoFile('src/cli/maped.ts'))?.[1];
    expect(title).toBe('maped');
    // setproctitle(3) puts "node: " in front; rc.subr matches with pgrep -xf.
    expect(assignment('pexp')).toBe(`node: ${title}`);
    expect(new RegExp(`^(?:${assignment('pexp')})$`).test(`node: ${title}`)).toBe(true);
  });

  it('keeps the default reload by SIGHUP, which maped handles', () => {
    expect(script).not.toMatch(/^rc_reload=NO/m);
    expect(script).not.toMatch(/^rc_reload_signal=/m);
    expect(readRepoFile('src/cli/maped.ts')).toMatch(/process\.on\('SIGHUP'/);
  });

  it('configtest runs maped -n with the daemon flags', () => {
    expect(functionBody('rc_configtest')).toBe('${daemon} -n ${daemon_flags}');
  });

  it('configtest accepts the sample configuration: "configuration OK", exit 0', () => {
    const result = configtest(['-f', 'etc/maped.conf']);
    expect(result.stderr).toBe('configuration OK\n');
    expect(result.stdout).toBe('');
    expect(result.status).toBe(0);
  });

  it('configtest refuses a bad configuration with file:line:col and reason, exit 1', () => {
    const dir = mkdtempSync(join(tmpdir(), 'maped-rc-'));
    const bad = join(dir, 'maped.conf');
    writeFileSync(bad, 'wan em0\ntunel gif0\n');
    const result = configtest(['-f', bad]);
    rmSync(dir, { recursive: true, force: true });
    expect(result.stderr).toMatch(new RegExp(`^maped: ${bad.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:2:1: .*tunel.*\\n$`));
    expect(result.status).toBe(1);
  });
});
