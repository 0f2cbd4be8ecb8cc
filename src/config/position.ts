/** Where a token came from, and the one-line `file:line:col: reason` error. */

export interface Position {
  readonly file: string;
  /** 1-based. */
  readonly line: number;
  /** 1-based, in characters; a tab counts as one. */
  readonly col: number;
  /** Set when the token came out of a `$name` expansion; the position is then that of the `$`. */
  readonly macro?: string;
}

export function formatPosition(at: Position): string {
  return `${at.file}:${at.line}:${at.col}`;
}

export function locatedMessage(at: Position, reason: string): string {
  const origin = at.macro === undefined ? '' : ` (in macro $${at.macro})`;
  return `${formatPosition(at)}: ${reason}${origin}`;
}

/**
 * Thrown by the tokenizer and the parser to abandon the parse at the first
 * error; parseConfig catches it and returns it as a value, so it never
 * reaches a caller.
 */
export class ConfigSyntaxError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigSyntaxError';
  }
}

export function fail(at: Position, reason: string): never {
  throw new ConfigSyntaxError(locatedMessage(at, visible(reason)));
}

/** Control characters, a NUL or a byte-order mark from the file shown as escapes, never written raw into a message. */
export function visible(text: string): string {
  // eslint-disable-next-line no-control-regex
  return text.replace(/[\u0000-\u001f\u007f\ufeff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}
