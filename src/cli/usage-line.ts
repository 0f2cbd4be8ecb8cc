/**
 * A mistake on the command line answers with one line, as OpenBSD's
 * programs do (their usage() prints the synopsis of the manual and exits 1),
 * instead of commander's message followed by the whole help.
 */
import { Command, CommanderError, type ErrorOptions } from 'commander';
import { exitWhenWritten } from './exit.js';

/** commander's codes for a command line that does not fit the synopsis. */
const USAGE_ERRORS = new Set([
  'commander.unknownOption',
  'commander.unknownCommand',
  'commander.missingArgument',
  'commander.optionMissingArgument',
  'commander.missingMandatoryOptionValue',
  'commander.excessArguments',
  'commander.invalidArgument',
  'commander.conflictingOption',
]);

/**
 * A commander Command whose usage errors print `usage: <name> <synopsis>`
 * on stderr and exit 1. Subcommands are of the same class (commander's
 * createCommand hook), and their line names the parents: `usage: mapedctl
 * calc [options]`.
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
    const names: string[] = [];
    for (let c: Command | null = this; c !== null; c = c.parent) names.unshift(c.name());
    return `usage: ${names.join(' ')} ${this.usage()}`;
  }

  override error(message: string, options?: ErrorOptions): never {
    if (options?.code !== undefined && USAGE_ERRORS.has(options.code)) {
      process.stderr.write(`${this.usageLine()}\n`);
      throw new CommanderError(1, options.code, message);
    }
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
