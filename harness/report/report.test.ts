// End-to-end tests of the report: synthetic results dir -> buildReport -> files checked
// on disk (PNG signature, SVG parses, specs compile) and index.html opened in headless
// Chromium (no console errors, no network, charts visible, provenance present).
// HOLBENCH_KEEP_REPORT=1 keeps the temp dirs (and the screenshot) for a look.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, unlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Resvg } from '@resvg/resvg-js';
import { parseCsv } from './csv.ts';
import { buildReport, defaultReportDir } from './index.ts';
import { compileVegaLite, prefixSvgIds } from './render.ts';
import { writeSyntheticResults } from './synthetic.ts';
import { main as cliMain } from './cli.ts';

const CHROMIUM = '/usr/bin/chromium';
const keep = process.env.HOLBENCH_KEEP_REPORT === '1';
const root = mkdtempSync(join(tmpdir(), 'holbench-report-'));
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
  assert.deepEqual(made, ['page-time', 'page-vs-loss', 'object-completion', 'stream-timeline', 'co-stall']);
  const skipped = Object.fromEntries(r.charts.filter((c) => c.skipped).map((c) => [c.id, c.skipped]));
  assert.match(skipped['h3-vs-h2-heatmap']!, /RTT/);
  assert.match(skipped['latency-percentiles']!, /load/);
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
  const html = readFileSync(join(small.reportDir, 'index.html'), 'utf8');
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
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
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
    assert.equal(sizes.length, 5);
    for (const [w, h] of sizes) assert.ok(w! > 200 && h! > 150, `svg ${w}x${h}`);
    const text = await page.innerText('body');
    for (const s of ['Provenance', 'helper', '6.1.0-synthetic', 'cubic', 'synthetic-hol', 'Emulation check', 'Summary']) assert.ok(text.includes(s), `page shows ${s}`);
    assert.match(text, /version: node\s+v20/);
    const shot = join(root, 'index.png');
    await page.screenshot({ path: shot, fullPage: true });
    assert.ok(readFileSync(shot).subarray(0, 8).equals(PNG_SIG));
    t.diagnostic(`screenshot: ${shot}`);
  } finally {
    await browser.close();
  }
});
