// Presets: every table entry resolves to the values it states, a tool's prefix keeps its own
// numbers, and the scenario's fields override a preset.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseProfile, ProfileError } from './profile.ts';
import { PRESET_NAMES, PRESET_TABLE, type Preset } from './presets.ts';

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
