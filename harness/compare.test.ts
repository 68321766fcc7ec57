// `holbench compare` on synthetic results folders written here with known numbers: the
// verdicts (regressed / same / improved, higher-is-better metrics, groups missing or failed
// in one run), exit codes, the table, compare.csv, the chart files, provenance warnings and
// bad input. The CLI runs as a subprocess, as a user or CI would run it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'csv-parse/sync';
import { stringify } from 'csv-stringify/sync';
import { parseThreshold } from './compare.ts';
import { compareRuns, metricDirection } from './compare/stats.ts';
import { loadRun } from './compare/io.ts';
import { provenanceWarnings } from './compare/provenance.ts';
import type { RunData } from './compare/types.ts';
import { relChangeCi95 } from './metrics.ts';
import { SUMMARY_COLUMNS } from './summary.ts';
import { holbench as holbenchCli } from './testdata/cli.ts';
import { tempDirSync } from '../proc/testdata/tmp.ts';


/** Run the CLI; SIGKILL after timeoutMs (code null), a generous bound for a hang, not a timing check. */
const holbench = (args: string[], cwd = process.cwd(), timeoutMs = 60_000) => holbenchCli(args, { cwd, timeoutMs });

// the columns of summary.csv as harness/summary.ts writes them, plus one it does not write
// (yet): compare takes any numeric column, known or not
const NEW_COLUMN = 'page_p75_ms';
const COLUMNS: string[] = [...SUMMARY_COLUMNS, NEW_COLUMN];

/** page_ms of A's five repetitions: mean 1000, sd ~7.9 */
const BASE = [990, 1005, 1000, 995, 1010];

interface Group {
  cell?: string;
  protocol: string;
  page: number[];
  status?: string;
  goodput?: number[];
  /** summary.csv seed per repetition (empty when not given) */
  seeds?: number[];
}

const tmp = tempDirSync('holbench-compare-');

function runJson(over: Record<string, unknown> = {}) {
  return {
    name: 'syn',
    scenario: { name: 'syn', file: 'scenarios/syn.yaml', workload: { kind: 'page', objects: 10, object_bytes: 20000 } },
    backend: 'helper', kernel: '6.1.0-test', cpus: 2, cpu_model: 'test cpu', tcp_cc: 'cubic', quic_cc: 'cubic', seed: 1,
    versions: { node: 'v20.0.0', holbench: '0.1.0', undici: '7.30.2' },
    cells: [
      { id: 'base', params: {}, profile: { uplink: { delayMs: 25 }, downlink: { delayMs: 25 }, seed: 1, outages: [] }, description: '25ms each way' },
      { id: 'loss=2', params: { loss: 2 }, profile: { uplink: { delayMs: 25, loss: 2 }, downlink: { delayMs: 25, loss: 2 }, seed: 1, outages: [] }, description: '25ms, 2% loss' },
    ],
    ...over,
  };
}

/** Write results/<name>/ with summary.csv (5 reps per group) and run.json. */
function makeRun(name: string, groups: Group[], opts: { run?: Record<string, unknown> | null; columns?: string[] } = {}): string {
  const dir = join(tmp, 'results', name);
  mkdirSync(dir, { recursive: true });
  const rows: Record<string, unknown>[] = [];
  for (const g of groups) {
    g.page.forEach((page, i) => {
      const ok = (g.status ?? 'SUCCEEDED') === 'SUCCEEDED';
      rows.push({
        scenario: 'syn', cell: g.cell ?? 'base', protocol: g.protocol, rep: i + 1, status: g.status ?? 'SUCCEEDED', reason: ok ? '' : 'timeout',
        workload: 'page', loss_pct: 0, rtt_ms: 50, rate_mbps: '', tcp_cc: 'cubic', quic_cc: 'cubic', page_ms: ok ? page : '', requests: 10, errors: 0,
        goodput_mbps: ok ? (g.goodput?.[i] ?? 8) : '', connections_used: 1, retransmissions: 3, wire_bytes_per_msg: ok ? page / 10 : '',
        [NEW_COLUMN]: ok ? page * 0.75 : '', seed: g.seeds?.[i] ?? '',
      });
    });
  }
  writeFileSync(join(dir, 'summary.csv'), stringify(rows, { header: true, columns: opts.columns ?? COLUMNS }));
  if (opts.run !== null) writeFileSync(join(dir, 'run.json'), JSON.stringify(opts.run ?? runJson(), null, 2));
  return dir;
}

const scaled = (k: number, add = 0) => BASE.map((x) => x * k + add);
const A = makeRun('syn-A', [
  { protocol: 'h2', page: BASE },
  { protocol: 'h3', page: BASE },
]);

/** The table row of a cell x protocol, split on runs of spaces. */
function tableRow(stdout: string, cell: string, protocol: string): string {
  const line = stdout.split('\n').find((l) => l.startsWith(`${cell} `) && l.split(/\s+/)[1] === protocol);
  assert.ok(line, `no table row for ${cell}/${protocol} in:\n${stdout}`);
  return line;
}

const readCsv = (f: string) => parse(readFileSync(f, 'utf8'), { columns: true }) as Record<string, string>[];

/** run.json of a run whose backend reseeded exactly before every job (paired repetitions) */
const pairedRunJson = (exact = true) => runJson({ pairing: { exact, note: exact ? 'helper: seeded PRNG' : 'netem: this tc has no seed option', seed_of: 'jobSeed(scenario seed, cell id, rep), netem/seed.ts' } });

test('compare: repetitions run under the same seeds in both runs get the paired interval, said in the table and CSV', async () => {
  // Hand-computable, h3 page_ms: A = 100, 200, 300; B = 50, 110, 140; repetition r under
  // seed 11, 22, 33 in both runs. R = mean B / mean A = 100 / 200: change -50%. Paired
  // t-interval (metrics.ts pairedRelChangeCi95): residuals B - R A = 0, 10, -10, sd 10,
  // half = t(2) 4.303 * 10 / (sqrt(3) * 200) = 12.4%: [-62.4%, -37.6%], beyond -5%: improved.
  const Ap = makeRun('pair-A', [{ protocol: 'h3', page: [100, 200, 300], seeds: [11, 22, 33] }], { run: pairedRunJson() });
  const Bp = makeRun('pair-B', [{ protocol: 'h3', page: [50, 110, 140], seeds: [11, 22, 33] }], { run: pairedRunJson() });
  const out = join(tmp, 'out-paired');
  const r = await holbench(['compare', Ap, Bp, '--out', out]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(tableRow(r.stdout, 'base', 'h3'), /^base\s+h3\s+paired n=3\s+200\.0 ±248\.4 \(n=3\)\s+100\.0 ±113\.\d \(n=3\)\s+-50\.0% \[-62\.4, -37\.6\]\s+improved$/);
  assert.match(r.stdout, /pairs: "paired n=N" = both runs ran each repetition/);
  const csv = readCsv(join(out, 'compare.csv'))[0]!;
  assert.deepEqual([csv.paired, csv.pairs, csv.change_pct, Number(csv.change_lo_pct).toFixed(2), Number(csv.change_hi_pct).toFixed(2), csv.verdict], ['true', '3', '-50', '-62.42', '-37.58', 'improved']);
  assert.match(readFileSync(join(out, 'compare.svg'), 'utf8'), /paired by seed/);
});

test('compare: different seeds, an inexact backend or no seeds keep the unpaired interval, and say why', () => {
  // the same numbers unpaired: the two-sample bootstrap, whose interval carries A's spread
  // across repetitions (100..300) and reaches 0: the same as A
  const unpaired = relChangeCi95([100, 200, 300], [50, 110, 140]);
  assert.ok(unpaired.hi >= 0 && unpaired.lo < -0.7, JSON.stringify(unpaired));
  const a = loadRun(makeRun('unpair-A', [{ protocol: 'h3', page: [100, 200, 300], seeds: [11, 22, 33] }], { run: pairedRunJson() }));
  const oldA = loadRun(makeRun('unpair-A-old', [{ protocol: 'h3', page: [100, 200, 300], seeds: [11, 22, 33] }]));
  const cases: [string, { seeds?: number[]; exact?: boolean; runA?: typeof a }, RegExp][] = [
    ['seeds', { seeds: [11, 23, 33] }, /^repetition 2 met different seeds \(22 vs 23\)$/],
    ['inexact', { seeds: [11, 22, 33], exact: false }, /^B: the backend could not reseed the impairment exactly \(netem: this tc has no seed option\)$/],
    ['noseed', {}, /^repetition 1 has no seed/],
    ['old-A', { seeds: [11, 22, 33], runA: oldA }, /^A: run\.json records no pairing/],
  ];
  for (const [name, c, why] of cases) {
    const b = loadRun(makeRun(`unpair-B-${name}`, [{ protocol: 'h3', page: [50, 110, 140], seeds: c.seeds }], { run: pairedRunJson(c.exact ?? true) }));
    const g = compareRuns(c.runA ?? a, b).groups[0]!;
    assert.equal(g.paired, false, name);
    assert.equal(g.pairs, null, name);
    assert.match(g.pairing_note, why, name);
    assert.deepEqual([g.change_pct, g.change_lo_pct, g.change_hi_pct, g.verdict], [-50, 100 * unpaired.lo, 100 * unpaired.hi, 'same'], name);
  }
});

test('compare: a 30% slower protocol regressed (exit 1), the other is the same; table, CSV, chart, provenance', async () => {
  const B = makeRun('syn-B-slow', [
    { protocol: 'h2', page: scaled(1.3) },
    { protocol: 'h3', page: scaled(1, 2) },
  ], { run: runJson({ kernel: '6.12.0-test', versions: { node: 'v20.0.0', holbench: '0.1.0', undici: '7.31.0' } }) });
  const out = join(tmp, 'out-slow');
  const r = await holbench(['compare', A, B, '--out', out]);
  assert.equal(r.code, 1, r.stderr);
  assert.match(tableRow(r.stdout, 'base', 'h2'), /unpaired\s+1000 ±10 \(n=5\)\s+1300 ±13 \(n=5\)\s+\+30\.0% \[\+2\d\.\d, \+3\d\.\d\]\s+regressed$/);
  assert.match(tableRow(r.stdout, 'base', 'h3'), /\+0\.2% \[-?0\.\d, \+\d\.\d\]\s+same$/);
  assert.match(r.stdout, /^page_ms \(lower is better\).*threshold ±5%/);
  // which group regressed, and the provenance that differs
  assert.match(r.stderr, /1 group\(s\) regressed on page_ms:\n\s+base h2: \+30\.0%/);
  assert.match(r.stderr, /warning: kernel differs: A "6\.1\.0-test", B "6\.12\.0-test"/);
  assert.match(r.stderr, /warning: versions differ: undici "7\.30\.2" -> "7\.31\.0"/);
  assert.doesNotMatch(r.stderr, /node|network profile/);
  // compare.csv
  const csv = readCsv(join(out, 'compare.csv'));
  assert.deepEqual(csv.map((x) => [x.cell, x.protocol, x.verdict]), [['base', 'h2', 'regressed'], ['base', 'h3', 'same']]);
  const h2 = csv[0]!;
  assert.equal(Number(h2.a_n), 5);
  assert.equal(Number(h2.a_mean), 1000);
  assert.equal(Number(h2.b_mean), 1300);
  assert.equal(Number(h2.change_pct), 30);
  assert.ok(Number(h2.change_lo_pct) > 5 && Number(h2.change_lo_pct) < 30 && Number(h2.change_hi_pct) > 30);
  assert.equal(h2.threshold_pct, '5');
  assert.equal(h2.metric, 'page_ms');
  // the chart
  const svg = readFileSync(join(out, 'compare.svg'), 'utf8');
  assert.match(svg, /^<svg/);
  assert.match(svg, /base · h2/);
  assert.ok(readFileSync(join(out, 'compare.png')).subarray(1, 4).toString() === 'PNG');
  const spec = JSON.parse(readFileSync(join(out, 'compare.vl.json'), 'utf8'));
  assert.deepEqual(spec.layer[0].data.values, [{ x: -5 }, { x: 5 }], 'rules at ±threshold');
});

test('compare: +0.2% is noise (exit 0, every group the same, no provenance warning), default output folder', async () => {
  const B = makeRun('syn-B-same', [
    { protocol: 'h2', page: scaled(1, 2) },
    { protocol: 'h3', page: scaled(1, 2) },
  ]);
  const r = await holbench(['compare', A, B], tmp);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stderr, '');
  assert.match(tableRow(r.stdout, 'base', 'h2'), /same$/);
  assert.match(tableRow(r.stdout, 'base', 'h3'), /same$/);
  const out = join(tmp, 'reports', 'compare-syn-A-vs-syn-B-same');
  assert.ok(existsSync(join(out, 'compare.svg')), 'default out is reports/compare-<A>-vs-<B>/ under the working directory');
  assert.deepEqual(readCsv(join(out, 'compare.csv')).map((x) => x.verdict), ['same', 'same']);
});

test('compare: 30% faster improved (exit 0); --json; the output is deterministic', async () => {
  const B = makeRun('syn-B-fast', [
    { protocol: 'h2', page: scaled(0.7) },
    { protocol: 'h3', page: scaled(1) },
  ]);
  const out = join(tmp, 'out-fast');
  const r = await holbench(['compare', A, B, '--out', out, '--threshold', '10%']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(tableRow(r.stdout, 'base', 'h2'), /-30\.0% \[-3\d\.\d, -2\d\.\d\]\s+improved$/);
  assert.match(tableRow(r.stdout, 'base', 'h3'), /\+0\.0% \[-\d\.\d, \+\d\.\d\]\s+same$/);
  const j1 = await holbench(['compare', A, B, '--out', out, '--threshold', '10', '--json']);
  const j2 = await holbench(['compare', A, B, '--out', out, '--threshold', '10', '--json']);
  assert.equal(j1.code, 0, j1.stderr);
  const res = JSON.parse(j1.stdout);
  assert.equal(res.metric, 'page_ms');
  assert.equal(res.direction, 'lower');
  assert.equal(res.threshold_pct, 10);
  assert.deepEqual(res.groups.map((g: { verdict: string }) => g.verdict), ['improved', 'same']);
  assert.deepEqual(res.regressed, []);
  assert.ok(res.files.some((f: string) => f.endsWith('compare.png')));
  assert.equal(j1.stdout, j2.stdout, 'a fixed bootstrap seed gives identical output');
});

test('compare: higher-is-better metric (goodput) that dropped regressed; a column summary.ts does not write compares too', async () => {
  const B = makeRun('syn-B-goodput', [
    { protocol: 'h2', page: BASE, goodput: [5.5, 5.6, 5.4, 5.5, 5.6] },
    { protocol: 'h3', page: scaled(1.4), goodput: [8.1, 8.0, 7.9, 8.0, 8.1] },
  ]);
  const g = await holbench(['compare', A, B, '--metric', 'goodput_mbps', '--out', join(tmp, 'out-goodput')]);
  assert.equal(g.code, 1, g.stderr);
  assert.match(g.stdout, /^goodput_mbps \(higher is better\)/);
  assert.match(tableRow(g.stdout, 'base', 'h2'), /-31\.\d% .*regressed$/);
  assert.match(tableRow(g.stdout, 'base', 'h3'), /same$/);
  assert.match(g.stderr, /base h2: -31\.\d%/);
  // wire_bytes_per_msg (page_ms / 10 here): lower is better, h3 is 40% worse
  const w = await holbench(['compare', A, B, '--metric', 'wire_bytes_per_msg', '--out', join(tmp, 'out-wire')]);
  assert.equal(w.code, 1, w.stderr);
  assert.match(tableRow(w.stdout, 'base', 'h3'), /\+40\.0% .*regressed$/);
  assert.match(tableRow(w.stdout, 'base', 'h2'), /same$/);
  // a column compare has no entry for: direction from its name (*_ms: lower is better)
  assert.ok(!(SUMMARY_COLUMNS as string[]).includes(NEW_COLUMN), `${NEW_COLUMN} must stay a column summary.ts does not write`);
  const n = await holbench(['compare', A, B, '--metric', NEW_COLUMN, '--out', join(tmp, 'out-new')]);
  assert.equal(n.code, 1, n.stderr);
  assert.match(n.stdout, /^page_p75_ms \(lower is better\)/);
  assert.match(tableRow(n.stdout, 'base', 'h3'), /\+40\.0% .*regressed$/);
});

test('compare: groups in one run only are flagged; a group that fails every repetition in B counts as a regression', async () => {
  const A2 = makeRun('syn-A2', [
    { protocol: 'h2', page: BASE },
    { protocol: 'h3', page: BASE },
    { cell: 'loss=2', protocol: 'h2', page: scaled(3) },
    { cell: 'loss=2', protocol: 'http1.1', page: scaled(2) },
  ]);
  const B = makeRun('syn-B-failed', [
    { protocol: 'h2', page: BASE },
    { protocol: 'h3', page: BASE },
    { cell: 'loss=2', protocol: 'h2', page: scaled(3), status: 'FAILED' },
    { cell: 'loss=2', protocol: 'h3', page: scaled(2) },
  ]);
  const out = join(tmp, 'out-failed');
  const r = await holbench(['compare', A2, B, '--out', out]);
  assert.equal(r.code, 1, r.stderr);
  assert.match(tableRow(r.stdout, 'loss=2', 'h2'), /failed-in-B$/);
  assert.match(tableRow(r.stdout, 'loss=2', 'http1.1'), /only-in-A$/);
  assert.match(tableRow(r.stdout, 'loss=2', 'h3'), /only-in-B$/);
  assert.match(r.stderr, /warning: 2 group\(s\) in one run only: loss=2\/http1\.1 \(only-in-A\), loss=2\/h3 \(only-in-B\)/);
  assert.match(r.stderr, /loss=2 h2: no successful repetition in B \(5 failed\)/);
  const csv = readCsv(join(out, 'compare.csv'));
  const failed = csv.find((x) => x.cell === 'loss=2' && x.protocol === 'h2')!;
  assert.equal(failed.b_n, '0');
  assert.equal(failed.b_failed, '5');
  assert.equal(failed.change_pct, '');
  assert.match(readFileSync(join(out, 'compare.svg'), 'utf8'), /not drawn: .*loss=2 · h2 \(failed-in-B\)/);
});

test('compare: a different network profile of a compared cell is warned about; a missing run.json too', async () => {
  const other = runJson();
  (other.cells as { profile: { uplink: { delayMs: number } } }[])[0]!.profile.uplink.delayMs = 40;
  (other.cells as { description: string }[])[0]!.description = '40ms up, 25ms down';
  const B = makeRun('syn-B-profile', [{ protocol: 'h2', page: BASE }, { protocol: 'h3', page: BASE }], { run: other });
  const r = await holbench(['compare', A, B, '--out', join(tmp, 'out-profile')]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /warning: cell "base": network profile differs: A "25ms each way", B "40ms up, 25ms down"/);
  const C = makeRun('syn-B-norun', [{ protocol: 'h2', page: BASE }, { protocol: 'h3', page: BASE }], { run: null });
  const r2 = await holbench(['compare', A, C, '--out', join(tmp, 'out-norun')]);
  assert.equal(r2.code, 0, r2.stderr);
  assert.match(r2.stderr, /warning: no readable run\.json in B \(syn-B-norun\): provenance not compared/);
});

test('compare: bad input exits 2 and says why', async () => {
  const B = makeRun('syn-B-bad', [{ protocol: 'h2', page: BASE }, { protocol: 'h3', page: BASE }]);
  const unknown = await holbench(['compare', A, B, '--metric', 'nope_ms', '--out', join(tmp, 'out-bad')]);
  assert.equal(unknown.code, 2);
  assert.match(unknown.stderr, /unknown metric "nope_ms"; metrics in both runs: .*page_ms \(lower is better\)/);
  assert.match(unknown.stderr, /goodput_mbps \(higher is better\)/);
  assert.doesNotMatch(unknown.stderr, /rtt_ms|loss_pct|\brep\b/, 'configuration columns are not metrics');
  assert.ok(!existsSync(join(tmp, 'out-bad')), 'nothing written on bad input');
  // a column only one run has
  const noWire = makeRun('syn-B-nowire', [{ protocol: 'h2', page: BASE }], { columns: COLUMNS.filter((c) => c !== 'wire_bytes_per_msg') });
  const one = await holbench(['compare', A, noWire, '--metric', 'wire_bytes_per_msg']);
  assert.equal(one.code, 2);
  assert.match(one.stderr, /unknown metric "wire_bytes_per_msg" \(only in A, syn-A\)/);
  const missing = await holbench(['compare', A, join(tmp, 'results', 'does-not-exist')]);
  assert.equal(missing.code, 2);
  assert.match(missing.stderr, /no such results folder: .*does-not-exist/);
  mkdirSync(join(tmp, 'results', 'empty'), { recursive: true });
  const noSummary = await holbench(['compare', A, join(tmp, 'results', 'empty')]);
  assert.equal(noSummary.code, 2);
  assert.match(noSummary.stderr, /no summary\.csv in .*empty/);
  for (const t of ['abc', '-5%', '5%%']) {
    const thr = await holbench(['compare', A, B, `--threshold=${t}`]);
    assert.equal(thr.code, 2, t);
    assert.match(thr.stderr, /--threshold: expected a percentage/);
  }
  const one1 = await holbench(['compare', A]);
  assert.equal(one1.code, 2);
  assert.match(one1.stderr, /expected two results folders/);
});

test('compare library: directions, thresholds, the bootstrap interval', () => {
  assert.equal(metricDirection('page_ms'), 'lower');
  assert.equal(metricDirection('co_stall_index'), 'lower');
  assert.equal(metricDirection('retransmissions'), 'lower');
  assert.equal(metricDirection('wire_bytes_per_msg'), 'lower');
  assert.equal(metricDirection('detect_ms_client'), 'lower');
  assert.equal(metricDirection('msg_latency_p50_ms'), 'lower');
  assert.equal(metricDirection('goodput_mbps'), 'higher');
  assert.equal(metricDirection('msgs_per_s'), 'higher');
  assert.equal(metricDirection('throughput_rps'), 'higher');
  assert.equal(metricDirection('connections_used'), 'neutral');
  assert.equal(parseThreshold('5%'), 5);
  assert.equal(parseThreshold('2.5'), 2.5);
  assert.equal(parseThreshold('0'), 0);
  assert.throws(() => parseThreshold('five'));
  const r = relChangeCi95(BASE, scaled(1.3));
  assert.ok(Math.abs(r.estimate - 0.3) < 1e-12);
  assert.ok(r.lo < 0.3 && r.hi > 0.3 && r.lo > 0.27 && r.hi < 0.33, JSON.stringify(r));
  assert.deepEqual(relChangeCi95(BASE, scaled(1.3)), r, 'same seed, same interval');
  assert.deepEqual(relChangeCi95([0, 0], [0, 0]), { estimate: 0, lo: 0, hi: 0 });
  assert.ok(Number.isNaN(relChangeCi95([0, 0], [1, 2]).estimate));
  assert.ok(Number.isNaN(relChangeCi95([1000], [1200]).lo), 'no interval from one repetition');
});

// ---------------------------------------------------------------------------------------
// Hostile input: malformed summary.csv, odd column names, bad --out, control characters
// ---------------------------------------------------------------------------------------

/** A copy of run `name` (2 protocols, BASE) whose summary.csv text is passed through `edit`. */
function editedRun(name: string, edit: (lines: string[]) => string[]): string {
  const dir = makeRun(name, [{ protocol: 'h2', page: BASE }, { protocol: 'h3', page: BASE }]);
  const lines = readFileSync(join(dir, 'summary.csv'), 'utf8').split('\n');
  writeFileSync(join(dir, 'summary.csv'), edit(lines).join('\n'));
  return dir;
}

test('compare: a summary.csv row with fewer or more fields than the header exits 2 naming the file and line', async () => {
  // line 1 is the header, line 4 the third repetition of h2
  const cases: [string, (l: string) => string, RegExp][] = [
    ['short', (l) => l.split(',').slice(0, -2).join(','), new RegExp(`${COLUMNS.length - 2} fields, the header has ${COLUMNS.length}`)],
    ['long', (l) => `${l},extra`, new RegExp(`${COLUMNS.length + 1} fields, the header has ${COLUMNS.length}`)],
  ];
  for (const [kind, edit, fields] of cases) {
    const bad = editedRun(`syn-ragged-${kind}`, (lines) => lines.map((l, i) => (i === 3 ? edit(l) : l)));
    const out = join(tmp, `out-ragged-${kind}`);
    for (const args of [[A, bad], [bad, A]]) {
      const r = await holbench(['compare', ...args, '--out', out]);
      assert.equal(r.code, 2, `${kind}: ${r.stderr}`);
      assert.ok(r.stderr.includes(`${join(bad, 'summary.csv')}:4: `), `${kind}: names file and line 4: ${r.stderr}`);
      assert.match(r.stderr, fields);
    }
    assert.ok(!existsSync(out), 'nothing written');
  }
});

test('compare: a garbage summary.csv exits 2 with one short line naming the file and line', async () => {
  const garbage: [string, string | Buffer][] = [
    ['binary', Buffer.from(Array.from({ length: 1024 }, (_, i) => i % 256))],
    ['quote', 'cell,protocol,status\n"base,h2,SUCCEEDED\n'],
    ['binary-no-nul', Buffer.from(Array.from({ length: 1024 }, (_, i) => 1 + (i % 255)))],
  ];
  for (const [kind, data] of garbage) {
    const dir = join(tmp, 'results', `syn-garbage-${kind}`);
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'summary.csv'), data);
    const r = await holbench(['compare', A, dir, '--out', join(tmp, `out-garbage-${kind}`)]);
    assert.equal(r.code, 2, `${kind}: ${r.stderr}`);
    const lines = r.stderr.trimEnd().split('\n');
    assert.equal(lines.length, 1, `${kind}: one line: ${r.stderr}`);
    assert.ok(lines[0]!.includes(join(dir, 'summary.csv')), `${kind}: names the file: ${r.stderr}`);
    assert.match(lines[0]!, /summary\.csv:\d+: /, `${kind}: names the line`);
    assert.ok(lines[0]!.length < 300, `${kind}: short, does not quote the content (${lines[0]!.length} chars)`);
    assert.doesNotMatch(r.stderr, /[\x00-\x08\x0b-\x1f\x7f-\x9f]/, `${kind}: no raw control characters`);
  }
});

test('compare: --metric __proto__, constructor, toString are not metrics unless both runs have such a column', async () => {
  const B = makeRun('syn-B-proto', [{ protocol: 'h2', page: BASE }, { protocol: 'h3', page: BASE }]);
  const names = ['__proto__', 'constructor', 'toString'];
  for (const m of names) {
    const r = await holbench(['compare', A, B, '--metric', m, '--out', join(tmp, 'out-proto')]);
    assert.equal(r.code, 2, `${m}: ${r.stderr}`);
    assert.match(r.stderr, new RegExp(`unknown metric "${m}"`));
  }
  assert.ok(!existsSync(join(tmp, 'out-proto')));
  // columns with these names are ordinary columns: compared, no direction, no crash
  const withCols = (name: string) =>
    editedRun(name, (lines) => lines.map((l, i) => (i === 0 ? `${l},${names.join(',')}` : l === '' ? l : `${l},${i},${i + 1},${i + 2}`)));
  const PA = withCols('syn-A-proto-cols');
  const PB = withCols('syn-B-proto-cols');
  for (const m of names) {
    const r = await holbench(['compare', PA, PB, '--metric', m, '--out', join(tmp, `out-proto-${m}`)]);
    assert.equal(r.code, 0, `${m}: ${r.stderr}`);
    assert.ok(r.stdout.startsWith(`${m} (neither direction is better)`), `${m}: ${r.stdout.split('\n')[0]}`);
    assert.doesNotMatch(r.stdout + r.stderr, /undefined|Error/);
    assert.deepEqual(readCsv(join(tmp, `out-proto-${m}`, 'compare.csv')).map((x) => [x.metric, x.direction, x.verdict]), [[m, 'neutral', 'same'], [m, 'neutral', 'same']]);
  }
});

test('compare: a bad --out exits 2 naming --out before reading the runs (/proc, /sys, a file, a symlink into /proc)', async () => {
  const file = join(tmp, 'a-file');
  writeFileSync(file, 'x');
  const link = join(tmp, 'link-to-proc');
  symlinkSync('/proc/self', link);
  const cases: [string, RegExp][] = [
    ['/proc/x', /\/proc/],
    ['/proc', /\/proc/],
    ['/sys/x/y', /\/sys/],
    [join(file, 'sub'), /is not a folder/],
    [file, /not a folder/],
    [join(link, 'x'), /\/proc/],
  ];
  for (const [out, why] of cases) {
    // the runs do not exist: the --out error comes first, so nothing was read
    const r = await holbench(['compare', join(tmp, 'results', 'no-A'), join(tmp, 'results', 'no-B'), '--out', out], process.cwd(), 20_000);
    assert.equal(r.code, 2, `--out ${out}: exit ${r.code}, ${r.stderr}`);
    assert.match(r.stderr, new RegExp(`--out ${out.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: `), `--out ${out}`);
    assert.match(r.stderr, why, `--out ${out}`);
    assert.doesNotMatch(r.stderr, /no such results folder/);
  }
  // with real runs too (before the check, /proc/x spun at 100% CPU in mkdir): exit 2, nothing created
  const p = await holbench(['compare', A, A, '--out', '/proc/x'], process.cwd(), 20_000);
  assert.equal(p.code, 2, `exit ${p.code}: ${p.stderr}`);
  assert.match(p.stderr, /--out \/proc\/x: /);
  const r = await holbench(['compare', A, A, '--out', join(file, 'sub', 'deeper')], process.cwd(), 20_000);
  assert.equal(r.code, 2, r.stderr);
  assert.equal(readFileSync(file, 'utf8'), 'x');
});

test('compare: control characters from the CSV, run.json and folder names are escaped on the terminal', async () => {
  const ESC = '\x1b';
  const cell = `base${ESC}[31mRED`;
  const protocol = `h2\x07\u202e`;
  const run = runJson({ kernel: `6.1${ESC}]0;pwned\x07` });
  const SA = makeRun(`syn-A-${ESC}[2J`, [{ cell, protocol, page: BASE }]);
  const SB = makeRun('syn-B-esc', [{ cell, protocol, page: scaled(1.3) }], { run });
  for (const json of [false, true]) {
    const r = await holbench(['compare', SA, SB, '--out', join(tmp, 'out-esc'), ...(json ? ['--json'] : [])]);
    assert.equal(r.code, 1, r.stderr);
    assert.doesNotMatch(r.stdout, /[\x00-\x08\x0b-\x1f\x7f-\x9f\u202e]/, `${json ? 'JSON' : 'table'}: no raw control characters on stdout`);
    assert.doesNotMatch(r.stderr, /[\x00-\x08\x0b-\x1f\x7f-\x9f\u202e]/, 'none on stderr');
    assert.ok(r.stderr.includes('6.1\\x1b]0;pwned\\x07'), `kernel escaped in the warning: ${r.stderr}`);
    assert.ok(r.stderr.includes('base\\x1b[31mRED h2\\x07\\u202e'), `cell and protocol escaped in the regression list: ${r.stderr}`);
    if (json) {
      const res = JSON.parse(r.stdout);
      assert.equal(res.groups[0].cell, cell, 'JSON still carries the exact value');
      assert.equal(res.groups[0].protocol, protocol);
    } else {
      assert.ok(r.stdout.includes('base\\x1b[31mRED  h2\\x07\\u202e'), `table row escaped: ${r.stdout}`);
      assert.ok(r.stdout.includes('syn-A-\\x1b[2J'), 'folder name escaped');
    }
  }
  // the files keep the exact values
  assert.deepEqual(readCsv(join(tmp, 'out-esc', 'compare.csv')).map((x) => [x.cell, x.protocol]), [[cell, protocol]]);
  // a column name with control characters in the unknown-metric list
  const col = `evil${ESC}[5m_ms`;
  const CA = editedRun('syn-A-evilcol', (lines) => lines.map((l, i) => (i === 0 ? `${l},"${col}"` : l === '' ? l : `${l},${i}`)));
  const CB = editedRun('syn-B-evilcol', (lines) => lines.map((l, i) => (i === 0 ? `${l},"${col}"` : l === '' ? l : `${l},${i}`)));
  const u = await holbench(['compare', CA, CB, '--metric', `nope${ESC}[0m`]);
  assert.equal(u.code, 2);
  assert.ok(u.stderr.includes('evil\\x1b[5m_ms (lower is better)') && u.stderr.includes('"nope\\x1b[0m"'), u.stderr);
  assert.doesNotMatch(u.stderr, /\x1b/);
});

test('compare: an HTTP/1.x label that was cleartext in one run and TLS in the other is a provenance warning', () => {
  const rows = ['http1.1x6', 'http1.1x6-clear', 'h2'].map((protocol) => ({ cell: 'base', protocol }));
  const data = (protocols: unknown[]): RunData => ({ dir: '/x', name: 'x', run: runJson({ protocols }) as any, rows, columns: ['cell', 'protocol'] });
  const now = data([
    { label: 'http1.1x6', protocol: 'http1.1', connections: 6, tls: true, plugin: 'h1' },
    { label: 'http1.1x6-clear', protocol: 'http1.1', connections: 6, tls: false, plugin: 'h1-clear' },
    { label: 'h2', protocol: 'h2', connections: 1, tls: true, plugin: 'h2' },
  ]);
  // a run from before TLS for HTTP/1.x: labels only
  const old = data(['http1.1x6', 'http1.1x6-clear', 'h2']);
  assert.deepEqual(provenanceWarnings(old, now, ['base']), [
    'http1.1x6: TLS differs: A not recorded (cleartext if the run predates TLS for HTTP/1.x), B TLS',
    'http1.1x6-clear: TLS differs: A not recorded (cleartext if the run predates TLS for HTTP/1.x), B cleartext',
  ]);
  assert.deepEqual(provenanceWarnings(now, now, ['base']), []);
  assert.deepEqual(provenanceWarnings(old, old, ['base']), []);
});
