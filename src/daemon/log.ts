/**
 * Logging: pino underneath, one plain sentence per line on the way out,
 * because rc.d(8) hands maped's output to logger(1) and operators grep
 * syslog for sentences, not JSON (STYLE.md). `--log-json` keeps pino's JSON.
 */
import { pino, type Logger } from 'pino';

interface LineSink {
  write(text: string): unknown;
}

export function createLogger(options: { verbose: boolean; json?: boolean; out?: LineSink }): Logger {
  const out = options.out ?? process.stderr;
  const level = options.verbose ? 'debug' : 'info';
  if (options.json) return pino({ level, base: { pid: process.pid } }, { write: (s: string) => out.write(s) });
  return pino(
    { level, base: null, timestamp: false, formatters: { level: (label) => ({ level: label }) } },
    {
      write(line: string) {
        let record: { level?: string; msg?: string; err?: { message?: string } };
        try {
          record = JSON.parse(line) as typeof record;
        } catch {
          out.write(line);
          return;
        }
        const tag = record.level === 'info' || record.level === undefined ? '' : `${record.level}: `;
        out.write(`${tag}${record.msg ?? record.err?.message ?? ''}\n`);
      },
    },
  );
}
