// The arithmetic of exact head-of-line delay on hand-made byte times (holcore.ts header):
// self wait [a, min(s, D)], cross wait [max(a, s), min(o, D)], unions per stream.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { deliveryTimes, summarize, unionMs, type StreamTimes } from './holcore.ts';

const f = (xs: number[]) => Float64Array.from(xs);
const stream = (key: string, rows: [number, number, number, number][]): StreamTimes => ({
  key,
  a: f(rows.map((r) => r[0])),
  s: f(rows.map((r) => r[1])),
  o: f(rows.map((r) => r[2])),
  d: f(rows.map((r) => r[3])),
});

test('unionMs: overlapping intervals count once, disjoint ones add', () => {
  assert.equal(unionMs([]), 0);
  assert.equal(unionMs([[20, 25], [0, 10], [5, 15]]), 20);
  assert.equal(unionMs([[0, 10], [2, 3]]), 10, 'an interval inside another adds nothing');
});

test('deliveryTimes: byte i is delivered by the first chunk whose cumulative count passes i', () => {
  assert.deepEqual([...deliveryTimes(5, [{ tWallMs: 10, cum: 2 }, { tWallMs: 20, cum: 5 }])], [10, 10, 20, 20, 20]);
  // chunks that stop short leave the rest undelivered
  assert.deepEqual([...deliveryTimes(3, [{ tWallMs: 7, cum: 1 }])], [7, Infinity, Infinity]);
});

test('summarize: a stream held for another stream (cross) and one held for its own earlier byte (self)', () => {
  // one TCP connection: B's byte 0 was lost and arrived (retransmitted) at 50.
  // A's 4 bytes arrived at 10, complete for A (s = 10), but TCP released them only with B's byte (o = 50)
  const A = stream('A', [[10, 10, 50, 50], [10, 10, 50, 50], [10, 10, 50, 50], [10, 10, 50, 52]]);
  // B: byte 0 late itself (no wait), byte 1 arrived at 20 and waited for byte 0 (s = 50)
  const B = stream('B', [[50, 50, 50, 50], [20, 50, 50, 50]]);
  const r = summarize([A, B]);
  assert.equal(r.streams, 2);
  assert.equal(r.bytes, 6);
  assert.equal(r.hol_self_ms, 30, 'B: 20 -> 50');
  assert.equal(r.hol_cross_ms, 40, "A: 10 -> 50 once (its bytes' equal waits are one interval)");
  assert.equal(r.hol_cross_bytes, 4);
  assert.equal(r.hol_cross_ms_per_stream, 20);
  assert.equal(r.lag_after_self_max_ms, 42, 'A: delivered at 52, ready for itself at 10');
  assert.equal(r.undelivered_bytes, 0);
});

test('summarize: delivery caps a wait, and bytes without a delivery are counted, not summed', () => {
  // delivered at 30 although the stream looked ready only at 40 (clock skew): wait ends at D
  const X = stream('X', [[10, 40, 40, 30], [10, 40, 40, Infinity]]);
  const r = summarize([X]);
  assert.equal(r.hol_self_ms, 20);
  assert.equal(r.hol_cross_ms, 0);
  assert.equal(r.undelivered_bytes, 1);
});
