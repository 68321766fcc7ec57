// Files of `holbench compare`: reading a results folder (summary.csv strictly, run.json
// leniently) and writing compare.csv, compare.json and the chart.
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { checkOutDir } from '../outpath.ts';
import { CsvFormatError, parseCsvStrict } from '../report/csv.ts';
import type { RunInfo } from '../report/load.ts';
import { compareChartSpec, compareCsv } from './render.ts';
import { CompareInputError, type CompareResult, type RunData } from './types.ts';

/** summary.csv and run.json larger than this are not results of ours (a 1000-cell run with
 *  30 repetitions writes a few MB). */
const MAX_INPUT_BYTES = 256 * 1024 * 1024;

/** The text of a regular file, or why not: missing, not a regular file (a FIFO would block
 *  the read forever, a device never ends), too large, unreadable. */
function readRegularFile(path: string): { text: string } | { why: string } {
  let st;
  try {
    st = statSync(path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    return { why: code === 'ENOENT' ? 'missing' : `cannot be read (${code})` };
  }
  if (!st.isFile()) return { why: 'is not a regular file' };
  if (st.size > MAX_INPUT_BYTES) return { why: `is ${st.size} bytes, more than the ${MAX_INPUT_BYTES} a results file can be` };
  try {
    return { text: readFileSync(path, 'utf8') };
  } catch (e) {
    return { why: `cannot be read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})` };
  }
}

/** Read a results folder's summary.csv (required, strict: a table whose every row has the
 *  header's field count) and run.json (optional: unreadable means no provenance check).
 *  Throws CompareInputError naming the file, and the line for a malformed row. */
export function loadRun(dir: string): RunData {
  const abs = resolve(dir);
  if (!existsSync(abs) || !statSync(abs).isDirectory()) throw new CompareInputError(`no such results folder: ${dir}`);
  const summaryPath = join(abs, 'summary.csv');
  const summary = readRegularFile(summaryPath);
  if ('why' in summary) throw new CompareInputError(summary.why === 'missing' ? `no summary.csv in ${dir}` : `${summaryPath} ${summary.why}`);
  let table: { columns: string[]; rows: Record<string, string>[] };
  try {
    table = parseCsvStrict(summary.text);
  } catch (e) {
    if (e instanceof CsvFormatError) throw new CompareInputError(`${summaryPath}:${e.line}: ${e.reason}`);
    throw e;
  }
  const { columns, rows } = table;
  if (!rows.length) throw new CompareInputError(`${summaryPath} has no rows`);
  for (const c of ['cell', 'protocol', 'status']) if (!columns.includes(c)) throw new CompareInputError(`${summaryPath}: no "${c}" column`);
  let run: RunInfo | null = null;
  const runJson = readRegularFile(join(abs, 'run.json'));
  try {
    const parsed: unknown = 'text' in runJson ? JSON.parse(runJson.text) : null;
    if (parsed && typeof parsed === 'object') run = parsed as RunInfo;
  } catch {
    /* not JSON: provenance is not compared (a warning says so) */
  }
  return { dir: abs, name: basename(abs), run, rows, columns };
}

/** Write compare.csv, compare.json, compare.vl.json, compare.svg and (unless png is false)
 *  compare.png into outDir; returns the paths written. Throws OutPathError (before
 *  creating anything) when outDir cannot be an output folder (checkOutDir). */
export async function writeCompareOutputs(r: CompareResult, outDir: string, opts: { png?: boolean } = {}): Promise<string[]> {
  const dir = checkOutDir(outDir);
  mkdirSync(dir, { recursive: true });
  const files: string[] = [];
  const write = (name: string, data: string | Buffer) => {
    const p = join(dir, name);
    writeFileSync(p, data);
    files.push(p);
  };
  write('compare.csv', compareCsv(r));
  write('compare.json', JSON.stringify(r, null, 2) + '\n');
  const spec = compareChartSpec(r);
  // vega, vega-lite and resvg load only when a chart is drawn (bad input exits fast)
  const { compileVegaLite, svgToPng, vegaToSvg } = await import('../report/render.ts');
  write('compare.vl.json', JSON.stringify(spec, null, 1));
  const svg = await vegaToSvg(compileVegaLite(spec, 'compare').vega);
  write('compare.svg', svg);
  if (opts.png ?? true) write('compare.png', svgToPng(svg));
  return files;
}
