// The holbench command line. Thin: parsing, printing and exit codes live here; the work is
// in the library modules. Exit codes: 0 ok, 1 run failed, 2 bad input, 130/143 on signals.
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { readdir, stat, writeFile } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import { jobCount, loadScenario, MAX_JOBS, ScenarioError, tooManyJobs } from './scenario/load.ts';
import { jsonSchema } from './scenario/schema.ts';
import { Runner } from './runner.ts';
import { progressPrinter } from './progress.ts';
import { installSignalHandlers, isExiting, runCleanups } from '../proc/lifecycle.ts';
import { reapStale } from '../netem/cleanup.ts';
import { describeProfile } from '../netem/profile.ts';
import { doctor } from './doctor.ts';
import { BACKEND_CHOICES, isBackendChoice } from '../netem/backends/index.ts';
import { checkOutDir } from './outpath.ts';
import { safeText } from './safetext.ts';
import { parseShard, shardUnits } from './shard/partition.ts';

const USAGE = `usage: holbench <command> [options]

commands:
  run <scenario.yaml>     build the emulated network, run every cell, write results/ and reports/
  validate <file...>      check scenario files (all problems at once, with line:column)
  list [dir]              list scenarios with their descriptions (default: scenarios/)
  doctor                  check this machine: root, iproute2, iptables, C compiler, netem, h3
  cleanup [--all]         remove namespaces and processes left by runs that died
  report <results-dir>    (re)build the charts and HTML for a finished run
  compare <runA> <runB>   B vs A per cell x protocol with 95% intervals; exit 1 if B regressed
  schema                  write scenarios/schema.json (JSON Schema for editors)
  presets [--sources|--json]  network presets (network: {preset: NAME}) with their sources and values
  fetch <url>             curl-like probe over h1|h2|h3 (see holbench fetch --help)
  merge <dir...> --out D  merge the results folders of a sharded run into one (and its report)
  slurm <scenario.yaml>   write (and --submit) a Slurm array job of shards plus a merge job
  k8s <scenario.yaml>     write a Kubernetes Indexed Job of shards, a merge Job and a volume claim

options for run:
  --out DIR               results root (default results/); the report goes next to it,
                          in DIR/../reports/<run>/, the way results/ pairs with reports/
  --report-dir DIR        write the report to DIR/<run>/ instead
  --backend B             ${BACKEND_CHOICES.join(' | ')} (overrides the scenario)
  --repetitions N         override the scenario's repetitions
  --capture               one pcap + TLS/QUIC key log per job in <run>/capture/ (tcpdump), and
                          exact head-of-line delay columns (as scenario capture: true)
  --no-report             write results only (build the report later with holbench report)
  --shard i/n | auto      run only shard i of n of the (cell, repetition) units (auto: from
                          SLURM_ARRAY_TASK_ID/COUNT or JOB_COMPLETION_INDEX + HOLBENCH_SHARD_COUNT)
  --json                  print the final summary as JSON on stdout
  --quiet                 no progress output

options for compare (see holbench compare --help):
  --metric M              summary.csv column (default page_ms)
  --threshold P%          change the 95% interval must clear (default 5%)
  --out DIR               default reports/compare-<A>-vs-<B>/
  --json                  print the comparison as JSON
`;

/** A bad command line: the message, then the usage; exit 2. */
class UsageError extends Error {}
/** Bad input that is not the command line's shape (a missing folder, ...): one line; exit 2. */
class BadInput extends Error {
  readonly code = 'HOLBENCH_BAD_INPUT';
}

/** Every command's arguments go through here: unknown flags are errors (strict), so a typo
 *  such as `cleanup --dry-run` stops instead of doing the real thing. */
function args<O extends NonNullable<ParseArgsConfig['options']>>(cmd: string, argv: string[], options: O, positionals: [min: number, max: number]) {
  let r;
  try {
    r = parseArgs({ args: argv, options, allowPositionals: positionals[1] > 0, strict: true });
  } catch (e) {
    throw new UsageError(`${cmd}: ${(e as Error).message}`);
  }
  const n = r.positionals.length;
  if (n < positionals[0] || n > positionals[1]) {
    const [min, max] = positionals;
    const want = min === max ? `${min}` : max === Infinity ? `at least ${min}` : `${min} to ${max}`;
    throw new UsageError(`${cmd}: expected ${want} argument${max === 1 ? '' : 's'}, got ${n}`);
  }
  return r;
}

async function cmdRun(argv: string[]): Promise<number> {
  const { positionals, values } = args('run', argv, { out: { type: 'string' }, 'report-dir': { type: 'string' }, backend: { type: 'string' }, repetitions: { type: 'string' }, json: { type: 'boolean' }, quiet: { type: 'boolean' }, 'no-report': { type: 'boolean' }, capture: { type: 'boolean' }, shard: { type: 'string' } }, [1, 1]);
  if (values['report-dir'] !== undefined && values['no-report']) throw new UsageError('--report-dir and --no-report exclude each other');
  const backend = values.backend;
  if (backend !== undefined && !isBackendChoice(backend)) throw new UsageError(`--backend: expected ${BACKEND_CHOICES.join(', ')}, got "${backend}"`);
  const reps = values.repetitions === undefined ? undefined : Number(values.repetitions);
  if (reps !== undefined && !(Number.isInteger(reps) && reps >= 1 && reps <= 100)) throw new UsageError('--repetitions: expected an integer from 1 to 100');
  const loaded = await loadScenario(positionals[0]!);
  const jobs = jobCount(loaded.scenario, reps);
  if (jobs.total > MAX_JOBS) throw new UsageError(`--repetitions: ${tooManyJobs(jobs)}`);
  // a bad shard (3/2, 0/2, more shards than units) stops here, before anything is touched
  const shard = values.shard === undefined ? undefined : parseShard(values.shard);
  if (shard) shardUnits(loaded.cells.map((c) => c.id), reps ?? loaded.scenario.repetitions, shard);
  if (process.getuid?.() !== 0) throw new UsageError('run: needs root (network namespaces, iptables, tc); try sudo');
  // every output folder is checked before the runner reaps, probes or builds anything
  const outRoot = values.out ?? 'results';
  checkOutDir(outRoot, values.out ? '--out' : 'results folder');
  if (!values['no-report']) checkOutDir(values['report-dir'] ?? join(outRoot, '..', 'reports'), values['report-dir'] ? '--report-dir' : 'report folder');
  installSignalHandlers((sig) => process.stderr.write(`\n${sig}: stopping; finished cells are kept, tearing down the network...\n`));
  const runner = new Runner();
  runner.on('event', progressPrinter({ quiet: Boolean(values.quiet), json: Boolean(values.json) }));
  const res = await runner.run({ loaded, outRoot: values.out, backend, repetitions: reps, capture: values.capture, shard });
  let reportDir: string | null = null;
  if (!values['no-report']) {
    const { buildReport } = await import('./report/index.ts');
    reportDir = join(values['report-dir'] ?? (values.out ? join(values.out, '..', 'reports') : 'reports'), res.name);
    await buildReport(res.outDir, reportDir);
  }
  if (values.json) process.stdout.write(JSON.stringify({ ...res, reportDir }, null, 2) + '\n');
  else if (!values.quiet) {
    process.stderr.write(`\n${res.rows.length} jobs: ${res.rows.length - res.failed - res.unsupported} succeeded, ${res.failed} failed, ${res.unsupported} unsupported\nresults: ${safeText(res.outDir)}\n${reportDir ? `report:  ${safeText(join(reportDir, 'index.html'))}\n` : ''}`);
  }
  return res.failed ? 1 : 0;
}

async function cmdValidate(argv: string[]): Promise<number> {
  const files = args('validate', argv, {}, [1, Infinity]).positionals;
  let bad = 0;
  for (const f of files) {
    try {
      const s = await loadScenario(f);
      const jobs = s.cells.length * s.protocols.length * s.scenario.repetitions;
      process.stdout.write(`${safeText(f)}: ok (${s.cells.length} cell(s), ${s.protocols.map((p) => p.label).join(', ')}, ${jobs} jobs)\n`);
    } catch (e) {
      if (!(e instanceof ScenarioError)) throw e;
      bad++;
      process.stderr.write(`${e.message}\n`);
    }
  }
  return bad ? 2 : 0;
}

async function cmdList(argv: string[]): Promise<number> {
  const dir = args('list', argv, {}, [0, 1]).positionals[0] ?? 'scenarios';
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (e) {
    throw new BadInput(`list: cannot read the folder ${safeText(dir)} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  for (const f of names.filter((n) => n.endsWith('.yaml') || n.endsWith('.yml')).sort()) {
    const shown = safeText(f).padEnd(28);
    try {
      const s = await loadScenario(join(dir, f));
      process.stdout.write(`${shown} ${s.protocols.map((p) => p.label).join(',').padEnd(24)} ${s.cells.length} cell(s)  ${safeText(s.scenario.description?.split('\n')[0] ?? describeProfile(s.cells[0]!.profile))}\n`);
    } catch (e) {
      if (!(e instanceof ScenarioError)) throw e;
      const more = e.total > 1 ? ` (and ${e.total - 1} more)` : '';
      process.stdout.write(`${shown} INVALID: ${safeText(e.problems[0] ?? '')}${more}\n`);
    }
  }
  return 0;
}

async function cmdReport(argv: string[]): Promise<number> {
  const [results, out] = args('report', argv, {}, [1, 2]).positionals as [string, string | undefined];
  // normalised, so "RUN/sub/.." names RUN (not "..", which would write into the current folder)
  const abs = resolve(results);
  const st = await stat(abs).catch(() => null);
  if (!st) throw new BadInput(`report: ${safeText(results)}: no such folder`);
  if (!st.isDirectory()) throw new BadInput(`report: ${safeText(results)}: not a folder (expected a results folder such as results/<run>)`);
  if (!basename(abs)) throw new BadInput(`report: ${safeText(results)}: not a results folder`);
  const dir = out ?? join('reports', basename(abs));
  checkOutDir(dir, out ? 'report folder' : 'report folder (default)');
  const { buildReport } = await import('./report/index.ts');
  await buildReport(abs, dir);
  process.stdout.write(`report: ${safeText(join(dir, 'index.html'))}\n`);
  return 0;
}

export async function main(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  try {
    switch (cmd) {
      case 'run':
        return await cmdRun(rest);
      case 'validate':
        return await cmdValidate(rest);
      case 'list':
        return await cmdList(rest);
      case 'doctor':
        return await doctor(Boolean(args('doctor', rest, { json: { type: 'boolean' } }, [0, 0]).values.json));
      case 'cleanup': {
        const all = Boolean(args('cleanup', rest, { all: { type: 'boolean' } }, [0, 0]).values.all);
        const r = await reapStale({ all });
        process.stdout.write(`removed ${r.removed.length} run(s)${r.removed.length ? `: ${r.removed.join(', ')}` : ''}; ${r.kept.length} still owned by a live process${r.kept.length ? ` (${r.kept.join(', ')}; use --all)` : ''}\n`);
        return 0;
      }
      case 'report':
        return await cmdReport(rest);
      case 'schema':
        args('schema', rest, {}, [0, 0]);
        await writeFile('scenarios/schema.json', JSON.stringify(jsonSchema(), null, 2) + '\n');
        process.stdout.write('wrote scenarios/schema.json\n');
        return 0;
      case 'presets': {
        const v = args('presets', rest, { sources: { type: 'boolean' }, json: { type: 'boolean' } }, [0, 0]).values;
        const { PRESET_TABLE } = await import('../netem/presets.ts');
        const { presetsText } = await import('./presets.ts');
        process.stdout.write(v.json ? JSON.stringify(PRESET_TABLE, null, 2) + '\n' : presetsText(Boolean(v.sources)));
        return 0;
      }
      case 'compare': {
        const { compareCommand } = await import('./compare.ts');
        return await compareCommand(rest);
      }
      case 'merge': {
        const { mergeCommand } = await import('./shard/merge-cli.ts');
        return await mergeCommand(rest);
      }
      case 'slurm': {
        const { slurmCommand } = await import('./shard/slurm.ts');
        return await slurmCommand(rest);
      }
      case 'k8s': {
        const { k8sCommand } = await import('./shard/k8s.ts');
        return await k8sCommand(rest);
      }
      case 'fetch': {
        const { fetchCommand } = await import('./fetch.ts');
        return await fetchCommand(rest);
      }
      case undefined:
        process.stdout.write(USAGE);
        return 2;
      case 'help':
      case '--help':
      case '-h':
        args('help', rest, {}, [0, 0]);
        process.stdout.write(USAGE);
        return 0;
      default:
        throw new UsageError(`unknown command "${cmd}"`);
    }
  } catch (e) {
    // a signal is tearing things down: its handler reports and exits (130/143), not us
    if (isExiting()) return new Promise<number>(() => {});
    if (e instanceof ScenarioError) {
      process.stderr.write(`${e.message}\nnothing was changed on this machine.\n`);
      return 2;
    }
    if (e instanceof UsageError || (e as any)?.code?.startsWith?.('ERR_PARSE_ARGS')) {
      process.stderr.write(`holbench: ${safeText((e as Error).message)}\n\n${USAGE}`);
      return 2;
    }
    // typed bad-input errors (HOLBENCH_BAD_*: paths, results folders, profiles): one line
    if (String((e as any)?.code ?? '').startsWith('HOLBENCH_BAD_')) {
      process.stderr.write(`holbench: ${oneLine(e)}\n`);
      return 2;
    }
    process.stderr.write(internalError(e));
    await runCleanups();
    return 1;
  }
}

/** An error's message on one terminal-safe line. */
function oneLine(e: unknown): string {
  const msg = e instanceof Error ? e.message : String(e);
  return safeText(msg.split('\n').filter(Boolean).join(' | ') || String((e as any)?.code ?? 'error'));
}

/** Anything not classified as bad input: one line and exit 1; the stack only on request. */
function internalError(e: unknown): string {
  if (process.env.HOLBENCH_DEBUG) return `holbench: ${(e as Error)?.stack ?? e}\n`;
  return `holbench: ${oneLine(e)}\n(set HOLBENCH_DEBUG=1 for the stack trace)\n`;
}

export function runCli(argv: string[]): void {
  // nothing ends in a raw stack trace, not even an error thrown outside main's promise chain
  const fatal = (e: unknown) => {
    process.stderr.write(internalError(e));
    void runCleanups().finally(() => process.exit(1));
  };
  process.on('uncaughtException', fatal);
  process.on('unhandledRejection', fatal);
  // `holbench list | head -1`: the reader went away; that is not an error
  process.stdout.on('error', (e: NodeJS.ErrnoException) => (e.code === 'EPIPE' ? process.exit(0) : fatal(e)));
  main(argv).then((code) => {
    process.exitCode = code;
    // servers/agents are children with IPC; make sure nothing keeps us alive
    setTimeout(() => process.exit(code), 100).unref();
  });
}

if (process.argv[1]?.endsWith('cli.ts')) runCli(process.argv.slice(2));
