/**
 * What the commander programs really accept, read from their own `--help`:
 * the options and the subcommands, recursively.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { REPO_ROOT } from './mdoc.js';

const run = promisify(execFile);

export interface Help {
  /** `-V`, `--version`, `-s` … */
  readonly options: Set<string>;
  /** Subcommand names, without commander's own `help`. */
  readonly commands: string[];
}

export function parseHelp(text: string): Help {
  const options = new Set<string>();
  const commands: string[] = [];
  let section = '';
  for (const line of text.split('\n')) {
    const heading = /^(\w+):$/.exec(line);
    if (heading) {
      section = heading[1]!;
      continue;
    }
    // An entry starts two spaces in; wrapped descriptions are indented further.
    if (!/^ {2}\S/.test(line)) continue;
    const entry = line.trim().split(/ {2,}/)[0]!;
    if (section === 'Options') {
      for (const part of entry.split(/,\s*/)) {
        const flag = /^(--?[A-Za-z][\w-]*)/.exec(part);
        if (flag) options.add(flag[1]!);
      }
    } else if (section === 'Commands') {
      const name = entry.split(' ')[0]!;
      if (name !== 'help') commands.push(name);
    }
  }
  return { options, commands };
}

export async function help(entry: string, args: readonly string[]): Promise<Help> {
  const { stdout } = await run(process.execPath, ['--import', 'tsx', entry, ...args, '--help'], { cwd: REPO_ROOT });
  return parseHelp(stdout);
}

const leafCache = new Map<string, Promise<Map<string, Set<string>>>>();

/** Every leaf command of a program ("status", "show rules", …) with its options. */
export function leafCommands(entry: string): Promise<Map<string, Set<string>>> {
  let leaves = leafCache.get(entry);
  if (leaves === undefined) {
    leaves = readLeafCommands(entry);
    leafCache.set(entry, leaves);
  }
  return leaves;
}

async function readLeafCommands(entry: string): Promise<Map<string, Set<string>>> {
  const leaves = new Map<string, Set<string>>();
  const visit = async (path: string[]): Promise<void> => {
    const h = await help(entry, path);
    if (h.commands.length === 0) {
      leaves.set(path.join(' '), h.options);
      return;
    }
    await Promise.all(h.commands.map((name) => visit([...path, name])));
  };
  const top = await help(entry, []);
  await Promise.all(top.commands.map((name) => visit([name])));
  return leaves;
}
