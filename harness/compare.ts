// `holbench compare <runA> <runB>`: did B get better or worse than A, beyond the noise?
// Rows of summary.csv are matched by (cell id, protocol label); only SUCCEEDED rows count.
// For each group: mean and 95% t-interval of the metric in A and in B, the relative change
// of the mean (B - A) / |A| with a 95% percentile-bootstrap interval (fixed seed, so the
// same inputs always give the same output), and a verdict against a threshold. The
// interval is two-sample (unpaired) by default, and paired over repetitions when both runs
// ran each repetition of the group under the same impairment seed with an exact backend.
// The library (compare/: types, stats, provenance, io, render) never prints or exits; this
// file is the CLI front end (exit 0 nothing regressed, 1 something regressed, 2 bad input).
import { parseArgs } from 'node:util';
import { basename, join, resolve } from 'node:path';
import { loadRun, writeCompareOutputs } from './compare/io.ts';
import { changeText, formatTable, pairingText } from './compare/render.ts';
import { compareRuns } from './compare/stats.ts';
import { CompareInputError, type CompareResult } from './compare/types.ts';
import { checkOutDir, OutPathError } from './outpath.ts';
import { safeJson, safeText } from './safetext.ts';

const USAGE = `usage: holbench compare <runA> <runB> [--metric M] [--threshold P%] [--out DIR] [--json]

Compares two results folders (results/<name>-<stamp>/) per cell x protocol on one
summary.csv column, successful repetitions only. B is the candidate, A the baseline.
The change's interval is paired over repetitions when both runs ran repetition r of a
group under the same impairment seed (summary.csv seed; run.json pairing.exact in both),
else unpaired; the table's "pairs" column says which.

  --metric M       summary.csv column (default page_ms); any numeric column of both runs
  --threshold P    how far (in %) the 95% interval of the change must lie beyond 0 to
                   count as regressed / improved (default 5%)
  --out DIR        where compare.csv, compare.svg and compare.png go
                   (default reports/compare-<A>-vs-<B>/)
  --json           print the comparison as JSON on stdout instead of the table

exit: 0 nothing regressed, 1 a group regressed (or failed in every repetition of B),
      2 bad input
`;

/** "5%", "5" or "2.5 %" -> 5 / 5 / 2.5; throws on anything else. */
export function parseThreshold(s: string): number {
  const m = /^\s*(\d+(?:\.\d+)?|\.\d+)\s*%?\s*$/.exec(s);
  const v = m ? Number(m[1]) : NaN;
  if (!(Number.isFinite(v) && v >= 0 && v < 1000)) throw new CompareInputError(`--threshold: expected a percentage from 0 to 1000 such as 5%, got "${s}"`);
  return v;
}

/** The CLI. Order: arguments, then the output folder (checked, not created), then the
 *  runs; nothing is read or written before the first two pass. Everything printed that
 *  came from the inputs (folder names, cell ids, protocol labels, column names, run.json
 *  values) goes through safeText / safeJson. */
export async function compareCommand(argv: string[]): Promise<number> {
  const say = (stream: NodeJS.WriteStream, line: string) => stream.write(`${safeText(line)}\n`);
  const bad = (m: string) => (say(process.stderr, `holbench compare: ${m}`), process.stderr.write(`\n${USAGE}`), 2);
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: { metric: { type: 'string' }, threshold: { type: 'string' }, out: { type: 'string' }, json: { type: 'boolean' }, 'no-png': { type: 'boolean' }, help: { type: 'boolean', short: 'h' } },
    });
  } catch (e) {
    return bad((e as Error).message);
  }
  const { values, positionals } = parsed;
  if (values.help) return process.stdout.write(USAGE), 0;
  if (positionals.length !== 2) return bad('expected two results folders, A (baseline) and B (candidate)');
  let result: CompareResult;
  let outDir: string;
  try {
    const thresholdPct = values.threshold === undefined ? 5 : parseThreshold(values.threshold);
    const name = (dir: string) => basename(resolve(dir));
    outDir = checkOutDir(values.out ?? join('reports', `compare-${name(positionals[0]!)}-vs-${name(positionals[1]!)}`), values.out === undefined ? 'output folder' : '--out');
    const a = loadRun(positionals[0]!);
    const b = loadRun(positionals[1]!);
    result = compareRuns(a, b, { metric: values.metric, thresholdPct });
  } catch (e) {
    if (e instanceof CompareInputError || e instanceof OutPathError) {
      say(process.stderr, `holbench compare: ${e.message}`);
      return 2;
    }
    throw e;
  }
  for (const w of result.warnings) say(process.stderr, `warning: ${w}`);
  const files = await writeCompareOutputs(result, outDir, { png: !values['no-png'] });
  if (values.json) process.stdout.write(safeJson({ ...result, files }) + '\n');
  else {
    process.stdout.write(formatTable(result));
    process.stdout.write('\n');
    say(process.stdout, `wrote ${files.map((f) => basename(f)).join(', ')} in ${outDir}`);
  }
  if (result.regressed.length) {
    say(process.stderr, `${result.regressed.length} group(s) regressed on ${result.metric}:`);
    for (const g of result.regressed) say(process.stderr, `  ${g.cell} ${g.protocol}: ${g.verdict === 'failed-in-B' ? `no successful repetition in B (${g.b.failed} failed)` : `${changeText(g)} ${pairingText(g)}`}`);
    return 1;
  }
  return 0;
}
