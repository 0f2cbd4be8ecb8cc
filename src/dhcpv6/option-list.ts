/**
 * Splitting a run of DHCPv6 options (RFC 8415 §21.1: option-code(16),
 * option-len(16), option-data) without ever reading past the enclosing
 * option: every option must end at or before `end`.
 */
import { err, ok, type Result } from '../map/index.js';
import { MAX_OPTIONS_PER_LEVEL, optionName } from './option-codes.js';

export interface RawOption {
  readonly code: number;
  /** Offset of the option header in the input buffer, for error messages. */
  readonly at: number;
  /** Payload bounds in the input buffer, `end` exclusive. */
  readonly start: number;
  readonly end: number;
}

export function u16(bytes: Uint8Array, at: number): number {
  return ((bytes[at] ?? 0) << 8) | (bytes[at + 1] ?? 0);
}

/**
 * The options in `bytes[start, end)`; `within` names the enclosing option
 * (or "input") in error messages.
 */
export function splitOptions(bytes: Uint8Array, start: number, end: number, within: string): Result<RawOption[]> {
  const options: RawOption[] = [];
  let at = start;
  while (at < end) {
    if (options.length >= MAX_OPTIONS_PER_LEVEL) {
      return err(`${within}: more than ${MAX_OPTIONS_PER_LEVEL} options`);
    }
    if (end - at < 4) {
      return err(`${within}: ${end - at} stray byte${end - at === 1 ? '' : 's'} at byte ${at}, too short for an option header`);
    }
    const code = u16(bytes, at);
    const length = u16(bytes, at + 2);
    if (at + 4 + length > end) {
      return err(
        `${within}: ${optionName(code)} at byte ${at} has option-length ${length} but only ${end - at - 4} bytes follow`,
      );
    }
    options.push({ code, at, start: at + 4, end: at + 4 + length });
    at += 4 + length;
  }
  return ok(options);
}
