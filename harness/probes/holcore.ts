// The arithmetic of exact head-of-line delay, transport-neutral (harness/probes/hol.ts feeds
// it from a capture). For every body byte a stream received:
//   a = its arrival at the client host (capture timestamp of the first packet carrying it)
//   s = its stream's readiness: the latest arrival among the bytes of its own stream up to
//       and including it (and the rest of its own frame in its decryption unit)
//   o = the transport's readiness: TCP delivers a TLS record once every byte of the
//       connection up to the record's end arrived, so o = latest arrival of connection bytes
//       [0, record end); QUIC delivers each stream on its own, so o = s
//   D = its delivery to the application (the driver chunk that carried it, on the wall clock)
// self wait = [a, min(s, D)]  (an earlier byte of the same stream was missing)
// cross wait = [max(a, s), min(o, D)]  (a byte of another stream, or the connection's own
//              framing, was missing)
// Per stream, the union of the bytes' wait intervals is that stream's held time; the job's
// hol_self_ms / hol_cross_ms are the sums over streams.

/** One stream's received body bytes, in body order, with the four times of each byte
 *  (wall ms). Arrays of equal length: the stream's body size. */
export interface StreamTimes {
  key: string;
  a: Float64Array;
  s: Float64Array;
  o: Float64Array;
  d: Float64Array;
  /** Which byte set s and o (for loss attribution, lossattr.ts): the transport byte space
   *  that holds the blockers (TCP: the connection's server-to-client bytes; QUIC: the
   *  stream's own offsets) and, per body byte, the position in that space of the byte whose
   *  arrival is s (sBy) and o (oBy); -1 when not known. Optional: summarize() ignores them. */
  space?: string;
  sBy?: Float64Array;
  oBy?: Float64Array;
}

export interface HolSummary {
  streams: number;
  bytes: number;
  hol_self_ms: number;
  hol_cross_ms: number;
  hol_cross_ms_per_stream: number;
  hol_cross_bytes: number;
  /** delivery later than the stream's own readiness (D - s), over bytes: what a transport
   *  with per-stream delivery would still have to explain (max and p99, ms) */
  lag_after_self_max_ms: number;
  lag_after_self_p99_ms: number;
  /** bytes whose delivery time was not found in the chunks (counted in `bytes`, not in the sums) */
  undelivered_bytes: number;
}

/** Total length of the union of intervals [from, to] (to > from). */
export function unionMs(iv: [number, number][]): number {
  if (!iv.length) return 0;
  iv.sort((x, y) => x[0] - y[0]);
  let total = 0;
  let [cs, ce] = iv[0]!;
  for (const [s, e] of iv.slice(1)) {
    if (s > ce) {
      total += ce - cs;
      [cs, ce] = [s, e];
    } else if (e > ce) ce = e;
  }
  return total + (ce - cs);
}

const r3 = (x: number) => Math.round(x * 1000) / 1000;

/** Sum the waits of every stream (see the header). */
export function summarize(streams: StreamTimes[]): HolSummary {
  let selfTotal = 0;
  let crossTotal = 0;
  let crossBytes = 0;
  let bytes = 0;
  let undelivered = 0;
  const lags: number[] = [];
  for (const st of streams) {
    const selfIv: [number, number][] = [];
    const crossIv: [number, number][] = [];
    let last = '';
    for (let i = 0; i < st.a.length; i++) {
      bytes++;
      const a = st.a[i]!, s = st.s[i]!, o = st.o[i]!, d = st.d[i]!;
      if (!Number.isFinite(d) || !Number.isFinite(a)) {
        undelivered++;
        continue;
      }
      const selfEnd = Math.min(s, d);
      const crossStart = Math.max(a, s);
      const crossEnd = Math.min(o, d);
      if (crossEnd > crossStart) crossBytes++;
      // runs of bytes with the same four times give the same intervals: keep one
      const sig = `${a}|${s}|${o}|${d}`;
      if (sig === last) continue;
      last = sig;
      lags.push(d - s);
      if (selfEnd > a) selfIv.push([a, selfEnd]);
      if (crossEnd > crossStart) crossIv.push([crossStart, crossEnd]);
    }
    selfTotal += unionMs(selfIv);
    crossTotal += unionMs(crossIv);
  }
  lags.sort((x, y) => x - y);
  return {
    streams: streams.length,
    bytes,
    hol_self_ms: r3(selfTotal),
    hol_cross_ms: r3(crossTotal),
    hol_cross_ms_per_stream: streams.length ? r3(crossTotal / streams.length) : 0,
    hol_cross_bytes: crossBytes,
    lag_after_self_max_ms: lags.length ? r3(lags[lags.length - 1]!) : 0,
    lag_after_self_p99_ms: lags.length ? r3(lags[Math.min(lags.length - 1, Math.floor(lags.length * 0.99))]!) : 0,
    undelivered_bytes: undelivered,
  };
}

/** Delivery time (wall ms) of every body byte of a stream from its chunks (cumulative byte
 *  counts, in order): byte i is delivered by the first chunk whose cum_bytes exceeds i. */
export function deliveryTimes(size: number, chunks: { tWallMs: number; cum: number }[]): Float64Array {
  const d = new Float64Array(size).fill(Infinity);
  let i = 0;
  for (const c of chunks) for (; i < Math.min(c.cum, size); i++) d[i] = c.tWallMs;
  return d;
}
