/**
 * The maped.conf(5) tokenizer, modelled on the yylex() shared by OpenBSD's
 * parse.y files (pfctl, dhcp6leased, bgpd):
 *
 * - `#` starts a comment to the end of the line; `\` before a newline joins
 *   the lines, also inside comments and quoted strings;
 * - `"…"` and `'…'` are strings; inside them `\"` (or `\'`) and `\\` stand for
 *   the character itself, and macros are not expanded;
 * - `$name` at the start of a token is replaced by the macro's text, which is
 *   read again as input (textual expansion, as pf.conf does, so a macro can
 *   hold a whole `{ … }` list or the start of a path); the replacement is not
 *   expanded again;
 * - `{`, `}`, `=` and `,` are tokens of their own; newlines are tokens too,
 *   because a statement ends at the end of its line.
 *
 * Unlike yylex, a newline inside a quoted string is an error ("unterminated
 * string" at the opening quote) instead of being silently dropped: that is
 * where an unbalanced quote is found, not at the end of the file.
 */
import { fail, type Position } from './position.js';

export type TokenKind = 'word' | 'string' | '{' | '}' | '=' | ',' | 'newline' | 'eof';

export interface Token {
  readonly kind: TokenKind;
  /** A word or the unquoted content of a string; the character itself for punctuation. */
  readonly text: string;
  readonly at: Position;
}

const PUNCTUATION = new Set(['{', '}', '=', ',']);
/** Characters that end a bare word: yylex's allowed_in_string, except that `/` stays inside words so prefixes and paths are one word. */
const WORD_END = new Set([' ', '\t', '\r', '\n', '{', '}', '=', ',', '#', '"', "'"]);
const MACRO_NAME_CHAR = /[A-Za-z0-9_]/;

export type MacroLookup = (name: string) => string | undefined;

/** Macro text being read in place of a `$name`, and where that `$name` stood. */
interface Expansion {
  readonly text: string;
  index: number;
  readonly at: Position;
}

/** Bytes macro expansion may still produce, shared by a file and its includes. */
export interface ExpansionBudget {
  left: number;
  readonly limit: number;
}

export class Lexer {
  private index = 0;
  private line = 1;
  private col = 1;
  /**
   * Macro text is put back into the input, as yylex's lungetc() does, so a
   * macro joins the characters around it into one word (`$dir/ifconfig`).
   * While it is read, `$` is an ordinary character: no recursive expansion.
   */
  private readonly expansions: Expansion[] = [];

  constructor(
    private readonly text: string,
    private readonly file: string,
    private readonly macros: MacroLookup,
    // Nested macros double at every level: a few hundred bytes of them would expand to gigabytes.
    private readonly budget: ExpansionBudget = { left: Infinity, limit: Infinity },
  ) {}

  /** The macro text being read, dropping finished ones; null when reading the file itself. */
  private expansion(): Expansion | null {
    for (;;) {
      const top = this.expansions[this.expansions.length - 1];
      if (top === undefined) return null;
      if (top.index < top.text.length) return top;
      this.expansions.pop();
    }
  }

  /** Characters read from a macro are placed at the `$name` they replace. */
  private position(): Position {
    return this.expansion()?.at ?? { file: this.file, line: this.line, col: this.col };
  }

  /** Drops `\` + newline pairs at the cursor: they join two lines into one. */
  private skipContinuations(): void {
    for (;;) {
      if (this.text[this.index] !== '\\') return;
      let next = this.index + 1;
      if (this.text[next] === '\r') next++;
      if (this.text[next] !== '\n') return;
      this.index = next + 1;
      this.line++;
      this.col = 1;
    }
  }

  private peekChar(): string | undefined {
    const expansion = this.expansion();
    if (expansion !== null) return expansion.text[expansion.index];
    this.skipContinuations();
    return this.text[this.index];
  }

  private readChar(): string | undefined {
    const expansion = this.expansion();
    if (expansion !== null) return expansion.text[expansion.index++];
    this.skipContinuations();
    const c = this.text[this.index];
    if (c === undefined) return undefined;
    this.index++;
    if (c === '\n') {
      this.line++;
      this.col = 1;
    } else {
      this.col++;
    }
    return c;
  }

  next(): Token {
    for (;;) {
      const c = this.peekChar();
      if (c === ' ' || c === '\t' || c === '\r') {
        this.readChar();
        continue;
      }
      if (c === '#') {
        while (this.peekChar() !== '\n' && this.peekChar() !== undefined) this.readChar();
        continue;
      }
      if (c === '$' && this.expansion() === null) {
        this.expand();
        continue;
      }
      break;
    }

    const at = this.position();
    const c = this.readChar();
    if (c === undefined) return { kind: 'eof', text: '', at };
    if (c === '\n') return { kind: 'newline', text: '\n', at };
    if (PUNCTUATION.has(c)) return { kind: c as TokenKind, text: c, at };
    if (c === '"' || c === "'") return this.quoted(c, at);

    let word = c;
    for (;;) {
      const d = this.peekChar();
      if (d === undefined || WORD_END.has(d)) break;
      word += this.readChar();
    }
    return { kind: 'word', text: word, at };
  }

  private quoted(quote: string, at: Position): Token {
    let value = '';
    for (;;) {
      const c = this.readChar();
      if (c === undefined || c === '\n') fail(at, 'unterminated string');
      if (c === quote) return { kind: 'string', text: value, at };
      if (c === '\\') {
        const next = this.peekChar();
        if (next === quote || next === '\\') {
          value += this.readChar();
          continue;
        }
      }
      value += c;
    }
  }

  /** Replaces `$name` at the cursor by the macro's text. */
  private expand(): void {
    const at = this.position();
    this.readChar();
    let name = '';
    for (;;) {
      const c = this.peekChar();
      if (c === undefined || !MACRO_NAME_CHAR.test(c)) break;
      name += this.readChar();
    }
    if (name === '') fail(at, 'macro name expected after "$"');
    const value = this.macros(name);
    if (value === undefined) fail(at, `undefined macro $${name}`);
    this.budget.left -= value.length;
    if (this.budget.left < 0) fail(at, `macros expand to more than ${this.budget.limit} bytes`);
    this.expansions.push({ text: value, index: 0, at: { ...at, macro: name } });
  }
}

/** How a token is named in an error message. */
export function describeToken(token: Token): string {
  switch (token.kind) {
    case 'word':
      return `"${token.text}"`;
    case 'string':
      return `quoted string "${token.text}"`;
    case 'newline':
      return 'end of line';
    case 'eof':
      return 'end of file';
    default:
      return `"${token.text}"`;
  }
}
