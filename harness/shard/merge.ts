// Merging the results folders of a sharded run (run --shard i/n) into one results folder.
// Library: never prints or exits; `planMerge` checks, `writeMerged` writes.
//
// What a merge guarantees:
// - the shards come from one run plan: the same scenario content (run.json scenario_sha256),
//   holbench version, seed, repetitions and shard count; otherwise MergeInputError (exit 2);
// - every (cell, repetition) unit is covered exactly once: a unit is covered by a shard when
//   its summary.csv has a row for every protocol of the unit; units in two shards are
//   duplicates (MergeInputError), units in none are missing (the caller decides: exit 1, or
//   write anyway with --allow-partial);
// - the CSVs are the shards' rows, concatenated and put back into the runner's unit order
//   (stable inside a unit), so the merged folder reads like an unsharded run's. A summary.csv
//   row is one job, computed on one machine from that job's raw records (harness/summary.ts);
//   nothing is averaged across shards: every statistic over repetitions (percentiles,
//   confidence intervals, findings) is computed afterwards by the report from these rows;
// - run.json records every shard's host, kernel, CPU and backend (`merged.shards`), and the
//   warnings when they differ;
// - nothing half-written: everything goes into a temporary sibling folder that is renamed
//   to the destination at the end (and removed on failure).
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { stringify } from 'csv-stringify/sync';
import { parse } from 'csv-parse/sync';
import { allUnits, unitKey, type Unit } from './partition.ts';
import { safeText } from '../safetext.ts';

/** Inputs that do not belong together, or are not shard folders: exit 2. */
export class MergeInputError extends Error {
  readonly code = 'HOLBENCH_BAD_MERGE';
  constructor(readonly problems: string[]) {
    super(problems.join('\n'));
  }
}

type RunJson = Record<string, any>;

export interface ShardInput {
  dir: string;
  run: RunJson;
  index: number;
}

export interface MergePlan {
  shards: ShardInput[];
  /** every unit of the run, in the runner's order */
  units: Unit[];
  /** units no shard covers completely; with why (e.g. "shard 2 has 1 of 2 protocols") */
  missing: { unit: Unit; why: string }[];
  /** the shards' machines or backends differ */
  warnings: string[];
  /** CSV files to merge: name -> header (identical in every shard that has the file) */
  csvs: Map<string, string[]>;
}

const FIELDS_THAT_MUST_MATCH: [string, (r: RunJson) => unknown][] = [
  ['scenario content (run.json scenario_sha256)', (r) => r.scenario_sha256],
  ['scenario name', (r) => r.scenario?.name],
  ['holbench version', (r) => r.versions?.holbench],
  // git commit (+dirty) of the checkout; null outside git, then only the version is compared
  ['holbench source (git commit)', (r) => r.versions?.holbench_source ?? undefined],
  ['seed', (r) => r.seed],
  ['repetitions', (r) => r.repetitions],
  ['shard count', (r) => r.shard?.count],
];

/** What a shard's machine and emulation were: recorded per shard, compared across shards. */
const MACHINE_FIELDS: [string, (r: RunJson) => unknown][] = [
  ['host', (r) => r.hostname],
  ['kernel', (r) => r.kernel],
  ['CPU model', (r) => r.cpu_model],
  ['CPU count', (r) => r.cpus],
  ['backend', (r) => r.backend],
  ['Node.js', (r) => r.versions?.node],
];

function readRunJson(dir: string): RunJson {
  const p = join(dir, 'run.json');
  let st;
  try {
    st = statSync(dir);
  } catch {
    throw new MergeInputError([`${safeText(dir)}: no such folder`]);
  }
  if (!st.isDirectory()) throw new MergeInputError([`${safeText(dir)}: not a folder (expected a shard's results folder)`]);
  if (!existsSync(p) || !statSync(p).isFile()) throw new MergeInputError([`${safeText(dir)}: no run.json (not a holbench results folder)`]);
  let run: unknown;
  try {
    run = JSON.parse(readFileSync(p, 'utf8'));
  } catch (e) {
    throw new MergeInputError([`${safeText(p)}: not valid JSON (${safeText((e as Error).message)})`]);
  }
  if (!run || typeof run !== 'object') throw new MergeInputError([`${safeText(p)}: not a JSON object`]);
  const r = run as RunJson;
  if (!r.shard || typeof r.shard !== 'object') throw new MergeInputError([`${safeText(dir)}: run.json records no shard (a run without --shard; nothing to merge)`]);
  if (!r.scenario_sha256) throw new MergeInputError([`${safeText(dir)}: run.json has no scenario_sha256 (written by a holbench without sharding)`]);
  return r;
}

function readCsvFile(path: string): { header: string[]; rows: Record<string, string>[] } {
  const text = readFileSync(path, 'utf8');
  const firstLine = text.split('\n', 1)[0] ?? '';
  const header = firstLine.trim() ? (parse(firstLine, { bom: true }) as string[][])[0] ?? [] : [];
  const rows = parse(text, { columns: true, bom: true, skip_empty_lines: true, relax_column_count: true }) as Record<string, string>[];
  return { header, rows };
}

/** The top-level CSV files of a results folder. */
const csvNames = (dir: string) => readdirSync(dir).filter((f) => f.endsWith('.csv') && statSync(join(dir, f)).isFile());

/** Check a set of shard folders. Throws MergeInputError for inputs that do not belong to one
 *  run or that cover a unit twice; returns the plan (with the missing units) otherwise. */
export function planMerge(dirs: readonly string[]): MergePlan {
  if (dirs.length === 0) throw new MergeInputError(['no shard folders given']);
  const abs = dirs.map((d) => resolve(d));
  const twice = abs.find((d, i) => abs.indexOf(d) !== i);
  if (twice) throw new MergeInputError([`${safeText(twice)} is given twice`]);
  const shards: ShardInput[] = abs.map((dir) => {
    const run = readRunJson(dir);
    return { dir, run, index: Number(run.shard.index) };
  });
  shards.sort((a, b) => a.index - b.index);
  const problems: string[] = [];
  for (const [what, get] of FIELDS_THAT_MUST_MATCH) {
    const values = shards.map((s) => JSON.stringify(get(s.run) ?? null));
    if (new Set(values).size > 1) {
      problems.push(`the shards differ in ${what}: ${shards.map((s, i) => `${safeText(basename(s.dir))}=${safeText(values[i]!)}`).join(', ')}`);
    }
  }
  if (problems.length) throw new MergeInputError([...problems, 'shards of one run share the scenario file, holbench version, seed and shard count; merge only the folders of one sharded run']);
  const base = shards[0]!.run;
  const reps = Number(base.repetitions);
  const cellIds: string[] = (base.cells ?? []).map((c: { id: string }) => c.id);
  const protocols: string[] = (base.protocols ?? []).map((p: { label: string }) => p.label);
  if (!cellIds.length || !protocols.length || !Number.isInteger(reps)) throw new MergeInputError([`${safeText(shards[0]!.dir)}: run.json lacks cells, protocols or repetitions`]);
  const units = allUnits(cellIds, reps);
  const known = new Set(units.map(unitKey));

  // which shard covers which unit, from the rows each shard actually wrote
  const coveredBy = new Map<string, string[]>();
  const partial = new Map<string, string>();
  for (const s of shards) {
    const p = join(s.dir, 'summary.csv');
    const rows = existsSync(p) ? readCsvFile(p).rows : [];
    const seen = new Map<string, Set<string>>();
    for (const r of rows) {
      const k = unitKey({ cell: r.cell ?? '', rep: Number(r.rep) });
      if (!known.has(k)) {
        problems.push(`${safeText(basename(s.dir))}: summary.csv has a row for cell ${safeText(r.cell ?? '')} repetition ${safeText(r.rep ?? '')}, which is not a unit of this run`);
        continue;
      }
      (seen.get(k) ?? seen.set(k, new Set()).get(k)!).add(r.protocol ?? '');
    }
    for (const [k, got] of seen) {
      if (protocols.every((p) => got.has(p))) (coveredBy.get(k) ?? coveredBy.set(k, []).get(k)!).push(`shard ${s.index} (${basename(s.dir)})`);
      else partial.set(k, `shard ${s.index} has ${got.size} of ${protocols.length} protocols`);
    }
  }
  const dup = units.filter((u) => (coveredBy.get(unitKey(u))?.length ?? 0) > 1);
  for (const u of dup) problems.push(`unit cell ${safeText(u.cell)} repetition ${u.rep} is in ${coveredBy.get(unitKey(u))!.map(safeText).join(' and ')}`);

  // every CSV file must have one header across the shards that wrote it
  const csvs = new Map<string, string[]>();
  for (const s of shards) {
    for (const f of csvNames(s.dir)) {
      const { header } = readCsvFile(join(s.dir, f));
      const prev = csvs.get(f);
      if (!prev) csvs.set(f, header);
      else if (prev.join(',') !== header.join(',')) problems.push(`${f}: the shards write different columns (${safeText(basename(s.dir))} differs from the first shard with the file)`);
    }
  }
  if (problems.length) throw new MergeInputError(problems);

  const missing = units
    .filter((u) => !coveredBy.has(unitKey(u)))
    .map((u) => ({ unit: u, why: partial.get(unitKey(u)) ?? 'no shard ran it' }));
  const warnings: string[] = [];
  for (const [what, get] of MACHINE_FIELDS) {
    const values = shards.map((s) => String(get(s.run) ?? ''));
    if (new Set(values).size > 1) warnings.push(`the shards ran with different ${what}: ${shards.map((s, i) => `shard ${s.index}=${safeText(values[i]!)}`).join(', ')}`);
  }
  return { shards, units, missing, warnings, csvs };
}

/** Per-shard provenance kept in the merged run.json. */
function shardRecord(s: ShardInput) {
  const r = s.run;
  return {
    dir: s.dir, index: s.index, units: Array.isArray(r.shard?.units) ? r.shard.units.length : null,
    hostname: r.hostname, kernel: r.kernel, cpus: r.cpus, cpu_model: r.cpu_model, backend: r.backend, backend_reason: r.backend_reason,
    tcp_cc_measured: r.tcp_cc_measured, host_changes: r.host_changes, run_id: r.run_id, node: r.versions?.node,
    pairing: r.pairing, backend_stats_final: r.backend_stats_final, started_at: r.started_at, finished_at: r.finished_at,
  };
}

/** run.json of the merged folder: the first shard's (scenario, cells, protocols, versions),
 *  with the per-machine values of every shard under `merged.shards`. Top-level machine
 *  values are the distinct values joined by ", " (what the report's provenance table shows). */
function mergedRunJson(plan: MergePlan, name: string): RunJson {
  const base = { ...plan.shards[0]!.run };
  for (const k of ['shard', 'run_id', 'host_changes', 'tcp_cc_measured', 'backend_stats_final', 'server_unsupported']) delete base[k];
  const distinct = (get: (r: RunJson) => unknown) => [...new Set(plan.shards.map((s) => get(s.run)).filter((v) => v !== undefined && v !== null && v !== '').map(String))].join(', ');
  const times = (k: string) => plan.shards.map((s) => s.run[k]).filter((t): t is string => typeof t === 'string').sort();
  const pairings = plan.shards.map((s) => s.run.pairing);
  return {
    ...base,
    name,
    hostname: distinct((r) => r.hostname), kernel: distinct((r) => r.kernel), cpu_model: distinct((r) => r.cpu_model),
    cpus: distinct((r) => r.cpus), backend: distinct((r) => r.backend),
    started_at: times('started_at')[0], finished_at: times('finished_at').at(-1),
    // pairs are exact only if every shard's backend reseeded exactly
    pairing: pairings.every((p) => p?.exact === true) ? pairings[0] : { exact: false, note: `not every shard reseeded exactly: ${plan.shards.map((s) => `shard ${s.index}: ${s.run.pairing?.exact === true ? 'exact' : (s.run.pairing?.note ?? 'no record')}`).join('; ')}` },
    server_unsupported: Object.assign({}, ...plan.shards.map((s) => s.run.server_unsupported ?? {})),
    merged: {
      merged_at: new Date().toISOString(),
      shard_count: plan.shards[0]!.run.shard.count,
      rule: plan.shards[0]!.run.shard.rule,
      units: plan.units.length,
      missing_units: plan.missing.map((m) => ({ ...m.unit, why: m.why })),
      warnings: plan.warnings,
      shards: plan.shards.map(shardRecord),
    },
  };
}

/** Write the merged folder at `outDir` (must not exist, or be an empty folder). Everything
 *  is written into a temporary sibling first and renamed into place at the end. */
export function writeMerged(plan: MergePlan, outDir: string): { outDir: string; rows: Record<string, number> } {
  const dest = resolve(outDir);
  if (existsSync(dest) && (!statSync(dest).isDirectory() || readdirSync(dest).length)) {
    throw new MergeInputError([`--out ${safeText(outDir)}: exists and is not an empty folder (merge writes a new folder)`]);
  }
  mkdirSync(dirname(dest), { recursive: true });
  const tmp = join(dirname(dest), `.${basename(dest)}.merging-${process.pid}`);
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp);
  try {
    const order = new Map(plan.units.map((u, i) => [unitKey(u), i]));
    const rank = (r: Record<string, string>) => order.get(unitKey({ cell: r.cell ?? '', rep: Number(r.rep) })) ?? Number.MAX_SAFE_INTEGER;
    const counts: Record<string, number> = {};
    for (const [file, header] of plan.csvs) {
      const rows = plan.shards.flatMap((s) => (existsSync(join(s.dir, file)) ? readCsvFile(join(s.dir, file)).rows : []));
      // stable sort: runner order of units; a shard's own order inside a unit
      const sorted = header.includes('cell') && header.includes('rep') ? rows.map((r, i) => ({ r, i, k: rank(r) })).sort((a, b) => a.k - b.k || a.i - b.i).map((x) => x.r) : rows;
      writeFileSync(join(tmp, file), stringify(sorted, { header: true, columns: header }));
      counts[file] = sorted.length;
    }
    // folders (capture/: one pcap per job, named by cell, protocol and repetition): union;
    // the same file name in two shards would be a duplicated job, refused by cp
    for (const s of plan.shards) {
      for (const e of readdirSync(s.dir, { withFileTypes: true })) {
        if (e.isDirectory()) cpSync(join(s.dir, e.name), join(tmp, e.name), { recursive: true, errorOnExist: true, force: false });
      }
    }
    writeFileSync(join(tmp, 'run.json'), JSON.stringify(mergedRunJson(plan, basename(dest)), null, 2));
    renameSync(tmp, dest);
    return { outDir: dest, rows: counts };
  } catch (e) {
    rmSync(tmp, { recursive: true, force: true });
    throw e;
  }
}
