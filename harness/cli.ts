// The holbench command line. Thin: parsing, printing and exit codes live here; the work is
// in the library modules. Exit codes: 0 ok, 1 run failed, 2 bad input, 130/143 on signals.
import { parseArgs } from 'node:util';
import { readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { loadScenario, ScenarioError } from './scenario/load.ts';
import { jsonSchema } from './scenario/schema.ts';
import { Runner } from './runner.ts';
import { progressPrinter } from './progress.ts';
import { installSignalHandlers, isExiting, runCleanups } from '../proc/lifecycle.ts';
import { reapStale } from '../netem/cleanup.ts';
import { describeProfile } from '../netem/profile.ts';
import { doctor } from './doctor.ts';
import { BACKEND_CHOICES, isBackendChoice } from '../netem/backends/index.ts';

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
  fetch <url>             curl-like probe over h1|h2|h3 (see holbench fetch --help)

options for run:
  --out DIR               results root (default results/); the report goes next to it,
                          in DIR/../reports/<run>/, the way results/ pairs with reports/
  --report-dir DIR        write the report to DIR/<run>/ instead
  --backend B             ${BACKEND_CHOICES.join(' | ')} (overrides the scenario)
  --repetitions N         override the scenario's repetitions
  --json                  print the final summary as JSON on stdout
  --quiet                 no progress output

options for compare (see holbench compare --help):
  --metric M              summary.csv column (default page_ms)
  --threshold P%          change the 95% interval must clear (default 5%)
  --out DIR               default reports/compare-<A>-vs-<B>/
  --json                  print the comparison as JSON
`;

class UsageError extends Error {}

async function cmdRun(args: string[]): Promise<number> {
  const { positionals, values } = parseArgs({
    args,
    allowPositionals: true,
    options: { out: { type: 'string' }, 'report-dir': { type: 'string' }, backend: { type: 'string' }, repetitions: { type: 'string' }, json: { type: 'boolean' }, quiet: { type: 'boolean' }, 'no-report': { type: 'boolean' } },
  });
  if (positionals.length !== 1) throw new UsageError('run: expected exactly one scenario file');
  if (values['report-dir'] !== undefined && values['no-report']) throw new UsageError('--report-dir and --no-report exclude each other');
  const backend = values.backend;
  if (backend !== undefined && !isBackendChoice(backend)) throw new UsageError(`--backend: expected ${BACKEND_CHOICES.join(', ')}, got "${backend}"`);
  const reps = values.repetitions === undefined ? undefined : Number(values.repetitions);
  if (reps !== undefined && !(Number.isInteger(reps) && reps >= 1 && reps <= 100)) throw new UsageError('--repetitions: expected an integer from 1 to 100');
  const loaded = await loadScenario(positionals[0]!);
  if (process.getuid?.() !== 0) throw new UsageError('run: needs root (network namespaces, iptables, tc); try sudo');
  installSignalHandlers((sig) => process.stderr.write(`\n${sig}: stopping; finished cells are kept, tearing down the network...\n`));
  const runner = new Runner();
  runner.on('event', progressPrinter({ quiet: Boolean(values.quiet), json: Boolean(values.json) }));
  const res = await runner.run({ loaded, outRoot: values.out, backend, repetitions: reps });
  let reportDir: string | null = null;
  if (!values['no-report']) {
    const { buildReport } = await import('./report/index.ts');
    reportDir = join(values['report-dir'] ?? (values.out ? join(values.out, '..', 'reports') : 'reports'), res.name);
    await buildReport(res.outDir, reportDir);
  }
  if (values.json) process.stdout.write(JSON.stringify({ ...res, reportDir }, null, 2) + '\n');
  else if (!values.quiet) {
    process.stderr.write(`\n${res.rows.length} jobs: ${res.rows.length - res.failed - res.unsupported} succeeded, ${res.failed} failed, ${res.unsupported} unsupported\nresults: ${res.outDir}\n${reportDir ? `report:  ${join(reportDir, 'index.html')}\n` : ''}`);
  }
  return res.failed ? 1 : 0;
}

async function cmdValidate(files: string[]): Promise<number> {
  if (!files.length) throw new UsageError('validate: expected scenario file(s)');
  let bad = 0;
  for (const f of files) {
    try {
      const s = await loadScenario(f);
      const jobs = s.cells.length * s.protocols.length * s.scenario.repetitions;
      process.stdout.write(`${f}: ok (${s.cells.length} cell(s), ${s.protocols.map((p) => p.label).join(', ')}, ${jobs} jobs)\n`);
    } catch (e) {
      if (!(e instanceof ScenarioError)) throw e;
      bad++;
      process.stderr.write(`${e.message}\n`);
    }
  }
  return bad ? 2 : 0;
}

async function cmdList(dir = 'scenarios'): Promise<number> {
  for (const f of (await readdir(dir)).filter((n) => n.endsWith('.yaml') || n.endsWith('.yml')).sort()) {
    try {
      const s = await loadScenario(join(dir, f));
      process.stdout.write(`${f.padEnd(28)} ${s.protocols.map((p) => p.label).join(',').padEnd(24)} ${s.cells.length} cell(s)  ${s.scenario.description?.split('\n')[0] ?? describeProfile(s.cells[0]!.profile)}\n`);
    } catch (e) {
      process.stdout.write(`${f.padEnd(28)} INVALID: ${(e as Error).message.split('\n')[1]?.trim()}\n`);
    }
  }
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
        return await cmdList(rest[0]);
      case 'doctor':
        return await doctor(rest.includes('--json'));
      case 'cleanup': {
        const r = await reapStale({ all: rest.includes('--all') });
        process.stdout.write(`removed ${r.removed.length} run(s)${r.removed.length ? `: ${r.removed.join(', ')}` : ''}; ${r.kept.length} still owned by a live process${r.kept.length ? ` (${r.kept.join(', ')}; use --all)` : ''}\n`);
        return 0;
      }
      case 'report': {
        if (!rest[0]) throw new UsageError('report: expected a results directory');
        const { buildReport } = await import('./report/index.ts');
        const name = rest[0].replace(/\/+$/, '').split('/').pop()!;
        const dir = rest[1] ?? join('reports', name);
        await buildReport(rest[0], dir);
        process.stdout.write(`report: ${join(dir, 'index.html')}\n`);
        return 0;
      }
      case 'schema':
        await writeFile('scenarios/schema.json', JSON.stringify(jsonSchema(), null, 2) + '\n');
        process.stdout.write('wrote scenarios/schema.json\n');
        return 0;
      case 'compare': {
        const { compareCommand } = await import('./compare.ts');
        return await compareCommand(rest);
      }
      case 'fetch': {
        const { fetchCommand } = await import('./fetch.ts');
        return await fetchCommand(rest);
      }
      case undefined:
      case 'help':
      case '--help':
      case '-h':
        process.stdout.write(USAGE);
        return cmd ? 0 : 2;
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
      process.stderr.write(`holbench: ${(e as Error).message}\n\n${USAGE}`);
      return 2;
    }
    process.stderr.write(`holbench: ${(e as Error).stack ?? e}\n`);
    await runCleanups();
    return 1;
  }
}

export function runCli(argv: string[]): void {
  main(argv).then((code) => {
    process.exitCode = code;
    // servers/agents are children with IPC; make sure nothing keeps us alive
    setTimeout(() => process.exit(code), 100).unref();
  });
}

if (process.argv[1]?.endsWith('cli.ts')) runCli(process.argv.slice(2));
