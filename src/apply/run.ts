/**
 * Running ifconfig, route and pfctl: absolute paths, argv arrays, no shell,
 * a timeout and a cap on what they may print. Nothing untrusted can become a
 * shell word because no shell is involved (docs/architecture.md §5).
 */
import { isAbsolute } from 'node:path';
import { toolEnvironment, type Command, type Tool } from '../openbsd/index.js';
import { runTool } from './tool-process.js';

export interface ToolPaths {
  readonly ifconfig: string;
  readonly route: string;
  readonly pfctl: string;
  /** Only the system checks after an apply read with it (src/openbsd/system-checks.ts). */
  readonly sysctl?: string;
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
  return [tools[command.tool as Tool] ?? command.tool, ...command.args];
}

const firstLine = (text: string): string | null => text.split('\n').map((l) => l.trim()).find((l) => l !== '') ?? null;

export async function runCommand(tools: ToolPaths, command: Command, options: RunOptions): Promise<RunResult> {
  const file = tools[command.tool];
  if (file === undefined) return { ok: false, stdout: '', stderr: '', reason: `no tool ${command.tool} configured` };
  const result = await runTool(file, command.args, {
    timeoutMs: options.timeoutMs,
    maxOutput: options.maxOutput ?? DEFAULT_MAX_OUTPUT,
    env: toolEnvironment(process.env.PATH),
    ...(command.stdin === undefined ? {} : { stdin: command.stdin }),
  });
  const { stdout, stderr } = result;
  if (result.ok) return { ok: true, stdout, stderr, reason: null };
  // A tool that exited with a status says why on stderr; one that was stopped or never ran, we say.
  const exitedOnItsOwn = result.exitCode !== null && !result.timedOut && result.spawnError === null && result.failure?.startsWith('exit status') === true;
  const reason = exitedOnItsOwn ? (firstLine(stderr) ?? firstLine(stdout) ?? result.failure!) : result.failure!;
  return { ok: false, stdout, stderr, reason };
}
