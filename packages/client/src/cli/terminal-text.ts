/**
 * Text a server or a sender chose, made safe to print on a terminal. Escape
 * sequences (ESC, or the one-character C1 CSI U+009B) can clear the screen,
 * retitle the window or forge links; bidi controls make `exe.pdf` of
 * `invoice\u202Efdp.exe`. Each such character is replaced by a visible U+FFFD
 * rather than dropped, so the reader sees that something was there.
 *
 * Unsafe: C0 controls, DEL, C1 controls (U+0080–U+009F) and the bidi controls
 * U+061C, U+200E, U+200F, U+202A–U+202E, U+2066–U+2069. A message body keeps
 * newlines and tabs (CRLF becomes LF; a lone CR, which could overwrite a line,
 * does not survive); every other field is one line, so newlines go too.
 *
 * @example
 * terminalLine('bob\u001b[2J') // 'bob\uFFFD[2J'
 */

const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;
const UNSAFE_EXCEPT_LF_TAB = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;
const ESCAPE_IN_JSON = /[\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;
const REPLACEMENT = '\uFFFD';

/** Every unsafe character replaced by `replacement`. */
export function replaceUnsafe(text: string, replacement: string): string {
  return text.replace(UNSAFE, replacement);
}

/** One line of display text (a name, a MIME type, a detail); anything not a string shows as ''. */
export function terminalLine(value: unknown): string {
  return typeof value === 'string' || typeof value === 'number' ? replaceUnsafe(String(value), REPLACEMENT) : '';
}

/** Several lines (a message body): newlines and tabs kept. */
export function terminalText(value: string): string {
  return value.replace(/\r\n/g, '\n').replace(UNSAFE_EXCEPT_LF_TAB, REPLACEMENT);
}

/**
 * JSON with the exact values, printable as it is: JSON.stringify escapes C0
 * controls but leaves DEL, C1 and bidi controls raw, so they are written as
 * \u escapes too (they only ever occur inside strings, so JSON.parse gives
 * back the same values). With `indent` 0 it is one line (JSON Lines).
 */
export function terminalJson(data: unknown, indent = 2): string {
  return (JSON.stringify(data, null, indent) ?? 'null').replace(ESCAPE_IN_JSON, (char) => `\\u${char.charCodeAt(0).toString(16).padStart(4, '0')}`);
}
