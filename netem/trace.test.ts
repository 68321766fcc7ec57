// Traces and the new network fields at scenario load: what is accepted, and bad input named
// by field, file and line (exit 2 from the CLI, nothing applied). No kernel needed.
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { holbench } from '../harness/testdata/cli.ts';
import { parseProfile, ProfileError } from './profile.ts';
import { loadTrace, parseTraceText, readTraceFile, resolveTracePath, TRACES_DIR, traceRateBps, TraceError } from './trace.ts';
import { helperConfig } from './backends/helper.ts';
import { tempDir } from '../proc/testdata/tmp.ts';

const profileIssues = (raw: unknown, opts = {}): string[] => {
  try {
    parseProfile(raw, 'network', opts);
  } catch (e) {
    if (e instanceof ProfileError) return e.issues.map((i) => `${i.path}: ${i.message}`);
    throw e;
  }
  return [];
};

test('Mahimahi semantics: repeated lines are several opportunities; the period is the last line', () => {
  const ms = parseTraceText('0\n1\n1\n4\n', 'x.trace');
  assert.deepEqual(ms, [0, 1, 1, 4]);
  // 4 opportunities every 4 ms = 12 Mbit/s, looping (the last line of one period and the
  // first of the next, 0, fall on the same ms: both count)
  assert.equal(traceRateBps(ms, 4, 8), 12e6);
  assert.equal(traceRateBps(ms, 0, 4), 9e6);
});

test('malformed traces: the error names the file and the line', () => {
  const cases: [string, RegExp][] = [
    ['1\n2\nabc\n', /bad\.trace line 3: expected a whole number of milliseconds, got "abc"/],
    ['5\n3\n', /bad\.trace line 2: 3 ms is earlier than the line before \(5 ms\)/],
    ['1\n-2\n', /bad\.trace line 2: expected a whole number/],
    ['1.5\n', /bad\.trace line 1: expected a whole number/],
    ['\n', /bad\.trace line 1: expected a whole number/],
    ['', /bad\.trace line 1: the trace is empty/],
    ['0\n0\n', /bad\.trace line 2: the last timestamp must be > 0 ms/],
    ['1\n\n2\n', /bad\.trace line 2: expected a whole number/],
  ];
  for (const [text, re] of cases) assert.throws(() => parseTraceText(text, 'bad.trace'), (e: unknown) => e instanceof TraceError && re.test(e.message), JSON.stringify(text));
});

test('shipped traces load and offer the rates their names say', () => {
  const step = readTraceFile(join(TRACES_DIR, 'step-12-3.trace'));
  assert.equal(step.at(-1), 15_000);
  for (const [from, to, mbps] of [[0, 5000, 12], [5001, 10001, 3], [10001, 15000, 12]] as const) {
    assert.ok(Math.abs(traceRateBps(step, from, to) / 1e6 - mbps) < 0.05, `${from}-${to} ms`);
  }
  const cell = loadTrace('onoff-cellular.trace');
  assert.ok(cell.meanRateBps > 3e6 && cell.meanRateBps < 15e6, String(cell.meanRateBps));
  const ms = readTraceFile(cell.file);
  // on/off: some 100 ms windows deliver nothing at all
  let offWindows = 0;
  for (let t = 0; t + 100 <= cell.periodMs; t += 100) if (traceRateBps(ms, t, t + 100) === 0) offWindows++;
  assert.ok(offWindows >= 5, `${offWindows} silent 100 ms windows`);
});

test('trace paths: relative to the scenario folder first, then netem/traces/', async () => {
  const dir = await tempDir('holbench-trace-');
  await writeFile(join(dir, 'mine.trace'), '1\n2\n');
  assert.equal(resolveTracePath('mine.trace', dir), join(dir, 'mine.trace'));
  assert.equal(resolveTracePath('step-12-3.trace', dir), join(TRACES_DIR, 'step-12-3.trace'));
  const p = parseProfile({ delay_ms: 5, downlink: { trace: 'mine.trace' } }, 'network', { baseDir: dir });
  assert.equal(p.downlink.trace?.file, join(dir, 'mine.trace'));
  assert.equal(p.downlink.trace?.meanRateBps, 12e6);
  assert.equal(p.uplink.trace, null);
  // the helper gets the path percent-encoded (no spaces on its command line)
  assert.match(helperConfig(p).downlink, new RegExp(`trace=${encodeURIComponent(join(dir, 'mine.trace')).replace(/[.]/g, '\\.')} `));
  assert.match(helperConfig(p).uplink, / trace=none /);
});

test('new fields: normalized values, and the helper command carries them', () => {
  const p = parseProfile({
    delay_ms: 10,
    rate_bps: '10mbit',
    queue_bytes: 30000,
    queue_ms: 20,
    aqm: { kind: 'codel', target_ms: 2, interval_ms: 50 },
    reorder_pct: 5,
    reorder_gap: 3,
    loss_burst: { mean_good_ms: 1000, mean_bad_ms: 40, loss_in_bad_pct: 80 },
  });
  assert.deepEqual(p.uplink.loss, { kind: 'burst', meanGoodMs: 1000, meanBadMs: 40, lossInBadPct: 80, lossInGoodPct: 0 });
  assert.deepEqual(p.uplink.aqm, { kind: 'codel', targetMs: 2, intervalMs: 50 });
  const cmd = helperConfig(p).uplink;
  for (const kv of ['loss=burst:1000000:40000:80:0', 'limit_bytes=30000', 'limit_us=20000', 'aqm=codel:2000:50000', 'reorder_pct=5', 'reorder_gap=3']) assert.ok(cmd.includes(` ${kv} `), `${kv} in ${cmd}`);
  assert.deepEqual(parseProfile({ rate_bps: '10mbit', aqm: 'codel' }).uplink.aqm, { kind: 'codel', targetMs: 5, intervalMs: 100 });
});

test('bad combinations are named by field', () => {
  const cases: [unknown, RegExp][] = [
    [{ rate_bps: '10mbit', trace: 'step-12-3.trace' }, /^network\.trace: set either rate_bps or trace/],
    [{ trace: 'no-such.trace' }, /^network\.trace: trace \S*no-such\.trace: cannot read it/],
    [{ queue_bytes: 30000 }, /^network\.queue_bytes: queue_bytes needs rate_bps or trace/],
    [{ queue_bytes: 1000, rate_bps: '1mbit' }, /^network\.queue_bytes: Too small/i],
    [{ queue_ms: 0, rate_bps: '1mbit' }, /^network\.queue_ms: Too small/i],
    [{ aqm: 'codel' }, /^network\.aqm: aqm needs rate_bps or trace/],
    [{ rate_bps: '1mbit', aqm: { kind: 'codel', target_ms: 100, interval_ms: 50 } }, /^network\.aqm: codel target_ms \(100\) must be below interval_ms \(50\)/],
    [{ rate_bps: '1mbit', aqm: 'red' }, /^network\.aqm: /],
    [{ reorder_pct: 5 }, /^network\.reorder_pct: reorder_pct needs delay_ms > 0/],
    [{ loss_pct: 1, loss_burst: { mean_good_ms: 100, mean_bad_ms: 10 } }, /^network\.loss_burst: set one loss model/],
    [{ loss_burst: { mean_good_ms: 100 } }, /^network\.loss_burst\.mean_bad_ms: /],
    [{ downlink: { rate_bps: '1mbit', trace: 'step-12-3.trace' } }, /^network\.downlink\.trace: set either rate_bps or trace/],
  ];
  for (const [raw, re] of cases) {
    const issues = profileIssues(raw);
    assert.ok(issues.some((i) => re.test(i)), `${JSON.stringify(raw)} -> ${JSON.stringify(issues)}`);
  }
  // an override replaces the shared kind instead of clashing with it
  assert.deepEqual(profileIssues({ trace: 'step-12-3.trace', uplink: { rate_bps: '5mbit' } }), []);
  assert.deepEqual(profileIssues({ loss_pct: 1, uplink: { loss_burst: { mean_good_ms: 100, mean_bad_ms: 10 } } }), []);
});

test('CLI: a malformed trace exits 2 naming the field, the file and the line; nothing runs', async () => {
  const dir = await tempDir('holbench-trace-cli-');
  await writeFile(join(dir, 'broken.trace'), '1\n2\n2\nx7\n');
  const f = join(dir, 'bad.yaml');
  const head = 'protocols: [h2]\nworkload: {kind: page, objects: 1, object_bytes: 1}\nnetwork:\n  delay_ms: 5\n';
  await writeFile(f, `${head}  downlink: {trace: broken.trace}\n`);
  const v = await holbench(['validate', f], { timeoutMs: 60_000 });
  assert.equal(v.code, 2, v.stderr);
  assert.match(v.stderr, /5:\d+ network\.downlink\.trace: trace \S*broken\.trace line 4: expected a whole number of milliseconds, got "x7"/);
  // an impossible queue: smaller than one full-size packet
  const g = join(dir, 'queue.yaml');
  await writeFile(g, `${head}  uplink: {rate_bps: 1mbit, queue_bytes: 100}\n`);
  const q = await holbench(['validate', g], { timeoutMs: 60_000 });
  assert.equal(q.code, 2, q.stderr);
  assert.match(q.stderr, /5:\d+ network\.uplink\.queue_bytes: Too small: expected number to be >=1500/);
  const r = await holbench(['run', f, '--out', join(dir, 'out')], { timeoutMs: 60_000 });
  assert.equal(r.code, 2, r.stderr);
  assert.match(r.stderr, /broken\.trace line 4/);
  assert.match(r.stderr, /nothing was changed/);
});
