/**
 * Running ifconfig, route and pfctl: absolute paths, argv arrays, no shell,
 * a timeout and a cap on what they may print. Nothing untrusted can become a
 * shell word because no shell is involved (docs/architecture.md §5).
 */
import { isAbsolute } from 'node:path';
import { execa } from 'execa';
import { toolProcessOptions, type Command, type Tool } from '../openbsd/index.js';

export interface ToolPaths {
  readonly ifconfig: string;
  readonly route: string;
  readonly pfctl: string;
}

export interface RunOptions {
  readonly timeoutMs: number;
  /** Bytes of stdout or stderr after which the program is stopped. */
  readonly maxOutput?: number;
}

export interface RunResult {
  readonly ok: boolean;
  readonly stdout: string;
  readonly stderr: string;
  /** One line: why it failed (the program's first stderr line, or how it ended). */
  readonly reason: string | null;
}

export const DEFAULT_MAX_OUTPUT = 1024 * 1024;

export function checkToolPaths(tools: ToolPaths): string | null {
  for (const tool of ['ifconfig', 'route', 'pfctl'] as const) {
    if (!isAbsolute(tools[tool])) return `tool ${tool} "${tools[tool]}" is not an absolute path`;
  }
  return null;
}

export function commandArgv(tools: ToolPaths, command: Command): string[] {
  return [tools[command.tool as Tool], ...command.args];
}

const firstLine = (text: string): string | null => text.split('\n').map((l) => l.trim()).find((l) => l !== '') ?? null;

export async function runCommand(tools: ToolPaths, command: Command, options: RunOptions): Promise<RunResult> {
  const file = tools[command.tool];
  const result = await execa(file, [...command.args], {
    reject: false,
    shell: false,
    timeout: options.timeoutMs,
    maxBuffer: options.maxOutput ?? DEFAULT_MAX_OUTPUT,
    stripFinalNewline: false,
    ...toolProcessOptions(process.env.PATH),
    ...(command.stdin === undefined ? { stdin: 'ignore' as const } : { input: command.stdin }),
  });
  const stdout = typeof result.stdout === 'string' ? result.stdout : '';
  const stderr = typeof result.stderr === 'string' ? result.stderr : '';
  if (!result.failed) return { ok: true, stdout, stderr, reason: null };
  let reason: string;
  if (result.timedOut) reason = `timed out after ${options.timeoutMs} ms`;
  else if (result.isMaxBuffer) reason = `printed more than ${options.maxOutput ?? DEFAULT_MAX_OUTPUT} bytes`;
  else if (result.exitCode === undefined) reason = `cannot run ${file}: ${(result as { code?: string }).code ?? result.shortMessage}`;
  else reason = firstLine(stderr) ?? firstLine(stdout) ?? `exit status ${result.exitCode}`;
  return { ok: false, stdout, stderr, reason };
}
