// Terminal-safe text: every piece of user text holbench prints (keys, values, descriptions,
// file names, paths, arguments) goes through safeText, so a scenario cannot retitle or
// clear the terminal (ESC sequences), forge extra output lines (CR, LF) or reorder what
// is shown (bidi overrides).

// C0 controls, DEL, C1 controls, and the Unicode bidi embedding/override/isolate marks
// and line/paragraph separators.
// eslint-disable-next-line no-control-regex
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;

const NAMED: Record<string, string> = { '\n': '\\n', '\r': '\\r', '\t': '\\t' };

/** The text with every control character written as an escape (\n, \t, \x1b, \u202e).
 *  Printable text, including non-ASCII letters, is unchanged. */
export function safeText(s: string): string {
  return String(s).replace(UNSAFE, (c) => NAMED[c] ?? (c.charCodeAt(0) <= 0xff ? `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}` : `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`));
}
