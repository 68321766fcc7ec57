// The CLI as a hostile or careless user drives it: bad files, bad paths, unknown flags and
// control characters. Every case must end within seconds with exit 2 (bad input) and a
// one-line message, never a stack trace, never a hang, and with nothing changed: no
// namespace probed, no file written.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, watch, type FSWatcher } from 'node:fs';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { writeSyntheticResults } from './report/synthetic.ts';

const CLI = new URL('./cli.ts', import.meta.url).pathname;
const REPO = new URL('..', import.meta.url).pathname;
/** tsx by absolute URL, so the CLI also starts from a folder without node_modules */
const TSX = import.meta.resolve('tsx');
/** A hang is killed after this; every case here finishes in a second or two. */
const KILL_MS = 20_000;

interface Result {
  code: number | null;
  stdout: string;
  stderr: string;
  /** namespaces created (and maybe deleted again) under /run/netns by this process */
  probed: string[];
}

/** Run holbench with an argument array; a hang ends in SIGKILL (code null). The heap is
 *  limited so that a hostile input cannot take the machine's memory. */
function holbench(args: string[], opts: { cwd?: string; env?: Record<string, string> } = {}): Promise<Result> {
  const child = spawn(process.execPath, ['--max-old-space-size=512', '--import', TSX, CLI, ...args], {
    cwd: opts.cwd ?? REPO,
    env: { ...process.env, HOLBENCH_DEBUG: '', ...opts.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const created: string[] = [];
  let w: FSWatcher | null = null;
  try {
    w = watch('/run/netns', (_ev, name) => name && created.push(String(name)));
  } catch {
    /* no /run/netns: nothing can be created there without making it first */
  }
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => (stderr += d));
  const timer = setTimeout(() => child.kill('SIGKILL'), KILL_MS);
  return new Promise((resolve) =>
    child.on('exit', (code) => {
      clearTimeout(timer);
      w?.close();
      // the backend probes name their namespace after the process (holbench-np<pid>-r, holbench-probe-<pid>)
      resolve({ code, stdout, stderr, probed: [...new Set(created)].filter((n) => n.includes(String(child.pid))) });
    }),
  );
}

/** Exit 2, no stack trace, nothing probed; the message matches. */
function badInput(r: Result, message: RegExp, what: string): void {
  assert.notEqual(r.code, null, `${what}: hung (killed after ${KILL_MS} ms)`);
  assert.equal(r.code, 2, `${what}: exit ${r.code}\n${r.stderr}`);
  assert.doesNotMatch(r.stderr, /\n\s+at .+:\d+:\d+\)?\n/, `${what}: stack trace\n${r.stderr}`);
  assert.match(r.stderr, message, what);
  assert.deepEqual(r.probed, [], `${what}: touched the system before failing`);
}

async function tmp(): Promise<string> {
  return mkdtemp(join(tmpdir(), 'holbench-hostile-'));
}

test('scenario files that are not files, too big, or alias bombs: exit 2 at once, for validate and run', { timeout: 240_000 }, async () => {
  const d = await tmp();
  const fifo = join(d, 'pipe.yaml');
  execFileSync('mkfifo', [fifo]);
  await mkdir(join(d, 'dir.yaml'));
  await writeFile(join(d, 'big.yaml'), `description: x\n${'# padding\n'.repeat(30_000)}`);
  await writeFile(join(d, 'undef.yaml'), 'protocols: [*nope]\n');
  const bomb = ['a0: &a0 [x, x, x, x, x, x, x, x, x]'];
  for (let i = 1; i < 12; i++) bomb.push(`a${i}: &a${i} [${Array(9).fill(`*a${i - 1}`).join(', ')}]`);
  await writeFile(join(d, 'bomb.yaml'), `${bomb.join('\n')}\nprotocols: [h2]\n`);
  const cases: [string, RegExp][] = [
    [fifo, /pipe\.yaml: not a regular file \(a named pipe\)/],
    [join(d, 'dir.yaml'), /dir\.yaml: not a regular file \(a folder\)/],
    ['/dev/zero', /\/dev\/zero: not a regular file \(a device\)/],
    [join(d, 'big.yaml'), /big\.yaml: file is \d+ bytes, larger than \d+/],
    [join(d, 'undef.yaml'), /undef\.yaml: YAML: .*alias.*nope/],
    [join(d, 'bomb.yaml'), /bomb\.yaml: YAML: .*alias/i],
  ];
  for (const [file, msg] of cases) {
    badInput(await holbench(['validate', file]), msg, `validate ${file}`);
    badInput(await holbench(['run', file, '--out', join(d, 'out')]), msg, `run ${file}`);
  }
  assert.equal(existsSync(join(d, 'out')), false, 'no results folder');
  await rm(d, { recursive: true, force: true });
});

test('sweeps: billions of jobs are refused with the count and the cap, before expanding', { timeout: 120_000 }, async () => {
  const d = await tmp();
  const axis = (f: (i: number) => string) => `[${Array.from({ length: 80 }, (_, i) => f(i + 1)).join(', ')}]`;
  const f = join(d, 'huge.yaml');
  await writeFile(f, `protocols: [h2]\nworkload: {kind: page, objects: 1, object_bytes: 1}\nsweep:\n  loss_pct: ${axis(String)}\n  delay_ms: ${axis(String)}\n  jitter_ms: ${axis(String)}\n  queue_packets: ${axis(String)}\n  rate_bps: ${axis((i) => `${i}mbit`)}\n`);
  const msg = /sweep: 9,830,400,000 jobs \(3,276,800,000 cells x 1 protocols x 3 repetitions\) is over the limit of ([\d,]+) jobs/;
  badInput(await holbench(['validate', f]), msg, 'validate');
  badInput(await holbench(['run', f, '--out', join(d, 'out')]), msg, 'run');
  // --repetitions multiplies the jobs after the file was checked: 40 x 40 cells x 100
  const g = join(d, 'reps.yaml');
  await writeFile(g, `protocols: [h2]\nworkload: {kind: page, objects: 1, object_bytes: 1}\nsweep: {loss_pct: ${`[${Array.from({ length: 40 }, (_, i) => i).join(', ')}]`}, delay_ms: ${`[${Array.from({ length: 40 }, (_, i) => i).join(', ')}]`}}\n`);
  badInput(await holbench(['run', g, '--repetitions', '100', '--out', join(d, 'out')]), /--repetitions: 160,000 jobs \(1,600 cells x 1 protocols x 100 repetitions\) is over the limit/, 'run --repetitions');
  assert.equal(existsSync(join(d, 'out')), false, 'no results folder');
  await rm(d, { recursive: true, force: true });
});

test('run: output folders are checked before anything touches the system', { timeout: 120_000 }, async () => {
  const d = await tmp();
  const file = join(d, 'a-file');
  await writeFile(file, 'x');
  const ok = join(d, 'results');
  const cases: [string[], RegExp][] = [
    [['--out', '/proc/x'], /--out \/proc\/x: is under \/proc, a kernel pseudo-filesystem/],
    [['--out', file], /--out .*a-file: exists and is not a folder/],
    [['--out', join(file, 'sub')], /--out .*a-file\/sub: .*a-file is not a folder/],
    [['--out', ok, '--report-dir', '/proc/x'], /--report-dir \/proc\/x: is under \/proc/],
    [['--out', ok, '--report-dir', '/sys/kernel/x'], /--report-dir \/sys\/kernel\/x: is under \/sys, a kernel pseudo-filesystem/],
  ];
  for (const [extra, msg] of cases) {
    badInput(await holbench(['run', 'scenarios/smoke.yaml', '--backend', 'helper', ...extra]), msg, `run ${extra.join(' ')}`);
  }
  assert.equal(existsSync(ok), false, 'the results folder was not created');
  await rm(d, { recursive: true, force: true });
});

test('report and list: missing, empty, foreign or garbage folders are bad input', { timeout: 120_000 }, async () => {
  const d = await tmp();
  await mkdir(join(d, 'empty'));
  await writeFile(join(d, 'a-file'), 'x');
  await mkdir(join(d, 'garbage'));
  await writeFile(join(d, 'garbage', 'summary.csv'), 'a,b\n"x,1\nfoo"bar,2\n');
  const cases: [string[], RegExp][] = [
    [['report', join(d, 'missing')], /report: .*missing: no such folder/],
    [['report', join(d, 'empty')], /empty: no summary\.csv or requests\.csv rows/],
    [['report', '/etc'], /\/etc: no summary\.csv or requests\.csv rows/],
    [['report', join(d, 'a-file')], /report: .*a-file: not a folder/],
    [['report', join(d, 'garbage')], /garbage\/summary\.csv: not a readable CSV table/],
    [['list', '/nonexistent'], /list: cannot read the folder \/nonexistent \(ENOENT\)/],
    [['list', join(d, 'a-file')], /list: cannot read the folder .*a-file \(ENOTDIR\)/],
  ];
  for (const [args, msg] of cases) badInput(await holbench(args, { cwd: d }), msg, args.join(' '));
  assert.deepEqual((await readdir(d)).sort(), ['a-file', 'empty', 'garbage'], 'no report folder was created');
  await rm(d, { recursive: true, force: true });
});

async function resultsFolder(d: string): Promise<string> {
  const run = join(d, 'res', 'RUN');
  writeSyntheticResults(run, { protocols: ['h2', 'h3'], lossPcts: [0], reps: 1 });
  await mkdir(join(run, 'sub'));
  return run;
}

test('report: an output folder on /proc is refused', { timeout: 120_000 }, async () => {
  const d = await tmp();
  const run = await resultsFolder(d);
  badInput(await holbench(['report', run, '/proc/x'], { cwd: d }), /report folder \/proc\/x: is under \/proc/, 'report RUN /proc/x');
  await rm(d, { recursive: true, force: true });
});

test('report RUN/sub/.. writes reports/RUN, not into the current folder', { timeout: 120_000 }, async () => {
  const d = await tmp();
  await resultsFolder(d);
  // a literal path: join() would normalise it
  const r = await holbench(['report', 'res/RUN/sub/..'], { cwd: d });
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^report: reports\/RUN\/index\.html$/m);
  assert.deepEqual((await readdir(d)).sort(), ['reports', 'res'], 'nothing written into the current folder');
  assert.ok(existsSync(join(d, 'reports', 'RUN', 'index.html')));
  await rm(d, { recursive: true, force: true });
});

test('every command rejects unknown flags (cleanup --dry-run must not clean up)', { timeout: 240_000 }, async () => {
  // the commands come from the usage text, so a new command is covered too
  const help = await holbench(['help']);
  assert.equal(help.code, 0);
  const commands = [...help.stdout.matchAll(/^ {2}([a-z]+) /gm)].map((m) => m[1]!);
  assert.ok(commands.length >= 9 && commands.includes('cleanup'), commands.join());
  const d = await tmp();
  await mkdir(join(d, 'scenarios'));
  for (const cmd of commands) {
    const r = await holbench([cmd, '--dry-run'], { cwd: d });
    assert.equal(r.code, 2, `${cmd} --dry-run: exit ${r.code}\n${r.stdout}${r.stderr}`);
    assert.match(r.stderr, /Unknown option '--dry-run'/, cmd);
    assert.doesNotMatch(r.stdout, /removed|wrote/, `${cmd} did its work anyway`);
  }
  assert.deepEqual(await readdir(join(d, 'scenarios')), [], 'schema --dry-run wrote nothing');
  badInput(await holbench(['schema', 'extra'], { cwd: d }), /schema: Unexpected argument 'extra'/, 'schema extra');
  badInput(await holbench(['doctor', '--bogus']), /doctor: Unknown option '--bogus'/, 'doctor --bogus');
  await rm(d, { recursive: true, force: true });
});

test('control characters in keys, values, descriptions and file names are escaped', { timeout: 120_000 }, async () => {
  const d = await tmp();
  const f = join(d, 'ctl.yaml');
  await writeFile(f, 'protocols: [h2]\nworkload: {kind: page, objects: 1, object_bytes: 1}\n"\\e]0;pwned\\a\\e[2J\\nerror: forged": 1\nnetwork: {rate_bps: "\\e[31mred"}\n');
  const raw = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/;
  const v = await holbench(['validate', f]);
  badInput(v, /ctl\.yaml: 2 problems: /, 'validate');
  assert.doesNotMatch(v.stderr, raw, 'no raw control character');
  assert.equal(v.stderr.trimEnd().split('\n').length, 2, `one line per problem, nothing forged:\n${v.stderr}`);
  assert.ok(v.stderr.includes('\\x1b]0;pwned\\x07\\x1b[2J\\nerror: forged: unknown key'), v.stderr);
  // list prints file names and descriptions
  await mkdir(join(d, 'list'));
  await writeFile(join(d, 'list', 'a\u001b[2Jb.yaml'), 'description: "\\e]0;title\\a\\e[2Jhi\\nforged line"\nprotocols: [h2]\nworkload: {kind: page, objects: 1, object_bytes: 1}\n');
  await writeFile(join(d, 'list', 'bad\u001b[2J.yaml'), 'protocols: [h2]\nworkload: {kind: page, objects: 1, object_bytes: 1}\n"\\e[2J": 1\n');
  const l = await holbench(['list', join(d, 'list')]);
  assert.equal(l.code, 0, l.stderr);
  assert.doesNotMatch(l.stdout, raw);
  assert.equal(l.stdout.trimEnd().split('\n').length, 2, l.stdout);
  assert.match(l.stdout, /^a\\x1b\[2Jb\.yaml .* \\x1b\]0;title\\x07\\x1b\[2Jhi$/m);
  assert.match(l.stdout, /^bad\\x1b\[2J\.yaml +INVALID: 3:1 \\x1b\[2J: unknown key$/m);
  // a file name with a newline, and an argument with an escape
  badInput(await holbench(['validate', join(d, 'no\nsuch.yaml')]), /no\\nsuch\.yaml: cannot read: ENOENT/, 'newline in a file name');
  const u = await holbench(['\u001b]0;x\u0007']);
  assert.equal(u.code, 2);
  assert.doesNotMatch(u.stderr, raw);
  await rm(d, { recursive: true, force: true });
});

test('messages: the specific rate message on the first line, loss conflict once', { timeout: 60_000 }, async () => {
  const d = await tmp();
  const f = join(d, 'm.yaml');
  await writeFile(f, 'protocols: [h2]\nworkload: {kind: page, objects: 1, object_bytes: 1}\nnetwork: {rate_bps: "20 furlongs"}\n');
  const r = await holbench(['validate', f]);
  badInput(r, /./, 'validate');
  assert.match(r.stderr.split('\n')[0]!, /m\.yaml: 3:\d+ network\.rate_bps: expected a rate from 8kbit to 100gbit.*got "20 furlongs"$/);
  const g = join(d, 'loss.yaml');
  await writeFile(g, 'protocols: [h2]\nworkload: {kind: page, objects: 1, object_bytes: 1}\nnetwork: {loss_pct: 1, loss_ge: {p: 0.1}, delay_ms: -1}\nsweep: {loss_pct: [1, 2]}\nrepetitions: 0\n');
  const l = await holbench(['validate', g]);
  badInput(l, /./, 'validate');
  const lines = l.stderr.trimEnd().split('\n');
  assert.match(lines[0]!, /loss\.yaml: 2 problems: 3:\d+ network\.delay_ms: /);
  assert.match(lines[1]!, /^ {2}5:\d+ repetitions: /);
  const h = join(d, 'loss2.yaml');
  await writeFile(h, 'protocols: [h2]\nworkload: {kind: page, objects: 1, object_bytes: 1}\nnetwork: {loss_pct: 1, loss_ge: {p: 0.1}}\n');
  const o = await holbench(['validate', h]);
  badInput(o, /./, 'validate');
  assert.equal(o.stderr.split('\n').filter((x) => x.includes('set either loss_pct or loss_ge')).length, 1, o.stderr);
  assert.match(o.stderr.split('\n')[0]!, /loss2\.yaml: 3:10 network: set either loss_pct or loss_ge, not both$/);
  await rm(d, { recursive: true, force: true });
});

test('an internal error is one line with a hint, the stack only with HOLBENCH_DEBUG', { timeout: 60_000 }, async () => {
  // schema writes scenarios/schema.json: in a folder without scenarios/ that fails (ENOENT)
  const d = await tmp();
  const r = await holbench(['schema'], { cwd: d });
  assert.equal(r.code, 1);
  assert.match(r.stderr, /^holbench: ENOENT: no such file or directory, open 'scenarios\/schema\.json'\n\(set HOLBENCH_DEBUG=1 for the stack trace\)\n$/);
  const dbg = await holbench(['schema'], { cwd: d, env: { HOLBENCH_DEBUG: '1' } });
  assert.equal(dbg.code, 1);
  assert.match(dbg.stderr, /\n\s+at .+:\d+:\d+/);
  await rm(d, { recursive: true, force: true });
});
