/**
 * Hex text to bytes, for `mapedctl decode --hex` and the lease file's
 * `s46 <code> "<hex>"` lines. Pure; errors say what is wrong with the text.
 */
import { err, ok, shown, type Result } from '../map/index.js';

/**
 * Accepts upper or lower case; `separators` allows spaces, colons and an
 * optional leading `0x` (hand-pasted captures), otherwise only hex digits.
 */
export function parseHex(text: string, separators = false): Result<Uint8Array> {
  let digits = text;
  if (separators) {
    digits = digits.trim().replace(/^0x/i, '').replace(/[\s:]/g, '');
  }
  if (digits.length === 0) return err('no hex digits');
  const bad = digits.search(/[^0-9a-fA-F]/);
  if (bad !== -1) return err(`not a hex digit: '${shown(digits[bad] ?? '')}' at position ${bad + 1}`);
  if (digits.length % 2 !== 0) return err(`odd number of hex digits (${digits.length}): truncated`);
  const bytes = new Uint8Array(digits.length / 2);
  for (let i = 0; i < bytes.length; i++) bytes[i] = parseInt(digits.slice(2 * i, 2 * i + 2), 16);
  return ok(bytes);
}
