/**
 * Text from outside (a lease line, a server's reply, an argument) as it may
 * be quoted in a message: cut to a length a line can hold, and with every
 * character that would act on a terminal or split a log line made visible.
 *
 * Escaped: C0 controls and DEL (a newline would make logger(1) start a
 * second, forged syslog line; ESC and BEL drive a terminal), the C1 controls
 * U+0080–U+009F (CSI, OSC and others, which some terminals obey as ESC
 * sequences), and U+2028/U+2029, line and paragraph separators to some
 * readers. They become \xNN or \uNNNN; nothing else is changed.
 */

/** How much of a quoted text a message keeps; the rest is "…". */
export const MAX_SHOWN = 64;

// eslint-disable-next-line no-control-regex
const CONTROLS = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g;

/** `text` with its control characters escaped, nothing cut. */
export function escapeControls(text: string): string {
  return text.replace(CONTROLS, (c) => {
    const code = c.charCodeAt(0);
    return code < 0x100 ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`;
  });
}

/**
 * `text` for quoting: at most `max` characters of it, then "…" when there
 * was more, control characters escaped. A surrogate pair is not cut in two.
 */
export function shown(text: string, max: number = MAX_SHOWN): string {
  if (text.length <= max) return escapeControls(text);
  const end = /[\ud800-\udbff]/.test(text.charAt(max - 1)) ? max - 1 : max;
  return `${escapeControls(text.slice(0, end))}…`;
}

// eslint-disable-next-line no-control-regex
const JSON_LEFT = /[\u007f-\u009f\u2028\u2029]/g;

/**
 * JSON text (JSON.stringify's) with the controls it leaves raw, DEL, C1 and
 * U+2028/2029, written as \uNNNN: still the same JSON (they occur only
 * inside strings), now safe on a terminal and in syslog.
 */
export function escapeJsonControls(json: string): string {
  return json.replace(JSON_LEFT, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}
