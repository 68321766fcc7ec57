// Minimal RFC 4180 CSV reader (csv-stringify writes our files; no csv-parse dependency).
// Quoted fields may contain commas, quotes ("") and newlines; CRLF or LF line ends.

/** Parse CSV text with a header line into records keyed by column name. Missing trailing
 *  fields become ''; a blank last line is ignored. */
export function parseCsv(text: string): Record<string, string>[] {
  const rows = parseRows(text);
  if (rows.length === 0) return [];
  const header = rows[0]!.map((h, i) => (i === 0 ? h.replace(/^\uFEFF/, '') : h));
  const out: Record<string, string>[] = [];
  for (let i = 1; i < rows.length; i++) {
    const r = rows[i]!;
    if (r.length === 1 && r[0] === '') continue;
    const rec: Record<string, string> = {};
    for (let j = 0; j < header.length; j++) rec[header[j]!] = r[j] ?? '';
    out.push(rec);
  }
  return out;
}

/** Parse CSV text into rows of fields. */
export function parseRows(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let i = 0;
  const n = text.length;
  while (i < n) {
    let field: string;
    if (text.charCodeAt(i) === 34 /* " */) {
      let buf = '';
      i++;
      for (;;) {
        const q = text.indexOf('"', i);
        if (q < 0) throw new Error('CSV: unterminated quoted field');
        buf += text.slice(i, q);
        if (text.charCodeAt(q + 1) === 34) {
          buf += '"';
          i = q + 2;
        } else {
          i = q + 1;
          break;
        }
      }
      field = buf;
    } else {
      let j = i;
      while (j < n) {
        const c = text.charCodeAt(j);
        if (c === 44 || c === 10 || c === 13) break;
        j++;
      }
      field = text.slice(i, j);
      i = j;
    }
    row.push(field);
    const c = text.charCodeAt(i);
    if (c === 44 /* , */) {
      i++;
      if (i === n) row.push('');
    } else if (c === 13 || c === 10 || i >= n) {
      if (c === 13 && text.charCodeAt(i + 1) === 10) i++;
      i++;
      rows.push(row);
      row = [];
    }
  }
  if (row.length) rows.push(row);
  return rows;
}
