// Loss -> stall attribution on hand-made fixtures (lossattr.ts header): holes from arrival
// order, waits blamed on the hole that held their blocker byte, holes linked to drops by
// connection and time window, and the per-loss rows a chart and a slide quote.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { StreamTimes } from './holcore.ts';
import { blame, coverage, findHoles, linkDrops, lossRows, type DropIn, type Hole } from './lossattr.ts';

const f = (xs: number[]) => Float64Array.from(xs);
const OPTS = { delayMs: 25, jitterMs: 1, maxQueueMs: 10 };

test('findHoles: bytes overtaken by later bytes form holes, one per repair packet', () => {
  // bytes 2-3 arrived at 9 after bytes 4.. (at 3): one hole visible from 3; byte 6 at 7 after byte 7 (at 4)
  const h = findHoles('c', f([1, 1, 9, 9, 3, 3, 7, 4]));
  assert.deepEqual(h, [
    { space: 'c', from: 2, to: 4, fillMs: 9, gapMs: 3 },
    { space: 'c', from: 6, to: 7, fillMs: 7, gapMs: 4 },
  ]);
  // a burst: two consecutive lost packets repaired separately are two holes with one gap
  assert.deepEqual(findHoles('c', f([1, 8, 9, 2])).map((x) => [x.from, x.to, x.fillMs, x.gapMs]), [[1, 2, 8, 2], [2, 3, 9, 2]]);
  // in order (even with a slow tail) there is no hole
  assert.deepEqual(findHoles('c', f([1, 2, 2, 50])), []);
});

// One TCP connection (space 'c'): positions 0-3 carry A, 4-5 carry B, 6-7 carry C.
// B's packet (4-5) was lost, repaired at 60; A's last byte waited for its own lost byte 3.
const ARR = f([10, 10, 10, 70, 60, 60, 12, 12]);
const st = (key: string, rows: [number, number, number, number, number, number][]): StreamTimes => ({
  key,
  space: 'c',
  a: f(rows.map((r) => r[0])),
  s: f(rows.map((r) => r[1])),
  o: f(rows.map((r) => r[2])),
  d: f(rows.map((r) => r[3])),
  sBy: f(rows.map((r) => r[4])),
  oBy: f(rows.map((r) => r[5])),
});
// A: bytes at 0-2 arrived at 10 and wait for A's own byte 3 (70): self 10 -> 70
const A = st('A', [[10, 70, 70, 70, 3, 3], [10, 70, 70, 70, 3, 3], [10, 70, 70, 70, 3, 3], [70, 70, 70, 70, 3, 3]]);
// B: the repaired bytes themselves (no wait)
const B = st('B', [[60, 60, 60, 60, 5, 5], [60, 60, 60, 60, 5, 5]]);
// C: complete at 12, held by TCP for B's bytes (o = 60 from byte 4): cross 12 -> 60
const C = st('C', [[12, 12, 60, 60, 7, 4], [12, 12, 60, 61, 7, 4]]);

test('blame: each wait goes to the hole holding the byte it waited for', () => {
  const holes = findHoles('c', ARR);
  assert.equal(holes.length, 2);
  const [hA, hB] = [holes.find((h) => h.from === 3)!, holes.find((h) => h.from === 4)!];
  const b = blame([A, B, C], holes);
  assert.deepEqual([...b.get(hA)!.self.keys()], ['A']);
  assert.equal(b.get(hA)!.cross.size, 0);
  assert.deepEqual([...b.get(hB)!.cross.keys()], ['C']);
  assert.equal(b.get(hB)!.self.size, 0);
  // a wait whose blocker is no hole (the rest of a record still in flight) is nobody's
  const D = st('D', [[12, 20, 20, 20, 7, 7]]);
  assert.deepEqual(coverage([A, B, C, D], holes), { waited_ms: 60 + 48 + 8, blamed_ms: 60 + 48 });
});

test('linkDrops: a hole takes the latest unused downlink drop of its connection in its window', () => {
  const hole = (from: number, gapMs: number): Hole => ({ space: 'c', from, to: from + 1, fillMs: gapMs + 50, gapMs });
  // window of a hole seen at 100: [100 - 25 - 1 - 10, 100 - 25 + 1] = [64, 76]
  const h1 = hole(0, 100);
  // a burst seen at 200: the hole nearest the gap was the later drop
  const h2 = hole(10, 200), h3 = hole(20, 200);
  // nothing in the window of a hole seen at 400
  const h4 = hole(30, 400);
  const drops: DropIn[] = [
    { tMs: 70, direction: 'downlink', clientPort: 1 }, // h1
    { tMs: 72, direction: 'downlink', clientPort: 2 }, // another connection
    { tMs: 73, direction: 'uplink', clientPort: 1 }, // an ACK or a request: never a hole
    { tMs: 170, direction: 'downlink', clientPort: 1 },
    { tMs: 171, direction: 'downlink', clientPort: 1 },
    { tMs: 300, direction: 'downlink', clientPort: 1 }, // too early for h4 (window [339, 376])
    { tMs: 380, direction: 'downlink', clientPort: 1 }, // too late for h4
  ];
  const link = linkDrops([h4, h3, h1, h2], () => 1, drops, OPTS);
  assert.equal(link.get(h1), 0);
  assert.equal(link.get(h3), 4);
  assert.equal(link.get(h2), 3);
  assert.equal(link.get(h4), undefined);
});

test('lossRows: one row per drop with the streams it held; holes without a drop keep their own time', () => {
  const holes = findHoles('c', ARR);
  // both holes became visible at 12 (bytes 6-7 overtook them): drops in [12-36, 12-24] = [-24, -12];
  // one drop there: it goes to the hole nearest the gap (B's, 4-5), A's hole keeps 12 - 25
  const drops: DropIn[] = [
    { tMs: -20, direction: 'downlink', clientPort: 1 }, // B's packet
    { tMs: 5, direction: 'uplink', clientPort: 1 }, // a request packet: held no received byte
  ];
  const rows = lossRows([A, B, C], holes, () => 1, drops, OPTS);
  assert.equal(rows.length, 3, 'two drops, one hole no drop explains');
  const [b, up, orphan] = rows;
  assert.deepEqual(
    { source: b!.source, tMs: b!.tMs, holes: b!.holes, streams: b!.streams_stalled, total: b!.blocked_ms_total, max: b!.blocked_ms_max, cross: b!.cross_ms_total, crossStreams: b!.cross_streams },
    { source: 'drop', tMs: -20, holes: 1, streams: 1, total: 48, max: 48, cross: 48, crossStreams: 1 },
  );
  assert.equal(up!.streams_stalled, 0);
  assert.equal(up!.blocked_ms_total, 0);
  assert.equal(up!.direction, 'uplink');
  assert.deepEqual({ source: orphan!.source, tMs: orphan!.tMs, streams: orphan!.streams_stalled, total: orphan!.blocked_ms_total, cross: orphan!.cross_ms_total }, { source: 'capture', tMs: 12 - 25, streams: 1, total: 60, cross: 0 });
});

test('lossRows: one loss holding many streams sums their blocked time and reports the longest', () => {
  // 37 streams on one connection each held by the byte at position 0 (lost, repaired at 200)
  const N = 37;
  const arr = f([200, ...Array.from({ length: N }, () => 20)]);
  const streams: StreamTimes[] = Array.from({ length: N }, (_, k) => ({
    key: `s${k}`, space: 'c', a: f([20]), s: f([20]), o: f([200]), d: f([200 + k]), sBy: f([k + 1]), oBy: f([0]),
  }));
  const rows = lossRows(streams, findHoles('c', arr), () => 9, [{ tMs: 20 - 25 - 5, direction: 'downlink', clientPort: 9 }], OPTS);
  assert.equal(rows.length, 1);
  assert.equal(rows[0]!.streams_stalled, N);
  assert.equal(rows[0]!.blocked_ms_total, N * 180, 'each stream held 20 -> 200 (delivery later than readiness is not the loss)');
  assert.equal(rows[0]!.blocked_ms_max, 180);
});
