/**
 * Logging: pino underneath, one plain sentence per line on the way out,
 * because operators grep syslog for sentences, not JSON. `--log-json` keeps
 * pino's JSON. With -d the lines go to stderr; without it to syslogd(8),
 * each at the priority of its level (src/daemon/syslog-sink.ts).
 *
 * Messages quote what leases, servers and tools said, so every line is made
 * one line of visible text here, whoever wrote the message: a newline in it
 * would have logger(1) start a second syslog line that looks like maped's
 * own, and ESC or a C1 control would drive the terminal of whoever reads the
 * log (src/map/shown-text.ts).
 */
import { pino, type Logger } from 'pino';
import { escapeControls, escapeJsonControls } from '../map/index.js';
import type { SyslogSink } from './syslog-sink.js';

interface LineSink {
  write(text: string): unknown;
}

export function createLogger(options: { verbose: boolean; json?: boolean; out?: LineSink; syslog?: SyslogSink }): Logger {
  const out = options.out ?? process.stderr;
  const { syslog } = options;
  const level = options.verbose ? 'debug' : 'info';
  /** One finished line (no newline) at a level label. */
  const emit = (label: string, text: string): void => {
    if (syslog === undefined) out.write(`${text}\n`);
    else syslog.write(label, text);
  };
  if (options.json) {
    return pino(
      { level, base: { pid: process.pid } },
      {
        write(line: string) {
          let number: unknown;
          try {
            number = (JSON.parse(line) as { level?: unknown }).level;
          } catch {
            number = undefined;
          }
          // pino's JSON escapes C0 already; what it leaves becomes \uNNNN, so the line stays JSON.
          emit(typeof number === 'number' ? (pino.levels.labels[number] ?? 'info') : 'info', escapeJsonControls(line.replace(/\n$/, '')));
        },
      },
    );
  }
  return pino(
    { level, base: null, timestamp: false, formatters: { level: (label) => ({ level: label }) } },
    {
      write(line: string) {
        let record: { level?: string; msg?: string; err?: { message?: string } };
        try {
          record = JSON.parse(line) as typeof record;
        } catch {
          emit('info', escapeControls(line.replace(/\n$/, '')));
          return;
        }
        const label = record.level ?? 'info';
        const tag = label === 'info' ? '' : `${label}: `;
        emit(label, escapeControls(`${tag}${record.msg ?? record.err?.message ?? ''}`));
      },
    },
  );
}
