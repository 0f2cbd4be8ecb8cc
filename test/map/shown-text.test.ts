import { describe, expect, it } from 'vitest';
import { escapeControls, MAX_SHOWN, shown } from '../../src/map/index.js';

describe('shown: untrusted text quoted in a message', () => {
  it('keeps text up to MAX_SHOWN characters whole and cuts longer text with "…"', () => {
    expect(shown('x'.repeat(MAX_SHOWN))).toBe('x'.repeat(MAX_SHOWN));
    expect(shown('x'.repeat(MAX_SHOWN + 1))).toBe(`${'x'.repeat(MAX_SHOWN)}…`);
    expect(shown('abcdef', 3)).toBe('abc…');
  });

  it('does not cut a surrogate pair in two', () => {
    expect(shown(`ab\u{1f600}z`, 3)).toBe('ab…');
  });

  it('escapes C0, DEL and C1 as \\xNN, U+2028/2029 as \\uNNNN, and nothing else', () => {
    expect(escapeControls('a\nb\r\t\u0000\u001b\u007f\u0080\u009f\u2028\u2029é\u00a0€')).toBe('a\\x0ab\\x0d\\x09\\x00\\x1b\\x7f\\x80\\x9f\\u2028\\u2029é\u00a0€');
  });
});
