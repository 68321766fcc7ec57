// Presets: every table entry resolves to the values it states, the scenario's fields override
// a preset, a sweep can range over presets, a bad name is refused naming network.preset
// (exit 2), and `holbench presets` prints every entry.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFile, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseProfile, ProfileError } from './profile.ts';
import { PRESET_NAMES, PRESET_TABLE, type Preset } from './presets.ts';
import { parseScenarioText, ScenarioError } from '../harness/scenario/load.ts';
import { holbench } from '../harness/testdata/cli.ts';

const page = 'protocols: [h2]\nworkload: {kind: page, objects: 1, object_bytes: 100}\n';

test('every preset in the table resolves to its stated rates, RTT (half each way), loss, queue and outages', () => {
  let n = 0;
  for (const name of PRESET_NAMES) {
    const p: Preset = PRESET_TABLE[name];
    const prof = parseProfile({ preset: name });
    assert.equal(prof.downlink.rateBps, p.downBps, name);
    assert.equal(prof.uplink.rateBps, p.upBps, name);
    assert.equal(prof.uplink.delayMs + prof.downlink.delayMs, p.rttMs, name);
    assert.equal(prof.uplink.delayMs, prof.downlink.delayMs, name);
    const loss = p.lossPct ? { kind: 'random', pct: p.lossPct } : { kind: 'none' };
    assert.deepEqual(prof.downlink.loss, loss, name);
    assert.deepEqual(prof.uplink.loss, loss, name);
    if (p.queuePackets) assert.equal(prof.downlink.queuePackets, p.queuePackets, name);
    assert.equal(prof.outages.length, p.outages?.length ?? 0, name);
    assert.equal(prof.preset?.name, name);
    assert.equal(prof.preset?.url, p.source.url);
    assert.match(p.source.url, /^https:\/\/github\.com\/.+\/blob\/[0-9a-f]{40}\//, `${name}: source pinned to a commit`);
    assert.match(p.source.retrieved, /^\d{4}-\d{2}-\d{2}$/);
    n++;
  }
  assert.equal(n, PRESET_NAMES.length);
  assert.ok(n >= 30, `${n} presets`);
  // every family the issue names is there, each under its own prefix
  for (const prefix of ['wpt-', 'lighthouse-', 'devtools-', 'throttle-', 'interop-']) assert.ok(PRESET_NAMES.some((x) => x.startsWith(prefix)), prefix);
});

test('a tool-prefixed name keeps its own tool\'s numbers where tools disagree ("3G")', () => {
  const wpt = parseProfile({ preset: 'wpt-3g' });
  const thr = parseProfile({ preset: 'throttle-3g' });
  assert.equal(wpt.uplink.delayMs * 2, 300);
  assert.equal(thr.uplink.delayMs * 2, 150);
});

test('explicit fields override a preset: shared fields, then uplink/downlink; a loss kind replaces the preset\'s', () => {
  const shared = parseProfile({ preset: 'wpt-4g', delay_ms: 10, loss_pct: 1 });
  assert.equal(shared.uplink.delayMs, 10);
  assert.equal(shared.downlink.delayMs, 10);
  assert.equal(shared.downlink.rateBps, 9e6);
  assert.deepEqual(shared.downlink.loss, { kind: 'random', pct: 1 });
  const dir = parseProfile({ preset: 'wpt-4g', downlink: { rate_bps: '1mbit' }, uplink: { delay_ms: 5 } });
  assert.equal(dir.downlink.rateBps, 1e6);
  assert.equal(dir.uplink.rateBps, 9e6);
  assert.equal(dir.uplink.delayMs, 5);
  assert.equal(dir.downlink.delayMs, 85);
  const ge = parseProfile({ preset: 'interop-transferloss', loss_ge: { p: 0.01 } });
  assert.equal(ge.downlink.loss.kind, 'ge');
  assert.equal(ge.downlink.queuePackets, 25);
  const noOutage = parseProfile({ preset: 'interop-blackhole', outages: [] });
  assert.equal(noOutage.outages.length, 0);
  // both loss kinds in the scenario's own fields is still an error, with a preset too
  assert.throws(() => parseProfile({ preset: 'wpt-4g', loss_pct: 1, loss_ge: { p: 0.1 } }), ProfileError);
});

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
  const dir = await mkdtemp(join(tmpdir(), 'holbench-presets-'));
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
  const { summarize } = await import('../harness/summary.ts');
  const profile = parseProfile({ preset: 'lighthouse-mobile-slow-4g' });
  const job = { id: 1, status: 'SUCCEEDED' as const, reason: '', connectionsOpened: 1, bytes: 0, elapsedMs: 1, requests: [], chunks: [] };
  const row = summarize(job, { scenario: 's', cell: 'c', rep: 1, protocol: 'h2', profile, tcpCc: 'cubic', quicCc: 'cubic', probes: {} });
  assert.equal(row.rate_mbps, 1.678);
  assert.equal(row.rtt_ms, 150);
});
