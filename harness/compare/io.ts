// Files of `holbench compare`: reading a results folder (summary.csv, run.json) and writing compare.csv, compare.json and the chart.
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { parseCsv } from '../report/csv.ts';
import type { RunInfo } from '../report/load.ts';
import { compareChartSpec, compareCsv } from './render.ts';
import { CompareInputError, type CompareResult, type RunData } from './types.ts';

/** Read a results folder's summary.csv (required) and run.json (optional). */
export function loadRun(dir: string): RunData {
  const abs = resolve(dir);
  if (!existsSync(abs) || !statSync(abs).isDirectory()) throw new CompareInputError(`no such results folder: ${dir}`);
  const summaryPath = join(abs, 'summary.csv');
  if (!existsSync(summaryPath)) throw new CompareInputError(`no summary.csv in ${dir}`);
  let rows: Record<string, string>[];
  try {
    rows = parseCsv(readFileSync(summaryPath, 'utf8'));
  } catch (e) {
    throw new CompareInputError(`${summaryPath}: not a readable CSV (${(e as Error).message})`);
  }
  if (!rows.length) throw new CompareInputError(`${summaryPath} has no rows`);
  const columns = Object.keys(rows[0]!);
  for (const c of ['cell', 'protocol', 'status']) if (!columns.includes(c)) throw new CompareInputError(`${summaryPath}: no "${c}" column`);
  let run: RunInfo | null = null;
  try {
    const parsed: unknown = JSON.parse(readFileSync(join(abs, 'run.json'), 'utf8'));
    if (parsed && typeof parsed === 'object') run = parsed as RunInfo;
  } catch {
    /* missing or unreadable: provenance is not compared (a warning says so) */
  }
  return { dir: abs, name: basename(abs), run, rows, columns };
}

/** Write compare.csv, compare.json, compare.vl.json, compare.svg and (unless png is false)
 *  compare.png into outDir; returns the paths written. */
export async function writeCompareOutputs(r: CompareResult, outDir: string, opts: { png?: boolean } = {}): Promise<string[]> {
  const dir = resolve(outDir);
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
