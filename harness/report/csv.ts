// Reading our CSV outputs (written by csv-stringify) with csv-parse.
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
