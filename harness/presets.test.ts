// Presets in scenarios and on the command line: a sweep over presets, a bad name refused
// naming network.preset (exit 2), `holbench presets` printing every entry, and a preset that
// reaches the wire in real namespaces with its source in run.json.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFile, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { parseProfile } from '../netem/profile.ts';
import { PRESET_NAMES, PRESET_TABLE, type Preset } from '../netem/presets.ts';
import { parseScenarioText, ScenarioError } from './scenario/load.ts';
import { holbench } from './testdata/cli.ts';
import { tempDir } from '../proc/testdata/tmp.ts';

const page = 'protocols: [h2]\nworkload: {kind: page, objects: 1, object_bytes: 100}\n';

test('a sweep over presets makes one cell per preset, each carrying its preset; explicit fields still override', () => {
  const s = parseScenarioText(`${page}network: {loss_pct: 1}\nsweep: {preset: [wpt-4g, lighthouse-mobile-slow-4g], rtt_ms: [40]}\n`, 'x.yaml');
  assert.deepEqual(s.cells.map((c) => c.id), ['rtt_ms=40,preset=wpt-4g', 'rtt_ms=40,preset=lighthouse-mobile-slow-4g']);
  assert.deepEqual(s.cells.map((c) => c.profile.preset?.name), ['wpt-4g', 'lighthouse-mobile-slow-4g']);
  assert.deepEqual(s.cells.map((c) => c.profile.downlink.rateBps), [9e6, 1.6 * 1024 * 1024]);
  for (const c of s.cells) {
    assert.equal(c.profile.uplink.delayMs, 20);
    assert.deepEqual(c.profile.uplink.loss, { kind: 'random', pct: 1 });
  }
});

test('an unknown preset is refused naming network.preset and listing the names', () => {
  assert.throws(
    () => parseScenarioText(`${page}network: {preset: wpt-5g}\n`, 'x.yaml'),
    (e: unknown) => e instanceof ScenarioError && /3:\d+ network\.preset: unknown preset "wpt-5g"/.test(e.message) && PRESET_NAMES.every((n) => e.message.includes(n)),
  );
  assert.throws(() => parseScenarioText(`${page}sweep: {preset: [wpt-4g, lte]}\n`, 'x.yaml'), /sweep\.preset\.1: unknown preset "lte"/);
});

test('holbench validate / run: unknown preset exits 2 naming network.preset, nothing applied', async () => {
  const dir = await tempDir('holbench-presets-');
  try {
    const f = join(dir, 'bad.yaml');
    await writeFile(f, `${page}network: {preset: 4g}\n`);
    for (const cmd of ['validate', 'run']) {
      const r = await holbench([cmd, f], { timeoutMs: 60_000 });
      assert.equal(r.code, 2, `${cmd}: ${r.stderr}`);
      assert.match(r.stderr, /network\.preset: unknown preset "4g"/);
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('holbench presets prints every preset with its source, rates and RTT; --json is the table', async () => {
  const r = await holbench(['presets'], { timeoutMs: 60_000 });
  assert.equal(r.code, 0, r.stderr);
  const rows = r.stdout.split('\n');
  let n = 0;
  for (const name of PRESET_NAMES) {
    const p: Preset = PRESET_TABLE[name];
    const row = rows.find((l) => l.split(/\s{2,}/)[0] === name);
    assert.ok(row, `${name} listed`);
    const cols = row!.split(/\s{2,}/);
    assert.equal(cols[1], p.source.tool);
    assert.equal(cols[4], String(p.rttMs));
    n++;
  }
  assert.equal(n, PRESET_NAMES.length);
  const j = await holbench(['presets', '--json'], { timeoutMs: 60_000 });
  assert.equal(j.code, 0);
  assert.deepEqual(Object.keys(JSON.parse(j.stdout)), PRESET_NAMES);
  const v = await holbench(['presets', '--sources'], { timeoutMs: 60_000 });
  for (const name of PRESET_NAMES) assert.ok(v.stdout.includes(PRESET_TABLE[name].original), `${name}: original values shown`);
  const bad = await holbench(['presets', 'extra'], { timeoutMs: 60_000 });
  assert.equal(bad.code, 2);
});

test('summary.csv rate_mbps is the downlink rate of an asymmetric preset (the direction a page travels)', async () => {
  const { summarize } = await import('./summary.ts');
  const profile = parseProfile({ preset: 'lighthouse-mobile-slow-4g' });
  const job = { id: 1, status: 'SUCCEEDED' as const, reason: '', connectionsOpened: 1, bytes: 0, elapsedMs: 1, requests: [], chunks: [] };
  const row = summarize(job, { scenario: 's', cell: 'c', rep: 1, protocol: 'h2', profile, tcpCc: 'cubic', quicCc: 'cubic', probes: {} });
  assert.equal(row.rate_mbps, 1.678);
  assert.equal(row.preset, 'lighthouse-mobile-slow-4g');
  assert.equal(row.rtt_ms, 150);
});

test('a preset reaches the wire: a page over devtools-3g (500 kbit/s down) is no faster than its rate allows; run.json names the source', async () => {
  const dir = await tempDir('holbench-presets-');
  try {
    const f = join(dir, 'p.yaml');
    const bytes = 4 * 25_000;
    await writeFile(f, `name: preset-wire\nprotocols: [h2]\nworkload: {kind: page, objects: 4, object_bytes: 25000}\nnetwork: {preset: devtools-3g}\nrepetitions: 1\n`);
    const r = await holbench(['run', f, '--backend', 'helper', '--out', join(dir, 'results'), '--no-report', '--json', '--quiet'], { timeoutMs: 180_000 });
    assert.equal(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout);
    const row = out.rows[0];
    assert.equal(row.status, 'SUCCEEDED', row.reason);
    assert.equal(row.rtt_ms, 400);
    assert.equal(row.rate_mbps, 0.5);
    // the body alone needs bytes x 8 / 500 kbit/s; headers, handshake and the RTT only add
    const floorMs = ((bytes * 8) / 500_000) * 1000;
    assert.ok(row.page_ms >= floorMs * 0.95, `page ${row.page_ms} ms >= ${floorMs} ms`);
    assert.ok(row.goodput_mbps <= 0.5 * 1.05, `goodput ${row.goodput_mbps} Mbit/s <= 0.5`);
    const runJson = JSON.parse(await readFile(join(out.outDir, 'run.json'), 'utf8'));
    assert.equal(runJson.network_presets['devtools-3g'].source.url, PRESET_TABLE['devtools-3g'].source.url);
    assert.equal(runJson.cells[0].profile.preset.name, 'devtools-3g');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
