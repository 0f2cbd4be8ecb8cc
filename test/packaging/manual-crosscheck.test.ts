/**
 * "The manual is the specification" (STYLE.md): every flag, command,
 * configuration keyword and status field the code has is in its manual
 * page, and the pages describe nothing the code does not have.
 */
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { CONFIG_KEYWORDS } from '../../src/config/index.js';
import { COMMANDS, StatusSchema } from '../../src/control/protocol.js';
import { help, leafCommands } from './cli-help.js';
import { flagsIn, itemCommand, itemHeads, macroArguments, pageLines, readRepoFile, type Line } from './mdoc.js';

const MAPED = 'src/cli/maped.ts';
const MAPEDCTL = 'src/cli/mapedctl.ts';
const HELP = new Set(['-h', '--help']);

function sorted(values: Iterable<string>): string[] {
  return [...values].sort();
}

/** The `.It Fl …` items of the DESCRIPTION: the options the page documents. */
function documentedOptions(lines: readonly Line[]): Set<string> {
  const items = itemHeads(lines).filter((line) => line.section === 'DESCRIPTION' && /^\.It Fl /.test(line.text));
  return flagsIn(items);
}

describe('maped(8) and the maped program', () => {
  const lines = pageLines(readRepoFile('man/maped.8'));

  it('documents every option maped accepts, and no other', async () => {
    const accepted = (await help(MAPED, [])).options;
    expect(accepted.size).toBeGreaterThan(5);
    expect(sorted(documentedOptions(lines))).toEqual(sorted(accepted));
  });

  it('shows every option in the SYNOPSIS', async () => {
    const accepted = (await help(MAPED, [])).options;
    const synopsis = flagsIn(lines.filter((line) => line.section === 'SYNOPSIS'));
    const longFormsOfShort = new Set(['--help', '--version']);
    expect(sorted([...accepted].filter((flag) => !longFormsOfShort.has(flag) && !synopsis.has(flag)))).toEqual([]);
    expect(sorted([...synopsis].filter((flag) => !accepted.has(flag)))).toEqual([]);
  });
});

describe('mapedctl(8) and the mapedctl program', () => {
  const lines = pageLines(readRepoFile('man/mapedctl.8'));
  const commandItems = itemHeads(lines)
    .filter((line) => line.section === 'DESCRIPTION')
    .map((line) => ({ line, command: itemCommand(line.text) }))
    .filter((item): item is { line: Line; command: string } => item.command !== null);

  /** The program's leaf command a page item belongs to: the longest one its words start with. */
  function leafOf(command: string, leaves: Iterable<string>): string | null {
    let best: string | null = null;
    for (const leaf of leaves) {
      if ((command === leaf || command.startsWith(`${leaf} `)) && (best === null || leaf.length > best.length)) best = leaf;
    }
    return best;
  }

  it('documents the global options mapedctl accepts, and no other', async () => {
    const accepted = (await help(MAPEDCTL, [])).options;
    expect(sorted(documentedOptions(lines))).toEqual(sorted(accepted));
  });

  it('documents every command, and every item names a real one', async () => {
    const leaves = await leafCommands(MAPEDCTL);
    expect(sorted(leaves.keys())).toEqual([
      'calc', 'decode', 'log', 'metrics', 'provision', 'reload', 'show ports', 'show provisioning', 'show rules', 'show usage', 'status',
    ]);
    const documented = new Set(commandItems.flatMap((item) => leafOf(item.command, leaves.keys()) ?? []));
    // commander's own `help [command]`, which mapedctl --help lists too, is documented as well.
    expect(commandItems.filter((item) => item.command === 'help')).toHaveLength(1);
    expect(commandItems.filter((item) => item.command !== 'help' && leafOf(item.command, leaves.keys()) === null).map((item) => item.command)).toEqual([]);
    expect(sorted(documented)).toEqual(sorted(leaves.keys()));
  }, 180_000); // one `--help` run per command, each a tsx start: slow on a loaded machine

  it('documents every control-socket command as an item of its own', () => {
    const named = new Set(commandItems.map((item) => item.command));
    expect(COMMANDS.filter((command) => !named.has(command))).toEqual([]);
  });

  it("lists each command's options in its item heads, and no other", async () => {
    const leaves = await leafCommands(MAPEDCTL);
    for (const [leaf, options] of leaves) {
      const heads = commandItems.filter((item) => leafOf(item.command, leaves.keys()) === leaf).map((item) => item.line);
      const accepted = [...options].filter((flag) => !HELP.has(flag));
      expect({ command: leaf, flags: sorted(flagsIn(heads)) }).toEqual({ command: leaf, flags: sorted(accepted) });
    }
  });

  it('describes every field of status --json, and no other', () => {
    const fields: string[] = [];
    const unwrap = (schema: z.ZodType): z.ZodType => (schema instanceof z.ZodNullable ? unwrap(schema.unwrap() as z.ZodType) : schema);
    for (const [key, value] of Object.entries(StatusSchema.shape)) {
      fields.push(key);
      const inner = unwrap(value as z.ZodType);
      if (inner instanceof z.ZodObject) for (const child of Object.keys(inner.shape)) fields.push(`${key}.${child}`);
    }
    const described = itemHeads(lines)
      .filter((line) => line.subsection === 'STATUS FIELDS')
      .flatMap((line) => macroArguments(line.text, 'Li').flat());
    expect(fields.length).toBeGreaterThan(30);
    expect(sorted(new Set(described))).toEqual(sorted(fields));
  });

  it('gives lease.source exactly the values status can hold', () => {
    const page = readRepoFile('man/mapedctl.8');
    const item = /^\.It Li lease\.source\n([\s\S]*?)^\.It /m.exec(page)?.[1] ?? '';
    const named = [...item.matchAll(/^\.Cm (\S+)/gm)].map((m) => m[1]!);
    const lease = StatusSchema.shape.lease.unwrap();
    expect(sorted(named)).toEqual(sorted(lease.shape.source.options));
  });

  it('names every daemon state', () => {
    const states = StatusSchema.shape.state.options;
    const described = itemHeads(lines)
      .filter((line) => line.subsection === 'STATUS FIELDS')
      .flatMap((line) => macroArguments(line.text, 'Cm').flat());
    expect(states.filter((state) => !described.includes(state))).toEqual([]);
  });
});

describe('maped.conf(5) and the parser', () => {
  const lines = pageLines(readRepoFile('man/maped.conf.5'));
  const keywords = new Set(lines.flatMap((line) => macroArguments(line.text, 'Ic').flat()));

  it('documents every keyword the parser knows', () => {
    expect(CONFIG_KEYWORDS.length).toBeGreaterThan(20);
    expect(CONFIG_KEYWORDS.filter((keyword) => !keywords.has(keyword))).toEqual([]);
  });

  it('marks as keywords only words the parser knows', () => {
    expect(sorted([...keywords].filter((word) => !CONFIG_KEYWORDS.includes(word)))).toEqual([]);
  });

  it('gives every keyword of the grammar an item of its own or a place in one', () => {
    const heads = itemHeads(lines).flatMap((line) => macroArguments(line.text, 'Ic').flat());
    expect(CONFIG_KEYWORDS.filter((keyword) => !heads.includes(keyword))).toEqual([]);
  });
});
