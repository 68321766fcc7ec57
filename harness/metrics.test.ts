import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ChunkRow, RequestRow } from './records.ts';
import type { JobResult } from './agent.ts';
import { parseProfile } from '../netem/profile.ts';
import { summarize } from './summary.ts';
import {
  bootstrapCi95,
  coStallIndex,
  completionSpreadMs,
  groupByRun,
  meanCi95,
  meanSd,
  pairedRelChangeCi95,
  percentile,
  percentiles,
  relChangeCi95,
  shareOfTotal,
  stallAnalysis,
  stallThresholdMs,
  streamStalls,
  tQuantile975,
} from './metrics.ts';

function req(req_id: number, start_ms: number, ttfb_ms: number | null, ttlb_ms: number | null): RequestRow {
  return {
    cell: 'c', protocol: 'h2', rep: 1, req_id, object: req_id, path: `/o/${req_id}`, conn_id: '1', stream_id: String(req_id * 2 + 1),
    start_ms, ttfb_ms, ttlb_ms, bytes: 1000, status: ttlb_ms === null ? null : 200, error: '',
  };
}
/** chunks every `stepMs` in [from, to] for request `id`, skipping the open intervals in `gaps` */
function chunks(id: number, from: number, to: number, stepMs: number, gaps: [number, number][] = []) {
  const out: { req_id: number; t_ms: number }[] = [];
  for (let t = from; t <= to + 1e-9; t += stepMs) {
    if (gaps.some(([a, b]) => t > a && t < b)) continue;
    out.push({ req_id: id, t_ms: t });
  }
  return out;
}
const close = (a: number, b: number, eps = 1e-9) => assert.ok(Math.abs(a - b) <= eps, `${a} != ${b}`);

test('percentile: type-7 interpolation, ignores non-finite, NaN on empty', () => {
  assert.equal(percentile([1, 2, 3, 4], 50), 2.5);
  assert.equal(percentile([4, 1, 3, 2], 0), 1);
  assert.equal(percentile([4, 1, 3, 2], 100), 4);
  close(percentile([1, 2, 3, 4], 90), 3.7);
  assert.equal(percentile([5, NaN, Infinity], 50), 5);
  assert.ok(Number.isNaN(percentile([], 50)));
  assert.deepEqual(percentiles([10, 20, 30], [50, 100]), { 50: 20, 100: 30 });
  assert.throws(() => percentile([1], 101), RangeError);
});

test('meanSd / CV', () => {
  const m = meanSd([2, 4, 4, 4, 5, 5, 7, 9]);
  assert.equal(m.mean, 5);
  close(m.sd, Math.sqrt(32 / 7));
  close(m.cv, Math.sqrt(32 / 7) / 5);
  assert.ok(Number.isNaN(meanSd([3]).sd));
  assert.equal(meanSd([]).n, 0);
});

test('t quantiles: table values and interpolation', () => {
  assert.equal(tQuantile975(1), 12.706);
  assert.equal(tQuantile975(2), 4.303);
  assert.equal(tQuantile975(30), 2.042);
  assert.equal(tQuantile975(60), 2.0);
  const t45 = tQuantile975(45); // true value 2.014
  assert.ok(Math.abs(t45 - 2.014) < 0.002, String(t45));
  assert.ok(Math.abs(tQuantile975(1e9) - 1.96) < 1e-3);
  assert.ok(Number.isNaN(tQuantile975(0)));
});

test('meanCi95 with n = 3 uses t(2) = 4.303', () => {
  const ci = meanCi95([10, 12, 14]); // mean 12, sd 2
  assert.equal(ci.mean, 12);
  close(ci.half, (4.303 * 2) / Math.sqrt(3));
  close(ci.lo, 12 - ci.half);
  assert.ok(Number.isNaN(meanCi95([1]).half));
});

test('bootstrap is deterministic for a seed and brackets the mean', () => {
  const xs = [10, 11, 12, 13, 30, 9, 10, 12];
  const a = bootstrapCi95(xs, { seed: 7, iterations: 500 });
  const b = bootstrapCi95(xs, { seed: 7, iterations: 500 });
  assert.deepEqual(a, b);
  assert.ok(a.lo <= a.estimate && a.estimate <= a.hi);
  const c = bootstrapCi95(xs, { seed: 8, iterations: 500 });
  assert.notDeepEqual(a, c);
  const med = bootstrapCi95(xs, { stat: (v) => percentile(v, 50) });
  assert.equal(med.estimate, 11.5);
});

test('paired relative change: t-interval on the residuals b - R a, by hand', () => {
  // a = 100, 200, 300; b = 50, 110, 140: R = mean(b) / mean(a) = 100 / 200 = 0.5,
  // d = b - 0.5 a = 0, 10, -10, sd(d) = 10, half = t(2) * 10 / (sqrt(3) * 200)
  const r = pairedRelChangeCi95([100, 200, 300], [50, 110, 140]);
  close(r.estimate, -0.5);
  const half = (4.303 * 10) / (Math.sqrt(3) * 200);
  close(r.lo, -0.5 - half);
  close(r.hi, -0.5 + half);
  assert.equal(r.n, 3);
  close(r.lo, -0.6242, 1e-4);
  // the same numbers unpaired: a's spread (100..300) is in the interval, which is far wider
  const u = relChangeCi95([100, 200, 300], [50, 110, 140]);
  close(u.estimate, r.estimate);
  assert.ok(u.lo < r.lo - 0.1 && u.hi > r.hi + 0.1, `unpaired ${JSON.stringify(u)} vs paired ${JSON.stringify(r)}`);
});

test('paired relative change: a shared factor cancels; non-finite pairs dropped; edge cases', () => {
  // b = a / 2 pair by pair: zero width whatever a's spread
  const a = [800, 1200, 3000, 950, 2000];
  assert.deepEqual(pairedRelChangeCi95(a, a.map((x) => x / 2)), { estimate: -0.5, lo: -0.5, hi: -0.5, n: 5 });
  // a pair with NaN on one side is dropped as a whole
  assert.deepEqual(pairedRelChangeCi95([100, NaN, 200, 300], [50, 70, 110, 140]), pairedRelChangeCi95([100, 200, 300], [50, 110, 140]));
  assert.equal(pairedRelChangeCi95([100, NaN, 200, 300], [50, 70, 110, 140]).n, 3);
  const one = pairedRelChangeCi95([100], [120]);
  close(one.estimate, 0.2);
  assert.ok(Number.isNaN(one.lo) && Number.isNaN(one.hi), 'no interval from one pair');
  assert.deepEqual(pairedRelChangeCi95([0, 0], [0, 0]), { estimate: 0, lo: 0, hi: 0, n: 2 });
  assert.ok(Number.isNaN(pairedRelChangeCi95([0, 0], [1, 2]).estimate));
  assert.ok(Number.isNaN(pairedRelChangeCi95([], []).estimate));
  assert.throws(() => pairedRelChangeCi95([1, 2], [1]), /equal length/);
  // few, noisy pairs: the linear interval would reach below -100%; with no negative value
  // the ratio of means cannot, so lo is cut at -1 (with a negative value it is not)
  const noisy = pairedRelChangeCi95([10, 100, 10], [1, 200, 1]);
  assert.equal(noisy.lo, -1);
  assert.ok(noisy.hi > 2);
  assert.ok(pairedRelChangeCi95([10, 100, 10], [-1, 200, 3]).lo < -1);
});

test('shareOfTotal: sum of parts / sum of wholes over complete pairs', () => {
  close(shareOfTotal([100, 300], [1000, 1000]), 0.2);
  close(shareOfTotal([100, NaN, 300], [1000, 5000, 1000]), 0.2);
  assert.ok(Number.isNaN(shareOfTotal([1], [0])));
  assert.ok(Number.isNaN(shareOfTotal([], [])));
  assert.throws(() => shareOfTotal([1, 2], [1]), /differ in length/);
});

test('completion spread = p90 - p10 of TTLB; null below 2 completed', () => {
  const rs = [0, 10, 20, 30, 40, 50, 60, 70, 80, 90, 100].map((t, i) => req(i, 0, 1, t));
  close(completionSpreadMs(rs)!, 80);
  assert.equal(completionSpreadMs([req(1, 0, 1, 5), req(2, 0, null, null)]), null);
});

test('stall threshold = max(1.5 RTT, 10 ms)', () => {
  assert.equal(stallThresholdMs(50), 75);
  assert.equal(stallThresholdMs(2), 10);
  assert.equal(stallThresholdMs(0), 10);
  assert.equal(stallThresholdMs(NaN), 10);
});

test('one stream: gaps longer than T are stalls, whole gap counted', () => {
  // T = 15 ms (RTT 10). Chunks at 10, 15, 20, then silence to 60, then 65, 70 (last byte).
  const r = req(1, 0, 10, 70);
  const s = streamStalls(r, [10, 15, 20, 60, 65, 70], stallThresholdMs(10));
  assert.deepEqual(s.intervals, [[20, 60]]);
  assert.equal(s.stall_ms, 40);
  // silence before the first byte is not a stall (it is TTFB)
  assert.equal(streamStalls(req(2, 0, 500, 510), [500, 505, 510], 15).stall_ms, 0);
  // a gap of exactly T is not a stall
  assert.equal(streamStalls(req(3, 0, 0, 15), [0, 15], 15).stall_ms, 0);
  // the tail until ttlb counts when the last chunk is early (e.g. END_STREAM arrives late)
  assert.deepEqual(streamStalls(req(4, 0, 0, 100), [0, 5], 15).intervals, [[5, 100]]);
  // never got a byte: no window, no stall
  assert.equal(streamStalls(req(5, 0, null, null), [], 15).stall_ms, 0);
});

test('two streams stalling together -> co-stall index 1', () => {
  const rs = [req(1, 0, 0, 100), req(2, 0, 0, 100)];
  const cs = [...chunks(1, 0, 100, 5, [[40, 80]]), ...chunks(2, 0, 100, 5, [[40, 80]])];
  const a = stallAnalysis(rs, cs, 10);
  assert.equal(a.thresholdMs, 15);
  assert.deepEqual(a.perRequest.map((p) => p.intervals), [[[40, 80]], [[40, 80]]]);
  assert.equal(a.coStallIndex, 1);
  assert.equal(a.stallMsMean, 40);
  assert.equal(a.stallMsTotal, 80);
});

test('two streams stalling at disjoint times -> co-stall index 0', () => {
  const rs = [req(1, 0, 0, 100), req(2, 0, 0, 100)];
  const cs = [...chunks(1, 0, 100, 5, [[10, 40]]), ...chunks(2, 0, 100, 5, [[50, 90]])];
  const a = stallAnalysis(rs, cs, 10);
  assert.equal(a.coStallIndex, 0);
  assert.equal(a.perRequest[0]!.stall_ms, 30);
  assert.equal(a.perRequest[1]!.stall_ms, 40);
});

test('partial overlap: index = co-stalled stream-time / total stall time', () => {
  // stream 1 stalls [10,40], stream 2 stalls [30,60]; both active 0..100.
  // overlap [30,40]: S=2 >= A/2 -> co. stream-time in co = 2*10 = 20; total = 30 + 30 = 60.
  const rs = [req(1, 0, 0, 100), req(2, 0, 0, 100)];
  const cs = [...chunks(1, 0, 100, 5, [[10, 40]]), ...chunks(2, 0, 100, 5, [[30, 60]])];
  close(stallAnalysis(rs, cs, 10).coStallIndex!, 20 / 60);
});

test('half of the active streams is enough; a lone stalled stream never is', () => {
  // 4 active streams, 2 stall together -> co-stall (2 >= 4/2)
  const rs4 = [1, 2, 3, 4].map((i) => req(i, 0, 0, 100));
  const cs4 = [
    ...chunks(1, 0, 100, 5, [[20, 60]]), ...chunks(2, 0, 100, 5, [[20, 60]]), ...chunks(3, 0, 100, 5), ...chunks(4, 0, 100, 5),
  ];
  assert.equal(stallAnalysis(rs4, cs4, 10).coStallIndex, 1);
  // 5 active, 2 stall together -> 2 < 2.5, not co-stalled
  const rs5 = [...rs4, req(5, 0, 0, 100)];
  assert.equal(stallAnalysis(rs5, [...cs4, ...chunks(5, 0, 100, 5)], 10).coStallIndex, 0);
  // only one stream active and it stalls (the other already finished) -> not "co"
  const rs1 = [req(1, 0, 0, 100), req(2, 0, 0, 10)];
  assert.equal(stallAnalysis(rs1, [...chunks(1, 0, 100, 5, [[40, 80]]), ...chunks(2, 0, 10, 5)], 10).coStallIndex, 0);
});

test('a stream that has not received its first byte is not active', () => {
  // streams 1 and 2 stall together [20,60]; stream 3 and 4 only start receiving at 70
  const rs = [req(1, 0, 0, 100), req(2, 0, 0, 100), req(3, 0, 70, 100), req(4, 0, 70, 100)];
  const cs = [...chunks(1, 0, 100, 5, [[20, 60]]), ...chunks(2, 0, 100, 5, [[20, 60]]), ...chunks(3, 70, 100, 5), ...chunks(4, 70, 100, 5)];
  assert.equal(stallAnalysis(rs, cs, 10).coStallIndex, 1);
});

test('no stall at all -> index null, mean 0', () => {
  const rs = [req(1, 0, 0, 50), req(2, 0, 0, 50)];
  const a = stallAnalysis(rs, [...chunks(1, 0, 50, 5), ...chunks(2, 0, 50, 5)], 10);
  assert.equal(a.coStallIndex, null);
  assert.equal(a.stallMsMean, 0);
  assert.equal(coStallIndex([], []), null);
});

test('HoL stall index: a stall counts only while the whole connection is silent', () => {
  // both streams on one connection stall together [40,80]: the connection is silent -> 1
  const rs = [req(1, 0, 0, 100), req(2, 0, 0, 100)];
  const together = stallAnalysis(rs, [...chunks(1, 0, 100, 5, [[40, 80]]), ...chunks(2, 0, 100, 5, [[40, 80]])], 10);
  assert.equal(together.holStallIndex, 1);
  // stream 1 stalls while stream 2 keeps receiving on the same connection (QUIC, or sharing) -> 0
  const alone = stallAnalysis(rs, [...chunks(1, 0, 100, 5, [[40, 80]]), ...chunks(2, 0, 100, 5)], 10);
  assert.equal(alone.holStallIndex, 0);
  // round-robin sharing: two streams receive in alternating 20 ms turns, so each is silent
  // for 20 ms > T while the other is served: stalls, but the connection never goes quiet
  const turns = (id: number, offset: number) => chunks(id, 0, 200, 2).filter((c) => Math.floor((c.t_ms + offset) / 20) % 2 === 0 || c.t_ms === 0 || c.t_ms === 200);
  const rr = stallAnalysis([req(1, 0, 0, 200), req(2, 0, 0, 200)], [...turns(1, 0), ...turns(2, 20)], 10);
  assert.ok(rr.stallMsTotal > 100, `round robin produces stalls (${rr.stallMsTotal} ms)`);
  assert.equal(rr.holStallIndex, 0, 'sharing is not head-of-line blocking');
  // streams on different connections: not shared -> null (HTTP/1.x)
  const sep = [req(1, 0, 0, 100), { ...req(2, 0, 0, 100), conn_id: '2' }];
  assert.equal(stallAnalysis(sep, [...chunks(1, 0, 100, 5, [[40, 80]]), ...chunks(2, 0, 100, 5, [[40, 80]])], 10).holStallIndex, null);
  // partly covered: stream 1 stalls [40,80] while stream 2 receives until 60, then stream 2
  // stalls [60,80] too. Silent: [60,80] of stream 1's 40 ms and all of stream 2's 20 ms.
  const half = stallAnalysis(rs, [...chunks(1, 0, 100, 5, [[40, 80]]), ...chunks(2, 0, 100, 5, [[60, 80]])], 10);
  close(half.holStallIndex!, (20 + 20) / (40 + 20));
});

test('failed request: window ends at its last chunk', () => {
  const a = stallAnalysis([req(1, 0, 0, null)], chunks(1, 0, 20, 5), 10);
  assert.equal(a.perRequest[0]!.stall_ms, 0);
});

test('groupByRun splits by cell x protocol x rep', () => {
  const rows = [req(1, 0, 0, 1), { ...req(2, 0, 0, 1), rep: 2 }, { ...req(3, 0, 0, 1), protocol: 'h3' }, req(4, 0, 0, 1)];
  const g = groupByRun(rows);
  assert.equal(g.size, 3);
  assert.deepEqual([...g.values()].map((l) => l.map((r) => r.req_id)), [[1, 4], [2], [3]]);
});

// summary.csv columns from a hand-made page load. Every expectation below is worked out by
// hand from the fixture (the arithmetic is in the comments), not recomputed with the code.
test('summarize(): request percentiles, completion spread and stall columns of summary.csv', () => {
  // five requests on one h2 connection, all started at 0; #5 failed after two chunks
  const rq = (req_id: number, ttfb_ms: number, ttlb_ms: number | null, error = ''): RequestRow => ({
    ...req(req_id, 0, ttfb_ms, ttlb_ms), error, status: error ? null : 200,
  });
  const requests = [rq(1, 10, 50), rq(2, 20, 60), rq(3, 30, 100), rq(4, 40, 120), rq(5, 5, null, 'stream reset')];
  const at = (req_id: number, times: number[]): ChunkRow[] =>
    times.map((t_ms) => ({ cell: 'c', protocol: 'h2', rep: 1, req_id, conn_id: '1', stream_id: String(req_id * 2 + 1), t_ms, bytes: 100, cum_bytes: 0 }));
  const range = (from: number, to: number) => Array.from({ length: (to - from) / 5 + 1 }, (_, i) => from + 5 * i);
  const chunkRows = [
    ...at(1, [10, 20, 50]), // silent 20..50
    ...at(2, [20, 25, 30, 60]), // silent 30..60
    ...at(3, range(30, 100)), // every 5 ms, never silent
    ...at(4, [...range(40, 80), 120]), // silent 80..120
    ...at(5, [5, 8]),
  ];
  const job: JobResult = {
    id: 1, status: 'SUCCEEDED', reason: '', connectionsOpened: 1, bytes: 60_000, elapsedMs: 130,
    page: { pageMs: 120, objects: 5, failed: 1 }, requests, chunks: chunkRows,
  };
  const profile = parseProfile({ delay_ms: 5, loss_pct: 2, rate_bps: '20mbit' });
  const row = summarize(job, {
    scenario: 's', cell: 'c', rep: 1, protocol: 'h2', profile, tcpCc: 'cubic', quicCc: 'cubic', probes: { server_connections: 1, retransmissions: 3 },
  });
  assert.equal(row.rtt_ms, 10);
  assert.equal(row.loss_pct, 2);
  assert.equal(row.rate_mbps, 20);
  assert.equal(row.requests, 5);
  assert.equal(row.errors, 1);
  assert.equal(row.page_ms, 120);
  // 60 000 bytes in 120 ms = 4 Mbit/s
  assert.equal(row.goodput_mbps, 4);

  // Completed requests only: TTLB [50, 60, 100, 120], TTFB [10, 20, 30, 40] (n = 4).
  // Type 7, h = 3p/100: p50 h=1.5 -> 60 + .5*40 = 80; p95 h=2.85 -> 100 + .85*20 = 117;
  // p99 h=2.97 -> 100 + .97*20 = 119.4. Nearest rank would give 60, 120, 120.
  assert.equal(row.ttlb_p50_ms, 80);
  assert.equal(row.p50_ms, 80);
  assert.equal(row.p95_ms, 117);
  assert.equal(row.p99_ms, 119.4);
  // TTFB p50: h=1.5 -> 20 + .5*10 = 25 (nearest rank: 20)
  assert.equal(row.ttfb_p50_ms, 25);
  // spread: p90 h=2.7 -> 100 + .7*20 = 114; p10 h=0.3 -> 50 + .3*10 = 53; 114 - 53 = 61
  // (nearest rank: 120 - 50 = 70)
  assert.equal(row.completion_spread_ms, 61);

  // Stalls, T = max(1.5 x 10, 10) = 15 ms. Windows [first, last byte]: #1 [10,50], #2 [20,60],
  // #3 [30,100], #4 [40,120], #5 [5,8] (failed: ends at its last chunk). Stalls: #1 [20,50],
  // #2 [30,60], #4 [80,120]; total 30 + 30 + 40 = 100 ms over 5 requests -> mean 20.
  assert.equal(row.stall_ms_mean, 20);
  // Co-stall: [20,30) A=2 S=1 no; [30,40) A=3 S=2 yes (20); [40,50) A=4 S=2 yes (20);
  // [50,60) A=3 S=1 no; [80,120) S=1 no. 40 / 100 = 0.4.
  assert.equal(row.co_stall_index, 0.4);
  // HoL: during #1's and #2's stalls the connection keeps delivering (#3 every 5 ms); during
  // #4's [80,120] #3 delivers until 100, then the connection is silent 100..120 (20 > T).
  // 20 / 100 = 0.2.
  assert.equal(row.hol_stall_index, 0.2);
  assert.equal(row.connections_used, 1);
  assert.equal(row.server_connections, 1);
  assert.equal(row.retransmissions, 3);
});

test('summarize(): no completed request -> empty percentile, spread and stall columns', () => {
  const job: JobResult = {
    id: 1, status: 'FAILED', reason: 'refused', connectionsOpened: 0, bytes: 0, elapsedMs: 5,
    page: { pageMs: null, objects: 1, failed: 1 }, requests: [{ ...req(1, 0, null, null), error: 'refused' }], chunks: [],
  };
  const row = summarize(job, {
    scenario: 's', cell: 'c', rep: 1, protocol: 'h2', profile: parseProfile({ delay_ms: 5 }), tcpCc: 'cubic', quicCc: 'cubic', probes: {},
  });
  for (const k of ['ttfb_p50_ms', 'ttlb_p50_ms', 'p50_ms', 'p95_ms', 'p99_ms', 'completion_spread_ms', 'co_stall_index', 'hol_stall_index', 'goodput_mbps'] as const) {
    assert.equal(row[k], null, k);
  }
  assert.equal(row.stall_ms_mean, 0, 'one request, never received a byte: no stall');
  assert.equal(row.errors, 1);
});
