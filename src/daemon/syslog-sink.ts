/**
 * maped's log lines to syslogd(8), each at the priority of its level, when
 * it runs without -d (maped(8)). Node has no syslog(3), so the lines go
 * through logger(1): one long-running `logger -p daemon.<priority> -t maped`
 * per priority used, fed a line at a time on its standard input (logger.c
 * reads standard input when given no message). The facility is rc.d's
 * `daemon`; the priorities are those of sys/sys/syslog.h.
 *
 * Each logger runs in a process group of its own, so a terminal's ^C reaches
 * maped, which logs its stop, and not the loggers first; it ends when its
 * input does, with maped or on close(). Control characters in a line are
 * escaped (a newline would be a second, forged line), lines are cut at MAX_SYSLOG_LINE,
 * and a logger that does not keep up (MAX_PENDING bytes waiting) loses lines
 * rather than maped's memory. A logger that cannot be started sends the
 * line to stderr instead, with the reason once.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { escapeControls } from '../map/index.js';

/** pino's level labels → syslog priorities: debug → LOG_DEBUG … fatal → LOG_CRIT. */
export const SYSLOG_PRIORITY: Readonly<Record<string, string>> = {
  trace: 'debug',
  debug: 'debug',
  info: 'info',
  warn: 'warning',
  error: 'err',
  fatal: 'crit',
};

/** syslogd(8) takes messages of up to 8192 bytes (sys/sys/syslog.h LOG_MAXLINE); logger splits longer input. */
export const MAX_SYSLOG_LINE = 4096;
/** What may wait in one logger's pipe before lines are dropped. */
export const MAX_PENDING = 256 * 1024;
/** How long close() waits for the last lines to reach the loggers. */
export const CLOSE_WAIT_MS = 1000;

export interface SyslogSink {
  /** One log line (without its newline) at a pino level label. */
  write(level: string, line: string): void;
  /** Ends every logger's input, and resolves once it is handed over (at most CLOSE_WAIT_MS). */
  close(): Promise<void>;
}

export function createSyslogSink(loggerPath: string, options: { tag?: string; fallback?: { write(text: string): unknown } } = {}): SyslogSink {
  const tag = options.tag ?? 'maped';
  const fallback = options.fallback ?? process.stderr;
  const loggers = new Map<string, ChildProcess>();
  let failed: string | null = null;

  const giveUp = (why: string): void => {
    if (failed === null) fallback.write(`maped: cannot log to syslog through ${loggerPath}: ${why}; logging to stderr\n`);
    failed = why;
  };

  const loggerFor = (priority: string): ChildProcess | null => {
    const running = loggers.get(priority);
    if (running !== undefined) return running;
    // spawn reports a missing program only later, after the first lines were written to nowhere.
    try {
      accessSync(loggerPath, constants.X_OK);
    } catch (e) {
      giveUp((e as Error).message);
      return null;
    }
    const child = spawn(loggerPath, ['-p', `daemon.${priority}`, '-t', tag], { stdio: ['pipe', 'ignore', 'ignore'], detached: true, env: { LC_ALL: 'C' } });
    child.on('error', (e) => {
      loggers.delete(priority);
      giveUp(e.message);
    });
    child.on('exit', () => {
      if (loggers.get(priority) === child) loggers.delete(priority);
    });
    child.stdin!.on('error', () => undefined);
    loggers.set(priority, child);
    return child;
  };

  return {
    write(level, line) {
      // One line in, one syslog line out: logger(1) would make a second line of a raw newline (src/map/shown-text.ts).
      const visible = escapeControls(line);
      const text = `${visible.length > MAX_SYSLOG_LINE ? visible.slice(0, MAX_SYSLOG_LINE) : visible}\n`;
      if (failed !== null) {
        fallback.write(text);
        return;
      }
      const child = loggerFor(SYSLOG_PRIORITY[level] ?? 'info');
      if (child === null) {
        fallback.write(text);
        return;
      }
      if (child.stdin === null) return;
      if (child.stdin.writableLength > MAX_PENDING) return;
      child.stdin.write(text);
    },
    async close() {
      const ending = [...loggers.values()].map(
        (child) =>
          new Promise<void>((done) => {
            const timer = setTimeout(done, CLOSE_WAIT_MS);
            timer.unref();
            const stdin = child.stdin;
            if (stdin === null) return done();
            stdin.end(() => {
              clearTimeout(timer);
              done();
            });
          }),
      );
      loggers.clear();
      await Promise.all(ending);
    },
  };
}
