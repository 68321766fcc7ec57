// Test helper: run the holbench CLI as a user would (a child process, argument array), bounded
// in time, with its exit code and output. One copy for every test that drives the CLI; below
// it, the scenario runner the end-to-end tests share (a YAML in a temp dir -> holbench run with
// the helper backend -> run.json and the CSVs, after checking no namespace was left).
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parse } from 'csv-parse/sync';
import { run } from '../../proc/exec.ts';
import { tempDir } from '../../proc/testdata/tmp.ts';

export const CLI = new URL('../cli.ts', import.meta.url).pathname;
const TSX = import.meta.resolve('tsx');

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
  /** the child's pid (for tests that look for what it created) */
  pid: number | undefined;
}

export interface CliOptions {
  cwd?: string;
  env?: Record<string, string>;
  /** SIGKILL after this long (default 240 s): a hang fails the test instead of the suite */
  timeoutMs?: number;
  /** extra node flags (e.g. --max-old-space-size=512) */
  nodeArgs?: string[];
  /** called for every stderr line, with a way to signal the child (interrupt tests) */
  onStderr?: (line: string, kill: (s: NodeJS.Signals) => void) => void;
}

export function holbench(args: string[], o: CliOptions = {}): Promise<CliResult> {
  const child = spawn(process.execPath, [...(o.nodeArgs ?? []), '--import', TSX, CLI, ...args], {
    cwd: o.cwd,
    env: o.env ? { ...process.env, ...o.env } : process.env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => {
    stderr += d;
    if (o.onStderr) for (const line of String(d).split('\n')) o.onStderr(line, (s) => child.kill(s));
  });
  const timer = setTimeout(() => child.kill('SIGKILL'), o.timeoutMs ?? 240_000);
  return new Promise((resolve) => child.on('exit', (code) => (clearTimeout(timer), resolve({ code, stdout, stderr, pid: child.pid }))));
}

export type CsvRow = Record<string, string>;

/** A CSV the run wrote, one object per row keyed by the header. */
export async function readCsv(file: string): Promise<CsvRow[]> {
  return parse(await readFile(file, 'utf8'), { columns: true }) as CsvRow[];
}

/** `yaml` as scenario.yaml in a new temp dir (named `<prefix>…`; removed when the file's
 *  tests pass, proc/testdata/tmp.ts). */
export async function scenarioFile(yaml: string, prefix = 'holbench-test-'): Promise<{ dir: string; file: string }> {
  const dir = await tempDir(prefix);
  const file = join(dir, 'scenario.yaml');
  await writeFile(file, yaml);
  return { dir, file };
}

/** run.json as the tests read it: the fields named here, the rest as parsed */
export interface RunJson {
  run_id: string;
  protocols: { protocol: string; wire?: string }[];
  [field: string]: any;
}

export interface ScenarioRun {
  code: number | null;
  stderr: string;
  outDir: string;
  runJson: RunJson;
  summary: CsvRow[];
  /** messages.csv (written for messages workloads only; [] for others) */
  messages: CsvRow[];
}

/** `holbench run` of `yaml` with the helper backend (--json --quiet --no-report) into the
 *  scenario's temp dir. Fails the test if the run produced no result folder or left any of
 *  its namespaces behind. `timeoutMs` bounds the CLI (default 300 s). */
export async function runScenario(yaml: string, o: { prefix?: string; timeoutMs?: number } = {}): Promise<ScenarioRun> {
  const { dir, file } = await scenarioFile(yaml, o.prefix);
  const r = await holbench(['run', file, '--backend', 'helper', '--out', join(dir, 'results'), '--json', '--quiet', '--no-report'], { timeoutMs: o.timeoutMs ?? 300_000 });
  const outDir = JSON.parse(r.stdout || '{}').outDir as string | undefined;
  assert.ok(outDir, `no result: exit ${r.code} ${r.stderr.slice(-2000)}`);
  const runJson = JSON.parse(await readFile(join(outDir, 'run.json'), 'utf8')) as RunJson;
  const ns = (await run('ip', ['netns', 'list'])).stdout.split('\n').filter((l) => l.startsWith(`holbench-${runJson.run_id}-`));
  assert.deepEqual(ns, [], 'namespaces left behind');
  const messagesCsv = join(outDir, 'messages.csv');
  return {
    code: r.code,
    stderr: r.stderr,
    outDir,
    runJson,
    summary: await readCsv(join(outDir, 'summary.csv')),
    messages: existsSync(messagesCsv) ? await readCsv(messagesCsv) : [],
  };
}
