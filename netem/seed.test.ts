// jobSeed: the per-job impairment seed of paired repetitions. Pure; no kernel needed.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { checkSeed, JOB_SEED_MAX, jobSeed, jobSeedKey } from './seed.ts';

test('known values (cross-checked with coreutils sha256sum on the key)', () => {
  // printf '%s' 'holbench-job-seed-v1:1:1:21:loss_pct=2,rtt_ms=100' | sha256sum
  // starts 3940be0d; 0x3940be0d & 0x7fffffff = 960544269
  assert.equal(jobSeedKey(1, 'loss_pct=2,rtt_ms=100', 1), 'holbench-job-seed-v1:1:1:21:loss_pct=2,rtt_ms=100');
  const known: [number, string, number, number][] = [
    [1, 'loss_pct=2,rtt_ms=100', 1, 960544269],
    [1, 'loss_pct=2,rtt_ms=100', 2, 1331214438],
    [1, 'loss_pct=0,rtt_ms=20', 1, 372372454],
    [42, 'base', 3, 1668431757],
    [0, '', 0, 1277439905],
  ];
  for (const [s, c, r, want] of known) assert.equal(jobSeed(s, c, r), want, `jobSeed(${s}, ${JSON.stringify(c)}, ${r})`);
});

test('distinct across repetitions, cells and scenario seeds; always in [0, 2^31 - 1]', () => {
  const CELLS = 40;
  const REPS = 50;
  const seen = new Map<number, string>();
  for (const scenarioSeed of [1, 2]) {
    for (let c = 0; c < CELLS; c++) {
      const cell = `loss_pct=${c % 8},rtt_ms=${20 * (1 + Math.floor(c / 8))}`;
      for (let rep = 1; rep <= REPS; rep++) {
        const s = jobSeed(scenarioSeed, cell, rep);
        assert.ok(Number.isInteger(s) && s >= 0 && s <= JOB_SEED_MAX, `${s} out of range`);
        const who = `${scenarioSeed}/${cell}/${rep}`;
        assert.equal(seen.get(s), undefined, `${who} collides with ${seen.get(s)}`);
        seen.set(s, who);
      }
    }
  }
  assert.equal(seen.size, 2 * CELLS * REPS);
});

test('the key is unambiguous: a cell id cannot imitate another (scenario, rep, cell)', () => {
  // the byte length of the cell id comes before it, so no id can carry a forged "rep:len:" part
  assert.notEqual(jobSeedKey(1, '2:x', 3), jobSeedKey(1, 'x', 3));
  assert.notEqual(jobSeed(1, 'a:3:1:b', 2), jobSeed(1, 'b', 2));
  // non-ASCII ids are measured in UTF-8 bytes, not UTF-16 units
  assert.equal(jobSeedKey(1, 'é', 1), 'holbench-job-seed-v1:1:1:2:é');
});

test('bad input is refused, naming the argument', () => {
  assert.throws(() => jobSeed(-1, 'c', 1), /scenarioSeed/);
  assert.throws(() => jobSeed(1.5, 'c', 1), /scenarioSeed/);
  assert.throws(() => jobSeed(1, 'c', -1), /rep/);
  assert.throws(() => jobSeed(1, 'c', NaN), /rep/);
  assert.throws(() => jobSeed(1, 3 as unknown as string, 1), /cellId/);
  assert.doesNotThrow(() => checkSeed(0));
  assert.doesNotThrow(() => checkSeed(JOB_SEED_MAX));
  for (const bad of [-1, JOB_SEED_MAX + 1, 0.5, Infinity]) assert.throws(() => checkSeed(bad), RangeError);
});
