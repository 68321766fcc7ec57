// The `load` workload: a warm-up phase (not measured), then a measured phase of fixed length.
// closed: `concurrency` loops, each issuing the next request when the previous one ends.
// fixed-rate: requests start on a schedule; latency counts from the *intended* start, so a
// stalled server cannot hide its stall by slowing the client (coordinated omission).
// Latencies go to an HDR histogram (1 us .. 10 min, 3 significant digits).
import * as hdr from 'hdr-histogram-js';
import type { Driver } from '../drivers/types.ts';
import type { Recorder } from '../recorder.ts';
import type { LoadWorkloadT } from '../scenario/schema.ts';

export interface LoadResult {
  requests: number;
  errors: number;
  durationS: number;
  rps: number;
  latencyMs: { p50: number; p95: number; p99: number; max: number; mean: number };
  /** requests that could not start on schedule because too many were in flight */
  late: number;
}

/** Cap on requests in flight at fixed rate, so a dead path cannot pile up unbounded work. */
const MAX_IN_FLIGHT = 10_000;

export async function runLoad(driver: Driver, w: LoadWorkloadT, rec: Recorder, hist = hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 600_000_000, numberOfSignificantValueDigits: 3 })): Promise<LoadResult> {
  const path = `/bytes/${w.body_bytes}`;
  let measuring = false;
  let measured = 0;
  let errors = 0;
  const record = (startMs: number) => (ok: boolean) => {
    if (!measuring) return;
    measured++;
    if (!ok) errors++;
    else hist.recordValue(Math.max(1, Math.round((rec.now() - startMs) * 1000))); // microseconds
  };
  const one = async (startMs: number) => {
    const done = record(startMs);
    const before = rec.errors;
    await driver.get(path, rec.begin(path, 0, startMs));
    done(rec.errors === before);
  };
  const warmEnd = rec.now() + w.warmup_s * 1000;
  const end = warmEnd + w.duration_s * 1000;
  let late = 0;
  const phase = setTimeout(() => (measuring = true), w.warmup_s * 1000);
  if (w.mode === 'closed') {
    await Promise.all(
      Array.from({ length: w.concurrency }, async () => {
        while (rec.now() < end) await one(rec.now());
      }),
    );
  } else {
    const intervalMs = 1000 / w.rate_rps!;
    const inflight = new Set<Promise<void>>();
    const t0 = rec.now();
    for (let i = 0; ; i++) {
      const due = t0 + i * intervalMs;
      if (due >= end) break;
      const wait = due - rec.now();
      if (wait > 0.5) await new Promise((r) => setTimeout(r, wait));
      if (inflight.size >= MAX_IN_FLIGHT) {
        late++;
        continue;
      }
      const p = one(due).finally(() => inflight.delete(p));
      inflight.add(p);
    }
    await Promise.all(inflight);
  }
  clearTimeout(phase);
  const ms = (q: number) => hist.getValueAtPercentile(q) / 1000;
  return {
    requests: measured,
    errors,
    durationS: w.duration_s,
    rps: measured / w.duration_s,
    latencyMs: { p50: ms(50), p95: ms(95), p99: ms(99), max: hist.maxValue / 1000, mean: hist.mean / 1000 },
    late,
  };
}
