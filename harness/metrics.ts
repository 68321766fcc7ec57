// Metrics computed from the protocol-neutral records (requests.csv, chunks.csv).
// Pure functions only: no I/O, no clocks, no randomness except the seeded PRNG passed to
// the bootstrap. Every definition here is the one the README quotes; change both together.
import type { ChunkRow, RequestRow } from './records.ts';

// ---------------------------------------------------------------------------------------
// Descriptive statistics
// ---------------------------------------------------------------------------------------

/** The p-th percentile (p in [0, 100]) of `values`, by linear interpolation between the
 *  closest ranks (Hyndman & Fan type 7, numpy's default): with the n values sorted
 *  ascending as x[0..n-1], h = (n - 1) * p / 100 and the result is
 *  x[floor(h)] + (h - floor(h)) * (x[floor(h) + 1] - x[floor(h)]).
 *  Non-finite values are ignored. Returns NaN when no finite value is left. */
export function percentile(values: readonly number[], p: number): number {
  if (!(p >= 0 && p <= 100)) throw new RangeError(`percentile: p must be in [0, 100], got ${p}`);
  const xs = values.filter(Number.isFinite).sort((a, b) => a - b);
  return percentileSorted(xs, p);
}

/** `percentile` for input that is already sorted ascending, without NaN (no copy).
 *  +-Infinity may appear (bootstrapped ratios whose denominator resampled to 0): when the
 *  two closest ranks differ and one is infinite, the result is that one (no Inf - Inf). */
export function percentileSorted(xs: readonly number[], p: number): number {
  if (xs.length === 0) return NaN;
  const h = ((xs.length - 1) * p) / 100;
  const lo = Math.floor(h);
  const x0 = xs[lo]!;
  const x1 = xs[Math.min(lo + 1, xs.length - 1)]!;
  if (h === lo || x0 === x1) return x0;
  if (!Number.isFinite(x0)) return x0;
  if (!Number.isFinite(x1)) return x1;
  return x0 + (h - lo) * (x1 - x0);
}

/** Arithmetic mean, summed left to right; NaN for no values. Callers filter non-finite. */
function mean(xs: readonly number[]): number {
  return xs.reduce((s, x) => s + x, 0) / xs.length;
}

/** Several percentiles at once, keyed by p (e.g. {50: .., 95: .., 99: ..}). */
export function percentiles(values: readonly number[], ps: readonly number[]): Record<number, number> {
  const xs = values.filter(Number.isFinite).sort((a, b) => a - b);
  const out: Record<number, number> = {};
  for (const p of ps) out[p] = percentileSorted(xs, p);
  return out;
}

export interface MeanSd {
  n: number;
  mean: number;
  /** sample standard deviation (divisor n - 1); NaN when n < 2 */
  sd: number;
  /** coefficient of variation sd / mean; NaN when n < 2 or mean == 0 */
  cv: number;
}

/** Mean, sample SD and CV of the finite values (NaN fields when undefined). */
export function meanSd(values: readonly number[]): MeanSd {
  const xs = values.filter(Number.isFinite);
  const n = xs.length;
  if (n === 0) return { n, mean: NaN, sd: NaN, cv: NaN };
  const m = mean(xs);
  if (n < 2) return { n, mean: m, sd: NaN, cv: NaN };
  const ss = xs.reduce((s, x) => s + (x - m) ** 2, 0);
  const sd = Math.sqrt(ss / (n - 1));
  return { n, mean: m, sd, cv: m === 0 ? NaN : sd / m };
}

/** Two-sided 95% quantiles of Student's t, t(0.975, df), for df = 1..30. */
const T975: readonly number[] = [
  12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.16, 2.145, 2.131,
  2.12, 2.11, 2.101, 2.093, 2.086, 2.08, 2.074, 2.069, 2.064, 2.06, 2.056, 2.052, 2.048, 2.045, 2.042,
];
/** Larger df from the same table; beyond 120 the normal quantile 1.96 is used. */
const T975_TAIL: readonly [number, number][] = [
  [30, 2.042],
  [40, 2.021],
  [60, 2.0],
  [120, 1.98],
  [Infinity, 1.96],
];

/** t(0.975, df): exact table values for df <= 30 and 40/60/120, linear interpolation in
 *  1/df between them (the standard table interpolation), 1.96 as df -> infinity. */
export function tQuantile975(df: number): number {
  if (!(df >= 1)) return NaN;
  if (df <= 30 && Number.isInteger(df)) return T975[df - 1]!;
  if (df < 30) return T975[Math.floor(df) - 1]!; // non-integer df below 30: conservative
  for (let i = 1; i < T975_TAIL.length; i++) {
    const [d0, t0] = T975_TAIL[i - 1]!;
    const [d1, t1] = T975_TAIL[i]!;
    if (df <= d1) {
      const w = (1 / d0 - 1 / df) / (1 / d0 - (d1 === Infinity ? 0 : 1 / d1));
      return t0 + w * (t1 - t0);
    }
  }
  return 1.96;
}

export interface Ci95 extends MeanSd {
  /** half-width t(0.975, n-1) * sd / sqrt(n); NaN when n < 2 */
  half: number;
  lo: number;
  hi: number;
}

/** 95% confidence interval of the mean by Student's t: mean +- t(0.975, n-1) * sd / sqrt(n).
 *  Assumes repetitions are independent and roughly normal; with n = 3 the interval is wide
 *  (t = 4.30) on purpose. lo/hi are NaN when n < 2. */
export function meanCi95(values: readonly number[]): Ci95 {
  const m = meanSd(values);
  if (m.n < 2) return { ...m, half: NaN, lo: NaN, hi: NaN };
  const half = (tQuantile975(m.n - 1) * m.sd) / Math.sqrt(m.n);
  return { ...m, half, lo: m.mean - half, hi: m.mean + half };
}

/** mulberry32: a small, fast, seedable 32-bit PRNG returning floats in [0, 1). */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface BootstrapOptions {
  /** resamples; default 2000 */
  iterations?: number;
  /** PRNG seed; default 1 (same input + seed = same interval) */
  seed?: number;
  /** statistic of a resample; default the mean */
  stat?: (xs: readonly number[]) => number;
}

/** The resampling loop of the bootstraps below: `iterations` times, draw a resample of each
 *  sample (its size, with replacement, from one mulberry32(seed) stream, samples in
 *  order) and apply `stat` to the resamples. Returns the statistics sorted ascending. */
function bootstrapStats(samples: readonly (readonly number[])[], stat: (resamples: readonly number[][]) => number, iterations: number, seed: number): number[] {
  const rnd = mulberry32(seed);
  const resamples = samples.map((xs) => new Array<number>(xs.length));
  const stats: number[] = new Array(iterations);
  for (let i = 0; i < iterations; i++) {
    samples.forEach((xs, k) => {
      const r = resamples[k]!;
      for (let j = 0; j < xs.length; j++) r[j] = xs[Math.floor(rnd() * xs.length)]!;
    });
    stats[i] = stat(resamples);
  }
  return stats.sort((a, b) => a - b);
}

/** Percentile-bootstrap 95% interval: `iterations` resamples of size n drawn with
 *  replacement (mulberry32(seed)), the statistic of each, then the 2.5th and 97.5th
 *  percentiles (type 7) of those. Returns {estimate: stat(values), lo, hi}; lo/hi NaN when
 *  n < 2. Use for skewed data (latency percentiles) where the t interval's normality is
 *  doubtful; with n < 10 neither interval deserves much trust. */
export function bootstrapCi95(values: readonly number[], opts: BootstrapOptions = {}): { estimate: number; lo: number; hi: number } {
  const xs = values.filter(Number.isFinite);
  const stat = opts.stat ?? mean;
  const estimate = xs.length ? stat(xs) : NaN;
  if (xs.length < 2) return { estimate, lo: NaN, hi: NaN };
  const stats = bootstrapStats([xs], ([r]) => stat(r!), opts.iterations ?? 2000, opts.seed ?? 1);
  return { estimate, lo: percentileSorted(stats, 2.5), hi: percentileSorted(stats, 97.5) };
}

/** Relative change of the mean from sample a to sample b, (mean(b) - mean(a)) / |mean(a)|,
 *  as a fraction, with a 95% two-sample percentile-bootstrap interval: each of
 *  `iterations` (default 10000) resamples draws n_a values from a, then n_b from b, with
 *  replacement (mulberry32(seed), default 1, so deterministic); the relative change of
 *  their means; then the 2.5th and 97.5th percentiles. Non-finite values are ignored.
 *  lo/hi are NaN when either side has fewer than 2 values; the estimate is NaN when mean(a)
 *  is 0 and mean(b) is not (0 when both are 0). Resamples with a zero mean on the A side
 *  count as +-Infinity. */
export function relChangeCi95(a: readonly number[], b: readonly number[], opts: { iterations?: number; seed?: number } = {}): { estimate: number; lo: number; hi: number } {
  const xa = a.filter(Number.isFinite);
  const xb = b.filter(Number.isFinite);
  const rel = relOfMeans;
  if (!xa.length || !xb.length) return { estimate: NaN, lo: NaN, hi: NaN };
  const ma = mean(xa);
  const mb = mean(xb);
  const estimate = ma === 0 && mb !== 0 ? NaN : rel(ma, mb);
  if (xa.length < 2 || xb.length < 2 || Number.isNaN(estimate)) return { estimate, lo: NaN, hi: NaN };
  const stats = bootstrapStats([xa, xb], ([ra, rb]) => rel(mean(ra!), mean(rb!)), opts.iterations ?? 10_000, opts.seed ?? 1);
  return { estimate, lo: percentileSorted(stats, 2.5), hi: percentileSorted(stats, 97.5) };
}

/** Relative change of the mean from A to B for PAIRED samples, as a fraction, with a 95%
 *  t-interval. Pair i is (a[i], b[i]): the two sides measured under the same conditions, e.g.
 *  repetition i of two protocols that met the same impairment seed (common random numbers).
 *  Pairs with a non-finite value on either side are dropped; n = the pairs left.
 *
 *  Estimate: R - 1 with R = mean(b) / mean(a) over the pairs, i.e. (mean(b) - mean(a)) /
 *  mean(a), the same estimand as relChangeCi95, so with every repetition paired the paired
 *  and the unpaired result have the same estimate and differ only in their interval.
 *  Interval: Student's t on the paired residuals d_i = b_i - R * a_i (the paired differences
 *  once A is scaled to B's level; they average to 0 by construction):
 *
 *      R - 1 +- t(0.975, n - 1) * sd(d) / (sqrt(n) * mean(a))
 *
 *  the first-order (delta-method) interval of a ratio of paired means. What both sides of a
 *  pair share (the loss sequence of that repetition) scales a_i and b_i alike and drops out
 *  of d: b = a / 2 pair by pair gives exactly [-50%, -50%], however much a varies.
 *  Hand check: a = 100, 200, 300, b = 50, 110, 140: R = 0.5, d = 0, 10, -10, sd(d) = 10,
 *  half = 4.303 * 10 / (sqrt(3) * 200) = 0.1242: -50% [-62.4%, -37.6%].
 *
 *  Why not the percentile bootstrap over pairs (as relChangeCi95 does for two samples): at
 *  the repetition counts we run it is far too narrow. Simulated (page times lognormal with a
 *  shared per-repetition factor, or with RTO spikes in 20% of repetitions; 4000 runs each): the bootstrap's
 *  95% interval covered the true change 75% of the time at n = 3, 83% at n = 5, 89% at
 *  n = 10; this t-interval 93.5-94.3% at each n (Fieller's exact interval: 95-97%, but
 *  unbounded in many n = 3-5 samples). Why not the t-interval of b_i - a_i divided by
 *  mean(a): it ignores the denominator's uncertainty, and page-time effects are
 *  multiplicative, so raw differences grow with the level.
 *  Assumes mean(a) is well away from 0 relative to its noise (true of times). When no value is
 *  negative, lo is at least -1 (-100%: the ratio of two non-negative means is >= 0). lo/hi are NaN
 *  when n < 2; the estimate is NaN when mean(a) is 0 and mean(b) is not (0 when both are 0,
 *  with lo = hi = 0). Throws a RangeError when a and b differ in length (not pairs). */
export function pairedRelChangeCi95(a: readonly number[], b: readonly number[]): { estimate: number; lo: number; hi: number; n: number } {
  if (a.length !== b.length) throw new RangeError(`pairedRelChangeCi95: a and b must be pairs of equal length, got ${a.length} and ${b.length}`);
  const xa: number[] = [];
  const xb: number[] = [];
  a.forEach((x, i) => {
    const y = b[i]!;
    if (Number.isFinite(x) && Number.isFinite(y)) xa.push(x), xb.push(y);
  });
  const n = xa.length;
  if (!n) return { estimate: NaN, lo: NaN, hi: NaN, n };
  const ma = mean(xa);
  const mb = mean(xb);
  if (ma === 0) return mb === 0 && n >= 2 ? { estimate: 0, lo: 0, hi: 0, n } : { estimate: mb === 0 ? 0 : NaN, lo: NaN, hi: NaN, n };
  const ratio = mb / ma;
  const estimate = relOfMeans(ma, mb);
  if (n < 2) return { estimate, lo: NaN, hi: NaN, n };
  const d = xa.map((x, i) => xb[i]! - ratio * x);
  const half = (tQuantile975(n - 1) * meanSd(d).sd) / (Math.sqrt(n) * Math.abs(ma));
  // with no negative value the ratio cannot fall below 0: a linear interval that reaches
  // below -100% (large noise, few pairs) is cut there
  const floor = xa.every((x) => x >= 0) && xb.every((y) => y >= 0) ? -1 : -Infinity;
  return { estimate, lo: Math.max(floor, estimate - half), hi: estimate + half, n };
}

/** (mb - ma) / |ma|; +-Infinity when ma is 0 and mb is not, 0 when both are. */
function relOfMeans(ma: number, mb: number): number {
  return ma === 0 ? (mb === 0 ? 0 : mb > 0 ? Infinity : -Infinity) : (mb - ma) / Math.abs(ma);
}

/** Share of a total: sum(part_i) / sum(whole_i) over the i where both are finite, i.e. the
 *  fraction of all the whole's time spent in the part (e.g. handshake time / page time over
 *  the repetitions; a ratio of sums, so long repetitions weigh more, as they do in the mean
 *  page time). NaN when nothing is left or the wholes sum to 0. Throws on unequal lengths. */
export function shareOfTotal(parts: readonly number[], wholes: readonly number[]): number {
  if (parts.length !== wholes.length) throw new RangeError(`shareOfTotal: parts and wholes differ in length (${parts.length} vs ${wholes.length})`);
  let sp = 0;
  let sw = 0;
  parts.forEach((p, i) => {
    const w = wholes[i]!;
    if (Number.isFinite(p) && Number.isFinite(w)) (sp += p), (sw += w);
  });
  return sw === 0 ? NaN : sp / sw;
}

// ---------------------------------------------------------------------------------------
// Completion spread
// ---------------------------------------------------------------------------------------

/** Completion spread of one page load, ms: p90 - p10 (type 7) of the TTLB (ttlb_ms, from
 *  the request's start to its last byte) of the requests that completed (summary.csv
 *  completion_spread_ms).
 *  Small = objects finish together (fair sharing); large = some objects finish far later
 *  than others (serialization, HoL). null when fewer than 2 requests completed. */
export function completionSpreadMs(requests: readonly Pick<RequestRow, 'ttlb_ms'>[]): number | null {
  const t = requests.map((r) => r.ttlb_ms).filter((x): x is number => x !== null && Number.isFinite(x));
  if (t.length < 2) return null;
  t.sort((a, b) => a - b);
  return percentileSorted(t, 90) - percentileSorted(t, 10);
}

// ---------------------------------------------------------------------------------------
// Stalls
// ---------------------------------------------------------------------------------------

/** A stall needs a silence longer than STALL_RTT_FACTOR x base RTT ... */
export const STALL_RTT_FACTOR = 1.5;
/** ... and never shorter than this floor, ms. */
export const STALL_FLOOR_MS = 10;

/** Stall threshold T for a path, ms: T = max(1.5 x base RTT, 10 ms).
 *
 *  Why 1.5 RTT: while a transfer is ACK-clocked and loss-free, an unfinished stream that
 *  has started receiving is never silent for more than about one RTT (at worst the sender
 *  waits one RTT for ACKs to open its window, e.g. in slow start). A silence longer than
 *  1.5 RTT therefore cannot come from ACK clocking: the data was held back by loss
 *  recovery (a loss in slow start costs ~2 RTT of silence, an RTO >= 200 ms on Linux, a
 *  QUIC PTO ~1.5 RTT + ack delay), by TCP head-of-line blocking, flow control or the
 *  sender's scheduler. The extra 0.5 RTT absorbs jitter and event-loop delays. A fast
 *  retransmit in steady state (~1 RTT of silence) is deliberately NOT counted: by timing
 *  alone it cannot be told apart from ACK-clock idle time.
 *  Why the 10 ms floor: with RTT near 0, timer granularity and event-loop dispatch in the
 *  client (a few ms) would otherwise turn ordinary scheduling gaps into stalls.
 *  Base RTT = configured delay both ways, without queueing: with a rate limit and a deep
 *  queue, the real RTT is larger and T should be raised (pass a larger base RTT). */
export function stallThresholdMs(baseRttMs: number): number {
  const rtt = Number.isFinite(baseRttMs) && baseRttMs > 0 ? baseRttMs : 0;
  return Math.max(STALL_RTT_FACTOR * rtt, STALL_FLOOR_MS);
}

export interface RequestStall {
  req_id: number;
  /** total stall time of the request, ms (sum of its interval lengths) */
  stall_ms: number;
  /** stall intervals [from_ms, to_ms], ms since the cell's t0, ascending, disjoint */
  intervals: [number, number][];
}

export interface StallAnalysis {
  /** the threshold T used, ms */
  thresholdMs: number;
  /** one entry per request, in input order (requests that never got a byte: stall_ms 0) */
  perRequest: RequestStall[];
  /** see coStallIndex(); null when there is no stall time at all */
  coStallIndex: number | null;
  /** mean of stall_ms over all requests given (0 stalls count), ms; NaN for no requests */
  stallMsMean: number;
  /** total stall time, summed over requests, ms */
  stallMsTotal: number;
  /** see holStallIndex(); null when no stall happened on a shared connection */
  holStallIndex: number | null;
}

/** When a request's first / last body byte arrived, ms on the job's clock (the clock of
 *  start_ms and chunk t_ms). ttfb_ms and ttlb_ms in requests.csv are durations from
 *  start_ms; null when never reached. */
export function firstByteAt(r: Pick<RequestRow, 'start_ms' | 'ttfb_ms'>): number | null {
  return r.ttfb_ms === null ? null : r.start_ms + r.ttfb_ms;
}
export function lastByteAt(r: Pick<RequestRow, 'start_ms' | 'ttlb_ms'>): number | null {
  return r.ttlb_ms === null ? null : r.start_ms + r.ttlb_ms;
}

/** The receiving window of a request, [first byte, last byte], or null if it never
 *  received anything. First byte = ttfb_ms, or the first chunk if ttfb is missing. Last
 *  byte = ttlb_ms; for a request that failed or never finished (ttlb_ms null) the last
 *  chunk seen, because the recorder has no time for the failure itself. */
function receivingWindow(r: RequestRow, chunkTimes: readonly number[]): [number, number] | null {
  const first = firstByteAt(r) ?? chunkTimes[0] ?? null;
  if (first === null || !Number.isFinite(first)) return null;
  const last = lastByteAt(r) ?? chunkTimes[chunkTimes.length - 1] ?? first;
  return [first, Math.max(first, last)];
}

/** Stall intervals of one stream.
 *
 *  Definition. A stream's receiving window is [first byte, last byte] (see above). Its
 *  arrival events are the window's two ends plus every chunk time inside it. A stall is a
 *  gap between consecutive arrival events that is longer than T = stallThresholdMs(RTT);
 *  the stall interval is the whole gap [previous arrival, next arrival] (T only decides
 *  whether a gap is abnormal, it is not subtracted). stall_ms is the sum of the gaps.
 *
 *  Why from the first byte and not from the request start: the wait for the first byte
 *  mixes handshakes, server think time and, for HTTP/1.1, queueing behind other requests
 *  on the same connection; TTFB already reports that. A stall is an interruption of a
 *  transfer that is under way, which is what transport head-of-line blocking causes. */
export function streamStalls(r: RequestRow, chunkTimesMs: readonly number[], thresholdMs: number): RequestStall {
  const times = [...chunkTimesMs].filter(Number.isFinite).sort((a, b) => a - b);
  const win = receivingWindow(r, times);
  const intervals: [number, number][] = [];
  if (win) {
    const [from, to] = win;
    let prev = from;
    for (const t of [...times.filter((x) => x > from && x < to), to]) {
      if (t - prev > thresholdMs) intervals.push([prev, t]);
      prev = t;
    }
  }
  return { req_id: r.req_id, stall_ms: intervals.reduce((s, [a, b]) => s + (b - a), 0), intervals };
}

/** Co-stall index of one page load (one protocol x cell x repetition), in [0, 1].
 *
 *  Definition. At time t a stream is *active* if it is inside its receiving window
 *  [first byte, last byte) and *stalled* if t is inside one of its stall intervals
 *  (stalled streams are always active). Let A(t) and S(t) be their counts. Time t is
 *  *co-stalled* when S(t) >= 2 and S(t) >= A(t) / 2: at least half of the streams that
 *  are receiving are silent together, and never a lone stream. Then
 *
 *      coStallIndex = integral of S(t) over co-stalled t / integral of S(t) over all t
 *
 *  i.e. the fraction of all stall time (summed over streams, the same stall time as
 *  stall_ms) that was spent in a co-stall. 1 = stalls always hit many streams at once
 *  (transport HoL blocking: one lost TCP segment holds back every HTTP/2 stream); 0 =
 *  stalls are private to a stream (HTTP/3 over QUIC, or independent TCP connections that
 *  lose at different times). null when the run has no stall time.
 *  Caveat: a stream starved by the sender's scheduler (many streams sharing a small
 *  window) is silent too; compare against the loss-free cell of the same protocol. */
export function coStallIndex(windows: readonly [number, number][], stalls: readonly [number, number][]): number | null {
  type Ev = { t: number; da: number; ds: number };
  const evs: Ev[] = [];
  for (const [a, b] of windows) if (b > a) evs.push({ t: a, da: 1, ds: 0 }, { t: b, da: -1, ds: 0 });
  for (const [a, b] of stalls) if (b > a) evs.push({ t: a, da: 0, ds: 1 }, { t: b, da: 0, ds: -1 });
  evs.sort((x, y) => x.t - y.t);
  let active = 0;
  let stalled = 0;
  let total = 0;
  let co = 0;
  for (let i = 0; i < evs.length; ) {
    const t = evs[i]!.t;
    while (i < evs.length && evs[i]!.t === t) {
      active += evs[i]!.da;
      stalled += evs[i]!.ds;
      i++;
    }
    if (i >= evs.length) break;
    const dt = evs[i]!.t - t;
    if (stalled > 0 && dt > 0) {
      total += stalled * dt;
      // a stall interval always lies within its window, so active >= stalled here
      if (stalled >= 2 && stalled >= Math.max(active, stalled) / 2) co += stalled * dt;
    }
  }
  return total > 0 ? co / total : null;
}

/** Head-of-line stall index of one page load, in [0, 1], or null.
 *
 *  Definition. Only stalls on *shared* connections count: a stall interval [a, b] of a
 *  stream whose connection had at least one other stream inside its receiving window at
 *  time a. The connection's arrivals are the chunk times of all its streams. Within [a, b]
 *  the connection is *silent* over every gap between consecutive connection arrivals (a and
 *  b included as ends) longer than T. Then
 *
 *      holStallIndex = silent time within those stalls / total time of those stalls
 *
 *  1 = whenever a stream stalled, its whole connection delivered nothing (TCP head-of-line
 *  blocking: the other HTTP/2 streams wait for the same retransmission); 0 = the connection
 *  kept delivering to other streams while this one waited (QUIC's per-stream delivery, or
 *  plain bandwidth sharing on a rate-limited link, which co_stall_index cannot tell from
 *  HoL). null when no stall happened on a shared connection (HTTP/1.x: one response per
 *  connection at a time). A loss whose recovery silences the whole QUIC connection (a tail
 *  loss with nothing else in flight) counts too: the metric measures connection silence.
 *  Chunks of different streams arrive in separate reads, so "delivered nothing" is as
 *  seen by the client application, the same vantage point as the stalls themselves. */
export function holStallIndex(
  streams: readonly { conn: string; window: [number, number] | null; times: readonly number[]; stalls: readonly [number, number][] }[],
  thresholdMs: number,
): number | null {
  const byConn = new Map<string, typeof streams[number][]>();
  for (const st of streams) {
    let l = byConn.get(st.conn);
    if (!l) byConn.set(st.conn, (l = []));
    l.push(st);
  }
  let total = 0;
  let silent = 0;
  for (const group of byConn.values()) {
    if (group.length < 2) continue;
    const arrivals = group.flatMap((g) => g.times).sort((x, y) => x - y);
    for (const st of group) {
      for (const [a, b] of st.stalls) {
        const shared = group.some((o) => o !== st && o.window && o.window[0] <= a && a < o.window[1]);
        if (!shared || b <= a) continue;
        total += b - a;
        let prev = a;
        let lo = 0;
        let hi = arrivals.length;
        while (lo < hi) {
          const mid = (lo + hi) >> 1;
          if (arrivals[mid]! <= a) lo = mid + 1;
          else hi = mid;
        }
        for (let i = lo; i < arrivals.length && arrivals[i]! < b; i++) {
          if (arrivals[i]! - prev > thresholdMs) silent += arrivals[i]! - prev;
          prev = arrivals[i]!;
        }
        if (b - prev > thresholdMs) silent += b - prev;
      }
    }
  }
  return total > 0 ? silent / total : null;
}

/** Stall analysis of one page load: `requests` and `chunks` of ONE protocol x cell x
 *  repetition (chunks are matched to requests by req_id; extra chunks are ignored).
 *  baseRttMs = the path's configured RTT (rtt_ms in summary.csv). See streamStalls and
 *  coStallIndex for the definitions; `thresholdMs` overrides T. */
export function stallAnalysis(
  requests: readonly RequestRow[],
  chunks: readonly Pick<ChunkRow, 'req_id' | 't_ms'>[],
  baseRttMs: number,
  opts: { thresholdMs?: number } = {},
): StallAnalysis {
  const thresholdMs = opts.thresholdMs ?? stallThresholdMs(baseRttMs);
  const byReq = new Map<number, number[]>();
  for (const c of chunks) {
    let l = byReq.get(c.req_id);
    if (!l) byReq.set(c.req_id, (l = []));
    l.push(c.t_ms);
  }
  const windows: [number, number][] = [];
  const allStalls: [number, number][] = [];
  const streams: Parameters<typeof holStallIndex>[0][number][] = [];
  const perRequest = requests.map((r) => {
    const times = (byReq.get(r.req_id) ?? []).filter(Number.isFinite).sort((a, b) => a - b);
    const w = receivingWindow(r, times);
    if (w) windows.push(w);
    const s = streamStalls(r, times, thresholdMs);
    allStalls.push(...s.intervals);
    streams.push({ conn: r.conn_id, window: w, times, stalls: s.intervals });
    return s;
  });
  const stallMsTotal = perRequest.reduce((s, r) => s + r.stall_ms, 0);
  return {
    thresholdMs,
    perRequest,
    coStallIndex: coStallIndex(windows, allStalls),
    holStallIndex: holStallIndex(streams, thresholdMs),
    stallMsMean: perRequest.length ? stallMsTotal / perRequest.length : NaN,
    stallMsTotal,
  };
}

/** Key of one page load / load run in the records: cell, protocol, repetition. */
export function runKey(r: { cell: string; protocol: string; rep: number }): string {
  return `${r.cell}\u0000${r.protocol}\u0000${r.rep}`;
}

/** Group rows by runKey (cell x protocol x rep), preserving input order within a group. */
export function groupByRun<T extends { cell: string; protocol: string; rep: number }>(rows: readonly T[]): Map<string, T[]> {
  const m = new Map<string, T[]>();
  for (const r of rows) {
    const k = runKey(r);
    let l = m.get(k);
    if (!l) m.set(k, (l = []));
    l.push(r);
  }
  return m;
}
