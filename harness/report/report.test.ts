// End-to-end tests of the report: synthetic results dir -> buildReport -> files checked
// on disk (PNG signature, SVG parses, specs compile) and index.html opened in headless
// Chromium (no console errors, no network, charts visible, provenance present).
// HOLBENCH_KEEP_REPORT=1 keeps the temp dirs (and the screenshot) for a look.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Resvg } from '@resvg/resvg-js';
import { CsvFormatError, parseCsv, parseCsvStrict } from './csv.ts';
import { quietChromiumArgs } from '../drivers/chromium.ts';
import { buildReport, defaultReportDir } from './index.ts';
import { loadResults } from './load.ts';
import { compileVegaLite, prefixSvgIds } from './render.ts';
import { writeSyntheticMessagesResults, writeSyntheticResults } from './synthetic.ts';
import { buildFindings, type Findings } from './findings.ts';
import { jobSeed } from '../../netem/seed.ts';
import { main as cliMain } from './cli.ts';
import { tempDirSync } from '../../proc/testdata/tmp.ts';

const CHROMIUM = '/usr/bin/chromium';
const keep = process.env.HOLBENCH_KEEP_REPORT === '1';
const root = tempDirSync('holbench-report-');
after(() => {
  if (keep) console.log(`# kept ${root}`);
  else rmSync(root, { recursive: true, force: true });
});

const PNG_SIG = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

/** Small run: http1.1x6 / h2 / h3, loss 0 and 2 %, RTT 50 ms, 20 Mbit/s, 3 reps, chunks + drops. */
const small = (() => {
  const resultsDir = join(root, 'results', 'synthetic-hol-20260101T120000Z');
  writeSyntheticResults(resultsDir, { protocols: ['http1.1x6', 'h2', 'h3'], lossPcts: [0, 2], reps: 3, objects: 20 });
  return { resultsDir, reportDir: join(root, 'reports', basename(resultsDir)) };
})();
let built: Awaited<ReturnType<typeof buildReport>> | undefined;
async function smallReport() {
  built ??= await buildReport(small.resultsDir, small.reportDir);
  return built;
}

test('csv parser: quotes, commas, newlines, CRLF, empty fields', () => {
  const rows = parseCsv('a,b,c\r\n1,"x,y","he said ""hi"""\r\n2,,"multi\nline"\r\n3\r\n');
  assert.deepEqual(rows, [
    { a: '1', b: 'x,y', c: 'he said "hi"' },
    { a: '2', b: '', c: 'multi\nline' },
    { a: '3', b: '', c: '' },
  ]);
  assert.deepEqual(parseCsv('a,b\n1,\n'), [{ a: '1', b: '' }]);
});

test('strict csv parser: ragged rows, bad header names and garbage fail with the line; __proto__ is a column', () => {
  assert.deepEqual(parseCsvStrict('a,b\r\n1,"x,\ny"\r\n\r\n3,4\r\n'), { columns: ['a', 'b'], rows: [{ a: '1', b: 'x,\ny' }, { a: '3', b: '4' }] });
  const bad: [string, number, RegExp][] = [
    ['a,b,c\n1,2,3\n4,5\n', 3, /2 fields, the header has 3/],
    ['a,b\n1,2\n\n3,4,5\n', 4, /3 fields, the header has 2/],
    ['a,a\n1,2\n', 1, /column "a" twice/],
    ['a,,c\n1,2,3\n', 1, /header field 2 is empty/],
    ['a,b\n"1,2\n', 2, /not valid CSV: Quote Not Closed \(CSV_QUOTE_NOT_CLOSED\)/],
    ['a,b\n1,2\n3\u0000,4\n', 3, /binary data/],
  ];
  for (const [text, line, why] of bad) {
    assert.throws(() => parseCsvStrict(text), (e: unknown) => e instanceof CsvFormatError && e.line === line && why.test(e.reason), JSON.stringify(text));
  }
  const proto = parseCsvStrict('__proto__,constructor\n1,2\n');
  assert.deepEqual(proto.columns, ['__proto__', 'constructor']);
  assert.deepEqual(Object.keys(proto.rows[0]!), ['__proto__', 'constructor']);
  assert.equal(proto.rows[0]!['__proto__'], '1');
});

test('prefixSvgIds makes clip-path ids unique per chart', () => {
  const svg = '<svg><defs><clipPath id="clip1"><rect/></clipPath></defs><g clip-path="url(#clip1)"/><use href="#clip1"/><a href="#other"/></svg>';
  const out = prefixSvgIds(svg, 'c-');
  assert.ok(out.includes('id="c-clip1"') && out.includes('url(#c-clip1)') && out.includes('href="#c-clip1"') && out.includes('href="#other"'));
});

test('defaultReportDir maps results/<name> to reports/<name>', () => {
  assert.equal(defaultReportDir('/x/results/run-1'), '/x/reports/run-1');
});

test('buildReport writes specs, SVGs, PNGs and index.html for a page run', async () => {
  const r = await smallReport();
  const made = r.charts.filter((c) => !c.skipped).map((c) => c.id);
  assert.deepEqual(made, ['page-time', 'page-vs-loss', 'object-completion', 'stream-timeline', 'co-stall', 'connections-used']);
  const skipped = Object.fromEntries(r.charts.filter((c) => c.skipped).map((c) => [c.id, c.skipped]));
  assert.match(skipped['h3-vs-h2-heatmap']!, /RTT/);
  assert.match(skipped['latency-percentiles']!, /load/);
  for (const id of ['message-latency', 'message-latency-loss', 'wire-bytes-per-message', 'dead-peer-detection', 'recovery']) assert.match(skipped[id] ?? '', /messages-workload runs/, `${id} skipped with a reason`);
  assert.equal(r.files[r.files.length - 1], join(small.reportDir, 'index.html'));
  for (const id of made) {
    for (const ext of ['vl.json', 'svg', 'png']) assert.ok(r.files.includes(join(small.reportDir, `${id}.${ext}`)), `${id}.${ext} listed`);
    // PNG: signature and a sane size
    const png = readFileSync(join(small.reportDir, `${id}.png`));
    assert.ok(png.subarray(0, 8).equals(PNG_SIG), `${id}.png signature`);
    assert.ok(png.length > 10_000, `${id}.png has content`);
    // SVG: parses (resvg is a strict parser), has a size and states its setup in the title
    const svg = readFileSync(join(small.reportDir, `${id}.svg`), 'utf8');
    const parsed = new Resvg(svg);
    assert.ok(parsed.width > 200 && parsed.height > 150, `${id}.svg size ${parsed.width}x${parsed.height}`);
    assert.match(svg, /RTT 50 ms/, `${id}.svg title states the RTT`);
    assert.ok(!svg.includes('…'), `${id}.svg has no truncated labels`);
    // spec: valid Vega-Lite that compiles without warnings
    const spec = JSON.parse(readFileSync(join(small.reportDir, `${id}.vl.json`), 'utf8'));
    assert.match(spec.$schema, /vega-lite/);
    const { warnings } = compileVegaLite(spec, id);
    assert.deepEqual(warnings, [], `${id} compiles cleanly`);
  }
  assert.match(readFileSync(join(small.reportDir, 'page-time.svg'), 'utf8'), /Page load time by protocol/);
  assert.match(readFileSync(join(small.reportDir, 'stream-timeline.svg'), 'utf8'), /h2 vs h3/);
  const conns = readFileSync(join(small.reportDir, 'connections-used.svg'), 'utf8');
  for (const s of ['http1.1x6', 'h2', 'h3', 'connections opened', 'connections accepted']) assert.ok(conns.includes(s), `connections-used.svg shows ${s}`);
  assert.match(readFileSync(join(small.reportDir, 'index.html'), 'utf8'), /Measured here, client side, mean per run: http1\.1x6 6 \(20 requests\); h2 1/);
  const html = readFileSync(join(small.reportDir, 'index.html'), 'utf8');
  // findings first, charts next, provenance last; findings.json / findings.md hold the same sentences
  const at = (id: string) => html.indexOf(`<h2 id="${id}">`);
  const sections = ['findings', 'charts', 'emulation', 'summary', 'provenance'];
  assert.ok(sections.every((id) => at(id) > 0), 'every section present');
  assert.deepEqual([...sections].sort((x, y) => at(x) - at(y)), sections, 'page order');
  assert.equal(html.lastIndexOf('<h2'), at('provenance'), 'provenance is the last section');
  assert.ok(html.indexOf('<figure') > at('charts') && html.indexOf('<figure') < at('emulation'), 'the charts sit in their section');
  for (const f of ['findings.json', 'findings.md']) assert.ok(r.files.includes(join(small.reportDir, f)), `${f} listed`);
  const findings = JSON.parse(readFileSync(join(small.reportDir, 'findings.json'), 'utf8')) as Findings;
  const texts = findings.cells.flatMap((c) => c.findings.map((x) => x.text));
  assert.equal(texts.length, 2 * 2, '2 cells x (h3 vs h2, h2 vs http1.1x6)');
  const md = readFileSync(join(small.reportDir, 'findings.md'), 'utf8');
  for (const t of texts) {
    assert.match(t, /^(h3 page time .* vs h2|h2 page time .* vs http1\.1x6) \[.*\], paired, n=3 · \d% loss · RTT 50 ms · 20 Mbit\/s$/);
    assert.ok(md.includes(`- ${t}\n`), `findings.md has "${t}"`);
    const li = html.indexOf(`<li>${t}</li>`);
    assert.ok(li > at('findings') && li < at('charts'), `the page lists "${t}" under Findings`);
  }
  assert.ok(!/<script|https?:\/\//i.test(html.replace(/xmlns(:xlink)?="http:\/\/www\.w3\.org\/[^"]*"/g, '').replace(/"\$schema": "https:[^"]*"/g, '')), 'no scripts, no remote URLs');
});

test('grid run (loss x RTT, load workload, a failed run) gets heatmap and latency charts', async () => {
  const resultsDir = join(root, 'results', 'grid-20260101T120000Z');
  writeSyntheticResults(resultsDir, { lossPcts: [0, 1, 3], rttMs: [20, 80], reps: 3, load: true, objects: 12, drops: false });
  const r = await buildReport(resultsDir, join(root, 'reports', 'grid'), { png: false });
  const made = r.charts.filter((c) => !c.skipped).map((c) => c.id);
  for (const id of ['h3-vs-h2-heatmap', 'latency-percentiles', 'stream-timeline']) assert.ok(made.includes(id), id);
  assert.ok(!r.files.some((f) => f.endsWith('.png')), 'png: false writes no PNG');
  assert.ok(r.notes.some((n) => /did not succeed/.test(n)), 'failed runs are noted');
  const html = readFileSync(join(root, 'reports', 'grid', 'index.html'), 'utf8');
  assert.match(html, /class="st-failed"/);
  assert.match(html, /timeout: 12 of 2000 requests/);
});

test('synthetic runs carry job seeds: exact pairing gives paired findings, inexact unpaired (noted), none no seeds', () => {
  const seen: Record<string, Findings> = {};
  for (const pairing of ['exact', 'inexact', 'none'] as const) {
    const dir = join(root, 'results', `seeds-${pairing}`);
    writeSyntheticResults(dir, { protocols: ['h2', 'h3'], lossPcts: [2], reps: 4, objects: 8, drops: false, pairing });
    const res = loadResults(dir, `seeds-${pairing}`);
    assert.equal(res.summary.length, 2 * 4);
    for (const r of res.summary) assert.equal(r.seed, pairing === 'none' ? null : jobSeed(42, r.cell, r.rep), `${pairing} ${r.protocol} rep ${r.rep}`);
    assert.equal(res.run.pairing?.exact, pairing === 'none' ? undefined : pairing === 'exact');
    seen[pairing] = buildFindings(res.summaryRaw, res.run, res.name);
  }
  const one = (p: string) => seen[p]!.cells[0]!.findings;
  assert.equal(one('exact').length, 1);
  assert.match(one('exact')[0]!.text, /^h3 page time .* vs h2 \[.*\], paired, n=4 · 2% loss/);
  assert.match(one('inexact')[0]!.text, /, unpaired, n=4 · /);
  assert.match(seen.inexact!.notes[0]!, /could not reseed the impairment exactly \(netem: this tc has no seed option/);
  assert.match(one('none')[0]!.text, /, unpaired, n=4 · /);
  assert.match(seen.none!.notes[0]!, /records no pairing/);
});

test('tolerates missing chunks.csv, drops.csv and run.json', async () => {
  const resultsDir = join(root, 'results', 'bare');
  writeSyntheticResults(resultsDir, { protocols: ['h2', 'h3'], lossPcts: [1], reps: 2, objects: 6, drops: false });
  unlinkSync(join(resultsDir, 'chunks.csv'));
  unlinkSync(join(resultsDir, 'run.json'));
  const r = await buildReport(resultsDir, join(root, 'reports', 'bare'), { png: false });
  assert.match(r.charts.find((c) => c.id === 'stream-timeline')!.skipped!, /chunks/);
  assert.ok(r.notes.some((n) => n.includes('chunks.csv')) && r.notes.some((n) => n.includes('run.json')));
  assert.ok(existsSync(join(root, 'reports', 'bare', 'index.html')));
  await assert.rejects(buildReport(join(root, 'nothing-here'), join(root, 'reports', 'nothing')), /no summary.csv or requests.csv/);
});

/** Renders and checks one chart the way the page-run test does (files, PNG, SVG, spec). */
function checkChart(reportDir: string, files: string[], id: string, png = true): string {
  for (const ext of ['vl.json', 'svg', ...(png ? ['png'] : [])]) assert.ok(files.includes(join(reportDir, `${id}.${ext}`)), `${id}.${ext} listed`);
  if (png) assert.ok(readFileSync(join(reportDir, `${id}.png`)).subarray(0, 8).equals(PNG_SIG), `${id}.png signature`);
  const svg = readFileSync(join(reportDir, `${id}.svg`), 'utf8');
  const parsed = new Resvg(svg);
  assert.ok(parsed.width > 200 && parsed.height > 150, `${id}.svg size ${parsed.width}x${parsed.height}`);
  assert.match(svg, /RTT 50 ms/, `${id}.svg title states the RTT`);
  assert.ok(!svg.includes('…'), `${id}.svg has no truncated labels`);
  const spec = JSON.parse(readFileSync(join(reportDir, `${id}.vl.json`), 'utf8'));
  assert.deepEqual(compileVegaLite(spec, id).warnings, [], `${id} compiles cleanly`);
  return svg;
}

const MESSAGE_CHARTS = ['message-latency', 'message-latency-loss', 'wire-bytes-per-message', 'dead-peer-detection', 'recovery', 'connections-used'];

test('messages run (push, outage cell): latency CDF, wire bytes, detection, recovery, connections', async () => {
  const resultsDir = join(root, 'results', 'messages-push');
  const reportDir = join(root, 'reports', 'messages-push');
  const push = ['ws', 'sse', 'longpoll', 'grpc-stream'];
  writeSyntheticMessagesResults(resultsDir, { protocols: push, reps: 3 });
  const r = await buildReport(resultsDir, reportDir);
  assert.deepEqual(r.charts.filter((c) => !c.skipped).map((c) => c.id), MESSAGE_CHARTS);
  assert.match(r.charts.find((c) => c.id === 'page-time')!.skipped!, /page-workload/);
  assert.deepEqual(r.notes, []);
  const svgs = Object.fromEntries(MESSAGE_CHARTS.map((id) => [id, checkChart(reportDir, r.files, id)]));
  for (const id of MESSAGE_CHARTS) for (const p of push) assert.ok(svgs[id]!.includes(p), `${id}.svg names ${p}`);
  // latency: a CDF from messages.csv on a log axis, y against messages sent
  const lat = JSON.parse(readFileSync(join(reportDir, 'message-latency.vl.json'), 'utf8'));
  assert.equal(lat.spec.encoding.x.scale.type, 'log');
  assert.ok(lat.data.values.length > 100 && lat.data.values.every((v: { frac: number }) => v.frac > 0 && v.frac <= 1));
  assert.match(svgs['message-latency']!, /One-way message latency \(push\)/);
  // grpc-stream lost 3 of 1500 in the outage cell: its line ends below 100%
  const gs = lat.data.values.filter((v: { protocol: string; condition: string }) => v.protocol === 'grpc-stream' && v.condition.includes('outage 3–8 s'));
  assert.ok(Math.abs(Math.max(...gs.map((v: { frac: number }) => v.frac)) - 1497 / 1500) < 1e-9);
  // p50 / p99 / lost per protocol and cell: grpc-stream's 3 lost in the outage cell
  const ll = JSON.parse(readFileSync(join(reportDir, 'message-latency-loss.vl.json'), 'utf8'));
  const llAgg = ll.data.values.filter((v: { kind: string }) => v.kind === 'agg');
  assert.deepEqual([...new Set(llAgg.map((v: { metric: string }) => v.metric))], ['p50 latency (ms)', 'p99 latency (ms)', 'messages lost per run']);
  const gsLost = llAgg.find((v: { protocol: string; metric: string; condition: string }) => v.protocol === 'grpc-stream' && v.metric === 'messages lost per run' && v.condition.includes('outage 3–8 s'));
  assert.equal(gsLost.value, 1, 'mean of 3 lost over 3 repetitions');
  assert.match(svgs['message-latency-loss']!, /messages lost per run/);
  // wire bytes: the payload line and both directions
  assert.match(svgs['wire-bytes-per-message']!, /payload 64 B/);
  assert.match(svgs['wire-bytes-per-message']!, /downlink \(server → client\)/);
  // detection: only the outage cell; the undetected runs are drawn and labelled, not dropped
  const det = JSON.parse(readFileSync(join(reportDir, 'dead-peer-detection.vl.json'), 'utf8'));
  const points = det.data.values.filter((v: { kind: string }) => v.kind === 'point');
  assert.equal(points.length, push.length * 3 * 2, 'one mark per protocol x rep x side');
  assert.ok(points.every((p: { cell: string }) => p.cell === 'loss_pct=0,outage=3-8s'), 'only the outage cell');
  const missed = points.filter((p: { detected: boolean }) => !p.detected);
  assert.equal(missed.length, 3 + 3 + 1, 'sse and longpoll servers never, the longpoll client once');
  assert.ok(missed.every((p: { x: number; what: string }) => p.x > 1000 && /not detected within the run/.test(p.what)));
  for (const s of ['client: ws-ping', 'server: not detected within the run', 'client: error:ETIMEDOUT; 1 of 3 not detected within the run', 'outage 3–8 s']) {
    assert.ok(svgs['dead-peer-detection']!.includes(s), `dead-peer-detection.svg shows "${s}"`);
  }
  // recovery: only the outage cell, lost and duplicated per protocol
  const rec = JSON.parse(readFileSync(join(reportDir, 'recovery.vl.json'), 'utf8'));
  const agg = rec.data.values.filter((v: { kind: string }) => v.kind === 'agg');
  assert.equal(agg.length, push.length * 2);
  assert.equal(agg.find((v: { protocol: string; what: string }) => v.protocol === 'grpc-stream' && v.what === 'lost').total, 3);
  assert.equal(agg.find((v: { protocol: string; what: string }) => v.protocol === 'sse' && v.what === 'duplicated').total, 2);
  assert.match(svgs.recovery!, /goal: zero lost/);
  const html = readFileSync(join(reportDir, 'index.html'), 'utf8');
  assert.match(html, /The goal is zero lost/);
  assert.match(html, /ws 1\.33 \(0\.3 reconnects\)/);
});

test('echo run without messages.csv: latency from summary percentiles; detection and recovery from summary', async () => {
  const resultsDir = join(root, 'results', 'messages-echo');
  const reportDir = join(root, 'reports', 'messages-echo');
  const echo = ['ws', 'grpc-unary', 'grpc-bidi'];
  writeSyntheticMessagesResults(resultsDir, { pattern: 'echo', protocols: echo, reps: 2, messages: 200, messagesCsv: false });
  const r = await buildReport(resultsDir, reportDir, { png: false });
  assert.deepEqual(r.charts.filter((c) => !c.skipped).map((c) => c.id), MESSAGE_CHARTS);
  assert.ok(r.notes.some((n) => n.includes('messages.csv')), 'missing messages.csv is noted');
  const svgs = Object.fromEntries(MESSAGE_CHARTS.map((id) => [id, checkChart(reportDir, r.files, id, false)]));
  for (const id of MESSAGE_CHARTS) for (const p of echo) assert.ok(svgs[id]!.includes(p), `${id}.svg names ${p}`);
  assert.match(svgs['message-latency']!, /Round-trip message latency \(echo\)/);
  assert.match(svgs['message-latency']!, /no messages\.csv/);
  assert.match(svgs['message-latency']!, /p99/);
  // echo: the payload crosses twice
  assert.match(svgs['wire-bytes-per-message']!, /payload 128 B/);
  // without messages.csv the job's end is duration_s (30 s) - outage start (3 s)
  const det = JSON.parse(readFileSync(join(reportDir, 'dead-peer-detection.vl.json'), 'utf8'));
  const missed = det.data.values.filter((v: { kind: string; detected: boolean }) => v.kind === 'point' && !v.detected);
  assert.ok(missed.length > 0 && missed.every((p: { x: number }) => p.x === 27_000));
});

test('messages run without run.json: outage cells fall back to cells with a recorded detection', async () => {
  const resultsDir = join(root, 'results', 'messages-bare');
  writeSyntheticMessagesResults(resultsDir, { protocols: ['ws', 'sse'], reps: 2, messages: 100, lossPcts: [0] });
  unlinkSync(join(resultsDir, 'run.json'));
  const r = await buildReport(resultsDir, join(root, 'reports', 'messages-bare'), { png: false });
  assert.deepEqual(r.charts.filter((c) => !c.skipped).map((c) => c.id), MESSAGE_CHARTS);
  const det = JSON.parse(readFileSync(join(root, 'reports', 'messages-bare', 'dead-peer-detection.vl.json'), 'utf8'));
  const points = det.data.values.filter((v: { kind: string }) => v.kind === 'point');
  assert.equal(points.length, 2 * 2 * 2);
  assert.ok(points.some((p: { detected: boolean }) => !p.detected), 'sse server: not detected, still drawn');
  // without run.json there is no message size: no payload line, said in the subtitle
  assert.match(readFileSync(join(root, 'reports', 'messages-bare', 'wire-bytes-per-message.svg'), 'utf8'), /message size unknown/);
});

test('loadResults: a results folder from before the messaging columns reads them as null / empty', () => {
  const res = loadResults(small.resultsDir, 'old');
  assert.ok(res.summary.length > 0);
  for (const r of res.summary) {
    assert.equal(r.msgs_sent, null);
    assert.equal(r.wire_bytes_per_msg, null);
    assert.equal(r.detect_ms_client, null);
    assert.equal(r.detect_mech_client, '');
    assert.equal(typeof r.connections_used, 'number');
  }
  assert.deepEqual(res.messages, []);
  assert.ok(!res.missing.includes('messages.csv'), 'messages.csv is not expected for a page run');
  const dir = join(root, 'results', 'messages-load');
  writeSyntheticMessagesResults(dir, { protocols: ['ws'], reps: 1, messages: 50 });
  const msg = loadResults(dir, 'push');
  assert.ok(msg.messages.length > 0 && msg.messages.every((m) => Number.isFinite(m.latency_ms) && (m.dup === 0 || m.dup === 1)));
  const row = msg.summary.find((r) => r.protocol === 'ws' && r.cell.includes('outage'))!;
  assert.equal(row.detect_mech_client, 'ws-ping');
  assert.ok(row.detect_ms_client! > 2000 && row.msgs_received === 50);
});

test('CLI: bad flags exit 2, a run exits 0', async () => {
  const err = console.error;
  const log = console.log;
  console.error = () => {};
  console.log = () => {};
  try {
    assert.equal(await cliMain(['--bogus']), 2);
    assert.equal(await cliMain([small.resultsDir, join(root, 'reports', 'cli'), '--timeline-rep', 'x']), 2);
    assert.equal(await cliMain([small.resultsDir, join(root, 'reports', 'cli'), '--no-png', '--timeline-rep', '2']), 0);
  } finally {
    console.error = err;
    console.log = log;
  }
  assert.ok(existsSync(join(root, 'reports', 'cli', 'index.html')));
  assert.ok(!existsSync(join(root, 'reports', 'cli', 'page-time.png')));
  assert.match(readFileSync(join(root, 'reports', 'cli', 'stream-timeline.svg'), 'utf8'), /rep 2/);
});

test('index.html renders offline in headless Chromium', async (t) => {
  if (!existsSync(CHROMIUM)) {
    t.skip(`no Chromium at ${CHROMIUM}`);
    return;
  }
  const { chromium } = await import('playwright-core');
  await smallReport();
  const profile = mkdtempSync(join(root, 'chromium-profile-'));
  // a fresh profile dir (playwright wants it as userDataDir, not as --user-data-dir)
  const browser = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    viewport: { width: 1400, height: 900 },
    args: ['--headless', '--disable-quic', ...quietChromiumArgs([])],
  });
  try {
    const page = await browser.newPage();
    const consoleErrors: string[] = [];
    const requests: string[] = [];
    page.on('console', (m) => {
      if (m.type() === 'error' || m.type() === 'warning') consoleErrors.push(`${m.type()}: ${m.text()}`);
    });
    page.on('pageerror', (e) => consoleErrors.push(`pageerror: ${e.message}`));
    page.on('request', (r) => requests.push(r.url()));
    const url = pathToFileURL(join(small.reportDir, 'index.html')).href;
    await page.goto(url, { waitUntil: 'load' });
    assert.deepEqual(consoleErrors, []);
    assert.deepEqual(requests.filter((u) => !u.startsWith('file://')), [], 'only local file requests');
    const sizes = await page.$$eval('figure svg', (els) => els.map((e) => {
      const b = e.getBoundingClientRect();
      return [b.width, b.height];
    }));
    assert.equal(sizes.length, 6);
    for (const [w, h] of sizes) assert.ok(w! > 200 && h! > 150, `svg ${w}x${h}`);
    const text = await page.innerText('body');
    for (const s of ['Findings', 'h3 page time', 'Provenance', 'helper', '6.1.0-synthetic', 'cubic', 'synthetic-hol', 'Emulation check', 'Summary']) assert.ok(text.includes(s), `page shows ${s}`);
    assert.ok(text.indexOf('Findings') < text.indexOf('Provenance'), 'findings before provenance on the rendered page');
    // synthetic run.json records the Node that wrote it (process.version), whichever it is
    assert.match(text, new RegExp(`version: node\\s+${process.version.replace(/\./g, '\\.')}(\\s|$)`));
    const shot = join(root, 'index.png');
    await page.screenshot({ path: shot, fullPage: true });
    assert.ok(readFileSync(shot).subarray(0, 8).equals(PNG_SIG));
    t.diagnostic(`screenshot: ${shot}`);
  } finally {
    await browser.close();
  }
});

test('loss-stalls chart: only with capture rows; titled with each protocol\'s worst loss for one repetition', async () => {
  // without stalls-by-loss.csv (no capture) the chart says why it is missing
  const r0 = await smallReport();
  assert.match(r0.charts.find((c) => c.id === 'loss-stalls')!.skipped!, /--capture/);
  // hand-made capture rows for the 2 % cell: rep 2 has h2 and h3, rep 1 only h2
  const dir = join(root, 'results', 'synthetic-capture-20260101T120000Z');
  writeSyntheticResults(dir, { protocols: ['http1.1x6', 'h2', 'h3'], lossPcts: [0, 2], reps: 3, objects: 20 });
  const cell = loadResults(dir, 'x').summary.find((s) => s.loss_pct === 2)!.cell;
  const row = (protocol: string, rep: number, t_ms: number, streams: number, max: number, direction = 'downlink') =>
    [cell, protocol, rep, 'drop', t_ms, direction, 40000, streams, streams * max, max, 0, 0].map((v) => (String(v).includes(',') ? `"${v}"` : v)).join(',');
  const rows = [
    row('h2', 1, 100, 5, 50),
    row('h2', 2, 120, 17, 180),
    row('h2', 2, 300, 3, 40),
    row('h2', 2, 310, 0, 0, 'uplink'),
    row('h3', 2, 130, 1, 60),
    row('h3', 2, 200, 0, 0),
  ];
  const header = 'cell,protocol,rep,source,t_ms,direction,client_port,streams_stalled,blocked_ms_total,blocked_ms_max,cross_ms_total,cross_streams';
  writeFileSync(join(dir, 'stalls-by-loss.csv'), [header, ...rows].join('\n') + '\n');
  const out = join(root, 'reports', 'synthetic-capture');
  const r = await buildReport(dir, out, { png: false });
  assert.ok(!r.charts.find((c) => c.id === 'loss-stalls')!.skipped, 'drawn with capture rows');
  const spec = JSON.parse(readFileSync(join(out, 'loss-stalls.vl.json'), 'utf8'));
  assert.deepEqual(compileVegaLite(spec, 'loss-stalls').warnings, []);
  // one repetition (the first with both protocols), every loss of it a mark
  const values = spec.data.values as { protocol: string; streams: number }[];
  assert.equal(values.length, 5, 'rep 2: 3 h2 losses and 2 h3 losses; rep 1 not drawn');
  assert.deepEqual(values.filter((v) => v.protocol === 'h2').map((v) => v.streams), [17, 3, 0]);
  const svg = readFileSync(join(out, 'loss-stalls.svg'), 'utf8');
  assert.match(svg, /One loss: 17 streams stalled up to 180 ms on h2; 1 stream stalled up to 60 ms on h3/);
  assert.match(svg, /repetition 2/);
});
