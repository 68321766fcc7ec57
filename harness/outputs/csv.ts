// CSV outputs with a small lifecycle (open -> add rows, flushed per call -> close). Rows
// reach the disk as each job finishes, so an interrupted run keeps everything it finished.
import { appendFileSync, existsSync, writeFileSync } from 'node:fs';
import { stringify } from 'csv-stringify/sync';

export class CsvSink<T extends object> {
  rows = 0;
  constructor(
    readonly path: string,
    private readonly columns: (keyof T & string)[],
    /** keep an existing file (several writers over a run add to one output); the header is
     *  written only when the file is new */
    opts: { append?: boolean } = {},
  ) {
    if (!opts.append || !existsSync(path)) writeFileSync(path, stringify([], { header: true, columns }));
  }
  add(rows: readonly T[]): void {
    if (!rows.length) return;
    appendFileSync(this.path, stringify(rows as any[], { columns: this.columns, cast: { number: (v) => (Number.isFinite(v) ? String(v) : '') } }));
    this.rows += rows.length;
  }
}
