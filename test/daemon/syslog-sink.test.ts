/**
 * Log lines to syslog at their own priority (issue 16 item 8): through
 * fake logger(1) programs that write down their -p and -t and every line
 * they read, as logger.c does when given no message.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/daemon/log.js';
import { createSyslogSink, MAX_SYSLOG_LINE, SYSLOG_PRIORITY } from '../../src/daemon/syslog-sink.js';
import { fakeRouterConfig, launchMaped, stopLaunchedMapeds } from '../support/daemon-process.js';
import { createFakeLogger, loggedLines } from '../support/fake-logger.js';
import { createFakeOpenBSD } from '../support/fake-openbsd/index.js';
import { REPO_ROOT } from '../support/vectors.js';

const dirs: string[] = [];
afterEach(async () => {
  await stopLaunchedMapeds();
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** A fake logger(1) whose directory goes after the test. */
function fakeLogger(): { path: string; logged: string } {
  const logger = createFakeLogger();
  dirs.push(logger.dir);
  return logger;
}

describe('syslog priorities', () => {
  it('each pino level at its syslog priority, facility daemon, tag maped; the sentence unchanged', async () => {
    const { path, logged } = fakeLogger();
    const syslog = createSyslogSink(path);
    const stderr: string[] = [];
    const log = createLogger({ verbose: true, syslog, out: { write: (t: string) => stderr.push(t) } });
    log.debug('planning');
    log.info('applied with 9 commands');
    log.warn('pf is not enabled');
    log.error('step 3 failed');
    log.fatal('cannot go on');
    await syslog.close();
    const lines = await loggedLines(logged, 5);
    expect(lines.sort()).toEqual(
      [
        'daemon.crit maped fatal: cannot go on',
        'daemon.debug maped debug: planning',
        'daemon.err maped error: step 3 failed',
        'daemon.info maped applied with 9 commands',
        'daemon.warning maped warn: pf is not enabled',
      ].sort(),
    );
    expect(stderr).toEqual([]);
    expect(SYSLOG_PRIORITY).toMatchObject({ debug: 'debug', info: 'info', warn: 'warning', error: 'err', fatal: 'crit' });
  });

  it('JSON lines too, by their numeric level; a line longer than syslog takes is cut', async () => {
    const { path, logged } = fakeLogger();
    const syslog = createSyslogSink(path);
    const log = createLogger({ verbose: false, json: true, syslog });
    log.warn('x'.repeat(MAX_SYSLOG_LINE * 2));
    await syslog.close();
    const [line] = await loggedLines(logged, 1);
    expect(line).toMatch(/^daemon\.warning maped \{"level":40,/);
    expect(line!.length).toBe('daemon.warning maped '.length + MAX_SYSLOG_LINE);
  });

  it('a message with a newline stays one line (no forged syslog line), its controls escaped, JSON lines still JSON', async () => {
    const { path, logged } = fakeLogger();
    const syslog = createSyslogSink(path);
    const log = createLogger({ verbose: false, syslog });
    log.warn('provisioning: no usable kind in order [x\nmaped[42]: forged line]: \u001b]0;owned\u0007 \u009b2J \u2028');
    const json = createLogger({ verbose: false, json: true, syslog });
    json.error('x\nmaped[42]: forged \u009b \u2029');
    syslog.write('info', 'sink alone\nmaped[42]: forged');
    await syslog.close();
    const lines = await loggedLines(logged, 3);
    expect(lines).toContain('daemon.warning maped warn: provisioning: no usable kind in order [x\\x0amaped[42]: forged line]: \\x1b]0;owned\\x07 \\x9b2J \\u2028');
    expect(lines).toContain('daemon.info maped sink alone\\x0amaped[42]: forged');
    const jsonLine = lines.find((l) => l.startsWith('daemon.err '))!;
    expect(JSON.parse(jsonLine.slice('daemon.err maped '.length)).msg).toBe('x\nmaped[42]: forged \u009b \u2029');
    expect(jsonLine).not.toMatch(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/);
    expect(lines).toHaveLength(3);
  });

  it('on stderr (-d) too, a message is one line of visible text', () => {
    const out: string[] = [];
    const log = createLogger({ verbose: false, out: { write: (t: string) => out.push(t) } });
    log.info('enabler \u001b]0;owned\u0007\nmaped[42]: forged');
    expect(out).toEqual(['enabler \\x1b]0;owned\\x07\\x0amaped[42]: forged\n']);
  });

  it('without a logger program: says so once on stderr and logs there instead', async () => {
    const stderr: string[] = [];
    const syslog = createSyslogSink('/nonexistent/usr/bin/logger', { fallback: { write: (t: string) => stderr.push(t) } });
    const log = createLogger({ verbose: false, syslog });
    log.info('one');
    log.warn('two');
    await syslog.close();
    expect(stderr[0]).toMatch(/^maped: cannot log to syslog through \/nonexistent\/usr\/bin\/logger: .*ENOENT.*; logging to stderr\n$/);
    expect(stderr.slice(1)).toEqual(['one\n', 'warn: two\n']);
  });
});

describe('maped without -d', () => {
  it('logs to syslog at each line\'s priority, its stop included; the command that put it in the background prints nothing', async () => {
    const fake = await createFakeOpenBSD({ kernelPortset: true });
    const { path, logged } = fakeLogger();
    const dir = mkdtempSync(join(tmpdir(), 'maped-syslog-run-'));
    dirs.push(dir);
    mkdirSync(join(dir, 'lease'));
    // No anchor call in pf.conf: a warning to see at its own priority.
    fake.editState((s) => {
      s.mainRules = ['block return all', 'pass all flags S/SA'];
    });
    writeFileSync(join(dir, 'lease', 'em0'), readFileSync(join(REPO_ROOT, 'examples', 'lease', 'em0')));
    fake.setLeasectl('em0', 'em0 [Bound]\n\tIA_PD 0: 2001:db8:12:3400::/56\n\tlease 7 days\n');
    const config = join(dir, 'maped.conf');
    writeFileSync(config, `${fakeRouterConfig(fake.tools, dir)}tool logger "${path}"\n`);
    const launch = await launchMaped(config, join(dir, 'maped.sock'), join(dir, 'state', 'maped.pid'));
    expect(launch.output).toBe('');
    expect(launch.code).toBe(0);
    const maped = launch.daemon!;
    try {
      await maped.waitFor((s) => s.state === 'active' && s.warnings.some((w) => w.includes('does not call anchor')), 'active, with the warning');
      // maped has handed the lines to its loggers (one per process, each a shell loop that
      // appends a line at a time): they may still be writing them, the warning among the last.
      const starting = (l: string): boolean => l.startsWith('daemon.info maped maped ') && l.includes(' starting: wan em0');
      const ran = (l: string): boolean => l.startsWith('daemon.debug maped debug: run: ');
      const warning = (l: string): boolean => l.includes('does not call anchor "maped"');
      const lines = await loggedLines(logged, (ls) => ls.some(starting) && ls.some(ran) && ls.some(warning));
      expect(lines.find(starting)).toBeDefined();
      expect(lines.filter(ran).length).toBeGreaterThan(0);
      const warned = (await loggedLines(logged, 0)).filter(warning);
      expect(warned.map((l) => l.split(' ')[0])).toEqual(['daemon.warning']);
    } finally {
      maped.signal('SIGTERM');
      await maped.gone();
      await fake.cleanup();
    }
    // The stop is logged too: the loggers get their last lines before maped exits.
    const stopping = (lines: string[]): boolean => lines.some((l) => /^daemon\.info maped SIGTERM: stopping/.test(l));
    expect(stopping(await loggedLines(logged, stopping))).toBe(true);
  });
});
