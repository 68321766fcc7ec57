// Reading CSV with csv-parse: parseCsv for our own outputs (written by csv-stringify),
// parseCsvStrict for files handed in from outside.
import { parse } from 'csv-parse/sync';

/** Parse CSV text with a header line into records keyed by column name. Missing trailing
 *  fields become ''; blank lines are ignored. */
export function parseCsv(text: string): Record<string, string>[] {
  const rows = parse(text, { columns: true, bom: true, skip_empty_lines: true, relax_column_count: true }) as Record<string, string>[];
  if (!rows.length) return rows;
  const header = Object.keys(rows[0]!);
  for (const r of rows) for (const h of header) r[h] ??= '';
  return rows;
}

/** A CSV file that is not a clean table. `line` is 1-based: the line the offending record
 *  ends on (the line itself unless a quoted field spans lines); `reason` is short and
 *  quotes at most a header name (print it through safeText). */
export class CsvFormatError extends Error {
  constructor(
    readonly line: number,
    readonly reason: string,
  ) {
    super(`line ${line}: ${reason}`);
  }
}

/** parseCsv for files handed in from outside (compare's inputs): every row must have exactly
 *  as many fields as the header, header names must be non-empty and distinct, and the text
 *  must be CSV (no NUL bytes, quotes balanced). Rows are built with own properties only, so
 *  a column named "__proto__" is a column. Blank lines are skipped. Throws CsvFormatError. */
export function parseCsvStrict(text: string): { columns: string[]; rows: Record<string, string>[] } {
  const nul = text.indexOf('\0');
  if (nul >= 0) throw new CsvFormatError(text.slice(0, nul).split('\n').length, 'binary data (a NUL byte), not CSV text');
  let records: { record: string[]; info: { lines: number } }[];
  try {
    records = parse(text, { bom: true, skip_empty_lines: true, relax_column_count: true, info: true }) as unknown as typeof records;
  } catch (e) {
    // csv-parse's message quotes the offending field, which can be any amount of anything:
    // keep its first clause ("Invalid Opening Quote") and its code
    const err = e as Error & { code?: string; lines?: number };
    throw new CsvFormatError(err.lines ?? 0, `not valid CSV: ${err.message.split(':')[0]}${err.code ? ` (${err.code})` : ''}`);
  }
  if (!records.length) return { columns: [], rows: [] };
  const { record: columns, info: head } = records[0]!;
  const seen = new Set<string>();
  columns.forEach((c, i) => {
    if (c.trim() === '') throw new CsvFormatError(head.lines, `header field ${i + 1} is empty`);
    if (seen.has(c)) throw new CsvFormatError(head.lines, `header names column "${c}" twice`);
    seen.add(c);
  });
  const rows = records.slice(1).map(({ record, info }) => {
    if (record.length !== columns.length) throw new CsvFormatError(info.lines, `${record.length} field${record.length === 1 ? '' : 's'}, the header has ${columns.length}`);
    return Object.fromEntries(columns.map((c, i) => [c, record[i]!]));
  });
  return { columns, rows };
}
