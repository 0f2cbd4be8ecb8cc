/**
 * Just enough mdoc(7) reading for the packaging tests: which flags (`Fl`),
 * keywords and commands (`Ic`) and literal names (`Li`) a manual page
 * documents, and in which `.It` heads.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = resolve(fileURLToPath(new URL('.', import.meta.url)), '..', '..');

export function readRepoFile(path: string): string {
  return readFileSync(resolve(REPO_ROOT, path), 'utf8');
}

/** A callable or parsed mdoc macro name: `Fl`, `Ar`, `Op`, `Xo`, `%A` … */
const MACRO = /^(%[A-Z]|[A-Z][a-z]{1,2}|[A-Z][a-z][A-Z])$/;
/** Delimiters mdoc passes through without ending a macro's arguments. */
const DELIMITER = /^[|,.;:()[\]{}?!]$/;

/** One request line's words, with mdoc's double-quote grouping. */
export function words(line: string): string[] {
  const out: string[] = [];
  const re = /"((?:[^"]|"")*)"|(\S+)/g;
  for (let m = re.exec(line); m !== null; m = re.exec(line)) out.push(m[1] !== undefined ? m[1].replace(/""/g, '"') : m[2]!);
  return out;
}

/** The arguments of every `macro` on a request line, up to the next macro. */
export function macroArguments(line: string, macro: string): string[][] {
  if (!line.startsWith('.')) return [];
  const tokens = words(line.slice(1));
  const groups: string[][] = [];
  for (let i = 0; i < tokens.length; i++) {
    if (tokens[i] !== macro) continue;
    const args: string[] = [];
    for (let j = i + 1; j < tokens.length && !MACRO.test(tokens[j]!); j++) {
      if (!DELIMITER.test(tokens[j]!)) args.push(tokens[j]!);
    }
    groups.push(args);
  }
  return groups;
}

/**
 * A page as request lines, with `.It Xo` … `.Xc` heads joined into one
 * `.It` line, and the section (`.Sh`) and subsection (`.Ss`) of each line.
 */
export interface Line {
  readonly text: string;
  readonly section: string;
  readonly subsection: string | null;
}

export function pageLines(source: string): Line[] {
  const out: Line[] = [];
  let section = '';
  let subsection: string | null = null;
  let pending: string | null = null;
  for (const raw of source.split('\n')) {
    if (raw.startsWith('.\\"')) continue;
    if (pending !== null) {
      if (raw.startsWith('.Xc')) {
        out.push({ text: pending, section, subsection });
        pending = null;
      } else {
        pending += ' ' + (raw.startsWith('.') ? raw.slice(1) : raw);
      }
      continue;
    }
    if (raw.startsWith('.Sh ')) {
      section = raw.slice(4).trim();
      subsection = null;
    } else if (raw.startsWith('.Ss ')) {
      subsection = raw.slice(4).trim();
    }
    if (/^\.It Xo\s*$/.test(raw)) {
      pending = '.It';
      continue;
    }
    out.push({ text: raw, section, subsection });
  }
  return out;
}

/** `-d`, `--dry-run`: how an `Fl` argument reads on the command line. */
export function flagOf(argument: string): string {
  return `-${argument}`;
}

/** Every flag in the `Fl` macros of some lines; `Fl dnv` (a SYNOPSIS cluster) counts as -d -n -v. */
export function flagsIn(lines: readonly Line[]): Set<string> {
  const flags = new Set<string>();
  for (const line of lines) {
    for (const args of macroArguments(line.text, 'Fl')) {
      for (const arg of args) {
        if (/^[A-Za-z]{2,}$/.test(arg)) for (const letter of arg) flags.add(`-${letter}`);
        else flags.add(flagOf(arg));
      }
    }
  }
  return flags;
}

/** `.It` heads: the item lines of every list. */
export function itemHeads(lines: readonly Line[]): Line[] {
  return lines.filter((line) => line.text.startsWith('.It ') || line.text === '.It');
}

/**
 * The command an `.It Ic …` head names: the `Ic` words before the first
 * other macro (`.It Ic show rules Op Fl -json` → "show rules").
 */
export function itemCommand(head: string): string | null {
  const tokens = words(head.slice(1));
  if (tokens[0] !== 'It' || tokens[1] !== 'Ic') return null;
  const command: string[] = [];
  for (let i = 2; i < tokens.length && !MACRO.test(tokens[i]!); i++) command.push(tokens[i]!);
  return command.join(' ');
}
