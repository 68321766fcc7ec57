// Pairing repetitions by impairment seed (harness/pairing.ts): which repetitions are pairs,
// which are left out, and why a comparison stays unpaired.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { pairBySeed, runPairingExact, type RepValue } from './pairing.ts';

const side = (...xs: [number, number | null, number][]): RepValue[] => xs.map(([rep, seed, value]) => ({ rep, seed, value }));

test('pairBySeed: pairs by repetition, in repetition order; a repetition one side lacks is left out', () => {
  const a = side([3, 30, 300], [1, 10, 100], [2, 20, 200]);
  const b = side([1, 10, 50], [2, 20, 110], [3, 30, 140]);
  assert.deepEqual(pairBySeed(a, b), { paired: true, a: [100, 200, 300], b: [50, 110, 140], reps: [1, 2, 3], leftOut: 0 });
  // B's repetition 2 failed (no value): repetitions 1 and 3 are the pairs, one left out
  assert.deepEqual(pairBySeed(a, side([1, 10, 50], [3, 30, 140])), { paired: true, a: [100, 300], b: [50, 140], reps: [1, 3], leftOut: 1 });
});

test('pairBySeed: unpaired, with the reason, when seeds differ or are missing, a repetition repeats, or < 2 pairs', () => {
  const a = side([1, 10, 100], [2, 20, 200]);
  const why = (p: ReturnType<typeof pairBySeed>) => (p.paired ? 'paired' : p.why);
  assert.equal(why(pairBySeed(a, side([1, 10, 50], [2, 21, 110]))), 'repetition 2 met different seeds (20 vs 21)');
  assert.match(why(pairBySeed(a, side([1, null, 50], [2, 20, 110]))), /^repetition 1 has no seed/);
  assert.equal(why(pairBySeed(a, side([1, 10, 50], [1, 10, 55]))), 'repetition 1 appears twice on side B');
  assert.equal(why(pairBySeed(a, side([1, 10, 50]))), '1 repetition(s) succeeded on both sides; pairing needs 2');
  assert.equal(why(pairBySeed([], [])), '0 repetition(s) succeeded on both sides; pairing needs 2');
});

test('runPairingExact: only pairing.exact === true pairs; the note says why not', () => {
  assert.deepEqual(runPairingExact({ pairing: { exact: true, note: 'helper' } }), { exact: true });
  assert.deepEqual(runPairingExact({ pairing: { exact: false, note: 'tc has no seed' } }), { exact: false, why: 'the backend could not reseed the impairment exactly (tc has no seed)' });
  assert.deepEqual(runPairingExact({ pairing: { exact: 'true' } }), { exact: false, why: 'the backend could not reseed the impairment exactly' });
  assert.match((runPairingExact({ seed: 1 }) as { why: string }).why, /records no pairing/);
  assert.match((runPairingExact(null) as { why: string }).why, /no readable run\.json/);
});
