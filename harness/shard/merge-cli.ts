// `holbench merge DIR... --out DIR`: the CLI front end of merge.ts. Exit codes: 0 merged,
// 1 units are missing (nothing written unless --allow-partial) or the report failed,
// 2 bad input (folders of different runs, duplicated units, a bad --out).
import { parseArgs } from 'node:util';
import { readdirSync } from 'node:fs';
import { basename, join } from 'node:path';
import { checkOutDir } from '../outpath.ts';
import { safeText } from '../safetext.ts';
import { MergeInputError, planMerge, writeMerged } from './merge.ts';
import { defaultReportDir } from '../report/index.ts';

const USAGE = `usage: holbench merge <shard-dir>... | --from DIR  --out DIR [--allow-partial] [--report-dir D | --no-report] [--json]

Merges the results folders of one sharded run (holbench run --shard i/n) into the results
folder DIR (which must not exist yet), then builds its report. The shards must come from
the same scenario content, holbench version, seed and shard count, and cover every
(cell, repetition) unit exactly once.

  --from DIR        merge every folder directly inside DIR (what the Slurm and Kubernetes jobs use)
  --out DIR         the merged results folder (written to a temporary folder, then renamed)
  --allow-partial   write the merge even when units are missing (listed in run.json)
  --report-dir D    write the report to D/<name>/ (default: reports/ next to results/)
  --no-report       results only
  --json            print {outDir, reportDir, rows, missing, warnings} on stdout

exit: 0 merged, 1 units missing (or the report failed), 2 bad input
`;

export async function mergeCommand(argv: string[]): Promise<number> {
  const err = (line: string) => process.stderr.write(`${safeText(line)}\n`);
  let values, positionals;
  try {
    ({ values, positionals } = parseArgs({
      args: argv, allowPositionals: true, strict: true,
      options: { from: { type: 'string' }, out: { type: 'string' }, 'allow-partial': { type: 'boolean' }, 'report-dir': { type: 'string' }, 'no-report': { type: 'boolean' }, json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } },
    }));
  } catch (e) {
    err(`holbench merge: ${(e as Error).message}`);
    process.stderr.write(`\n${USAGE}`);
    return 2;
  }
  if (values.help) return (process.stdout.write(USAGE), 0);
  const usage = (m: string) => (err(`holbench merge: ${m}`), process.stderr.write(`\n${USAGE}`), 2);
  if (values.from !== undefined && positionals.length) return usage('give shard folders or --from DIR, not both');
  if (values.from !== undefined) {
    let entries;
    try {
      entries = readdirSync(values.from, { withFileTypes: true });
    } catch (e) {
      return (err(`holbench merge: --from ${values.from}: cannot read the folder (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`), 2);
    }
    positionals = entries.filter((e) => e.isDirectory() && !e.name.startsWith('.')).map((e) => join(values.from!, e.name)).sort();
    if (!positionals.length) return (err(`holbench merge: --from ${values.from}: no shard folders in it`), 2);
  }
  if (!positionals.length) return usage('expected at least one shard folder (or --from DIR)');
  if (!values.out) return usage('--out DIR is required');
  if (values['report-dir'] !== undefined && values['no-report']) return usage('--report-dir and --no-report exclude each other');
  try {
    checkOutDir(values.out, '--out');
    const name = basename(values.out.replace(/\/+$/, ''));
    const reportDir = values['no-report'] ? null : values['report-dir'] !== undefined ? join(checkOutDir(values['report-dir'], '--report-dir'), name) : defaultReportDir(values.out);
    const plan = planMerge(positionals);
    for (const w of plan.warnings) err(`holbench merge: warning: ${w}`);
    if (plan.missing.length && !values['allow-partial']) {
      err(`holbench merge: ${plan.missing.length} of ${plan.units.length} units missing; nothing written (--allow-partial merges what is there):`);
      for (const m of plan.missing) err(`  cell ${m.unit.cell} repetition ${m.unit.rep}: ${m.why}`);
      return 1;
    }
    if (plan.missing.length) err(`holbench merge: --allow-partial: ${plan.missing.length} of ${plan.units.length} units missing (listed in run.json merged.missing_units)`);
    const res = writeMerged(plan, values.out);
    let built: string | null = null;
    if (reportDir) {
      const { buildReport } = await import('../report/index.ts');
      try {
        await buildReport(res.outDir, reportDir);
        built = reportDir;
      } catch (e) {
        err(`holbench merge: merged into ${res.outDir}, but the report failed: ${(e as Error).message.split('\n')[0]}`);
        return 1;
      }
    }
    const out = { outDir: res.outDir, reportDir: built, shards: plan.shards.length, units: plan.units.length, rows: res.rows, missing: plan.missing, warnings: plan.warnings };
    if (values.json) process.stdout.write(JSON.stringify(out, null, 2) + '\n');
    else process.stdout.write(`merged ${plan.shards.length} shard(s), ${plan.units.length - plan.missing.length} of ${plan.units.length} units: ${safeText(res.outDir)}\n${built ? `report: ${safeText(join(built, 'index.html'))}\n` : ''}`);
    return 0;
  } catch (e) {
    if (e instanceof MergeInputError) {
      err(`holbench merge: ${e.problems.length === 1 ? e.problems[0]! : `the folders cannot be merged:`}`);
      if (e.problems.length > 1) for (const p of e.problems) err(`  ${p}`);
      err('nothing was written.');
      return 2;
    }
    if (String((e as { code?: unknown })?.code ?? '').startsWith('HOLBENCH_BAD_')) {
      err(`holbench merge: ${(e as Error).message}`);
      return 2;
    }
    throw e;
  }
}
