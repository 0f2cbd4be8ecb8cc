/**
 * A mistake on the command line answers as OpenBSD's programs do: a line
 * saying what is wrong, then the synopsis of the manual (their usage()),
 * and exit status 1, instead of commander's message followed by the whole
 * help:
 *
 *   mapedctl calc: --psid-len: not a whole number: abc
 *   usage: mapedctl calc --rule ipv6-prefix,ipv4-prefix,ea-len[,psid-offset] ...
 */
import { Command, CommanderError, InvalidArgumentError, type ErrorOptions } from 'commander';
import { exitWhenWritten } from './exit.js';

/** commander's codes for a command line that does not fit the synopsis, and ours (usageError). */
const USAGE_ERRORS = new Set([
  'commander.unknownOption',
  'commander.unknownCommand',
  'commander.missingArgument',
  'commander.optionMissingArgument',
  'commander.missingMandatoryOptionValue',
  'commander.excessArguments',
  'commander.invalidArgument',
  'commander.conflictingOption',
  'maped.usage',
]);

/** `mapedctl calc`: the command's name after its parents'. */
function commandPath(command: Command): string {
  const names: string[] = [];
  for (let c: Command | null = command; c !== null; c = c.parent) names.unshift(c.name());
  return names.join(' ');
}

/** The first flag of an option's flags: `--psid-len` of `--psid-len <n>`, `-V` of `-V, --version`. */
const firstFlag = (flags: string): string => flags.split(/[ ,|]+/)[0] ?? flags;

/** ` (did you mean --json?)` from commander's suggestion line, or nothing. */
function suggestion(message: string): string {
  const did = /\(Did you mean (.+)\?\)\s*$/.exec(message);
  return did ? ` (did you mean ${did[1]}?)` : '';
}

/** What was wrong, in one line, from commander's message (which it words for its own output). */
function reason(command: Command, message: string, code: string): string {
  let m: RegExpExecArray | null;
  switch (code) {
    case 'commander.unknownOption':
      if ((m = /^error: unknown option '(.*?)'/.exec(message))) return `unknown option ${m[1]}${suggestion(message)}`;
      break;
    case 'commander.unknownCommand':
      return `unknown command ${command.args[0] ?? ''}${suggestion(message)}`;
    case 'commander.missingArgument':
      if ((m = /^error: missing required argument '(.*)'/.exec(message))) return `missing argument ${m[1]}`;
      break;
    case 'commander.optionMissingArgument':
      if ((m = /^error: option '(.*)' argument missing/.exec(message))) return `option ${firstFlag(m[1]!)} requires an argument`;
      break;
    case 'commander.missingMandatoryOptionValue':
      if ((m = /^error: required option '(.*)' not specified/.exec(message))) return `option ${firstFlag(m[1]!)} is required`;
      break;
    case 'commander.excessArguments':
      return `unexpected argument ${command.args.slice(command.registeredArguments.length).join(' ')}`;
    case 'commander.invalidArgument':
      // The parsers' reasons name the value: "not a whole number: abc".
      if ((m = /^error: option '([^']*)' argument '[\s\S]*' is invalid\. ([\s\S]*)$/.exec(message))) return `${firstFlag(m[1]!)}: ${m[2]}`;
      if ((m = /^error: command-argument value '[\s\S]*' is invalid for argument '([^']*)'\. ([\s\S]*)$/.exec(message))) return `${m[1]}: ${m[2]}`;
      break;
  }
  return message.replace(/^error: /, '').split('\n')[0]!;
}

/** The parser of `-s socket`: an empty path is a usage error, not a port number for net.connect or listen. */
export function socketArgument(value: string): string {
  if (value === '') throw new InvalidArgumentError('socket path is empty');
  return value;
}

/** `usage: mapedctl calc <synopsis>`; a command that takes nothing shows its name alone. */
export function usageLine(command: Command): string {
  const bare = command.options.length === 0 && command.commands.length === 0 && command.registeredArguments.length === 0;
  return `usage: ${commandPath(command)}${bare ? '' : ` ${command.usage()}`}`;
}

/** The reason and the usage line on stderr; exits 1 (through parseCommandLine). */
function writeUsageError(command: Command, why: string, code: string, message: string): never {
  process.stderr.write(`${commandPath(command)}: ${why}\n${usageLine(command)}\n`);
  throw new CommanderError(1, code, message);
}

/** A command line the parser took but the command refuses (`--psid` without `--psid-len`): a usage error all the same. */
export function usageError(command: Command, why: string): never {
  return writeUsageError(command, why, 'maped.usage', why);
}

/**
 * A commander Command whose usage errors print what was wrong and
 * `usage: <name> <synopsis>` on stderr and exit 1. Subcommands are of the
 * same class (commander's createCommand hook), and their lines name the
 * parents: `mapedctl calc: ...`, `usage: mapedctl calc ...`.
 */
export class UsageLineCommand extends Command {
  constructor(name?: string) {
    super(name);
    // Commander's exits (help, version, errors) throw instead, so that
    // parseCommandLine exits once the output is written.
    this.exitOverride();
  }

  override createCommand(name?: string): UsageLineCommand {
    return new UsageLineCommand(name);
  }

  usageLine(): string {
    return usageLine(this);
  }

  override error(message: string, options?: ErrorOptions): never {
    const code = options?.code;
    if (code !== undefined && USAGE_ERRORS.has(code)) writeUsageError(this, reason(this, message, code), code, message);
    return super.error(message, options);
  }
}

/**
 * Parses the command line and runs the action; a usage error, --help or
 * --version exits with its status once its output is written.
 */
export async function parseCommandLine(program: Command, argv: readonly string[]): Promise<void> {
  try {
    await program.parseAsync(argv);
  } catch (e) {
    if (e instanceof CommanderError) await exitWhenWritten(e.exitCode);
    throw e;
  }
}
