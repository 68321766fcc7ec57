// Terminal safety for text that came from outside (CSV cells and headers, run.json values,
// file names, command-line arguments) before it is printed: a column named "\x1b]0;..." or
// a cell id with a newline must not drive the terminal or forge output lines.

/** C0 controls, DEL, C1 controls (0x9b is CSI on 8-bit terminals), and the invisible
 *  characters that reorder or break what follows them: bidi marks, embeddings, overrides
 *  and isolates ("Trojan Source"), line and paragraph separators. */
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069]/g;
/** The same set without C0, which JSON.stringify escapes inside strings itself (and whose
 *  newline is JSON's own line break between members). */
const UNSAFE_IN_JSON = /[\u007f-\u009f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069]/g;

const SHORT: Record<string, string> = { '\n': '\\n', '\r': '\\r', '\t': '\\t' };

/** `s` with every control or bidi character written out as an escape: \n, \r, \t, \xNN
 *  below U+0100 (ESC -> "\x1b"), \uNNNN above. Anything else is unchanged (ordinary text
 *  comes back identical); backslashes are not doubled, so the result is for reading, not
 *  for parsing back. */
export function safeText(s: string): string {
  return String(s).replace(UNSAFE, (c) => {
    const code = c.charCodeAt(0);
    return SHORT[c] ?? (code < 0x100 ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`);
  });
}

/** JSON.stringify(value, null, indent) that is also safe on a terminal: JSON already
 *  escapes C0 controls inside strings; this escapes the rest of the set above (DEL, C1,
 *  bidi, separators) as \uNNNN, which JSON.parse reads back to the same value. */
export function safeJson(value: unknown, indent = 2): string {
  return JSON.stringify(value, null, indent).replace(UNSAFE_IN_JSON, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}
