// The `messages` workload: one long-lived channel (ws, SSE, long polling, gRPC), then
//  - push: the server sends `messages` messages on a fixed schedule; one-way latency is the
//    client's receive time minus the message's due time on the server (same kernel clock in every
//    namespace, so no clock sync is involved);
//  - echo: the client sends on a schedule with up to `window` in flight; the server returns
//    each message; round-trip latency = receive time - the client's own send stamp;
//  - upload: the client streams `messages` messages on the schedule (no window: a stream
//    takes them all), then half-closes; the server answers once with what arrived and when
//    (driver.finish); one-way latency = the server's arrival time - the client's send stamp.
// The job ends when every message arrived, or at duration_s. Lost = never arrived;
// duplicated = arrived more than once (e.g. replayed after a resume). Dead-peer detections
// reported by the driver are kept with their wall-clock time, for detect_ms.
import { randomBytes } from 'node:crypto';
import { nowMs } from '../../contract/messages.ts';
import { percentiles } from '../metrics.ts';
import { UploadMismatchError, type MessageDriver } from '../drivers/messages.ts';
import type { MessagesWorkloadT } from '../scenario/schema.ts';

export interface MessageRow {
  cell: string;
  protocol: string;
  rep: number;
  seq: number;
  /** send stamp (server's due time for push, client's send time for echo), ms since the job's start */
  sent_ms: number;
  recv_ms: number;
  latency_ms: number;
  bytes: number;
  /** 1 for the second and later arrivals of a seq */
  dup: number;
}

export interface DeadEvent {
  atMs: number;
  mechanism: string;
  detail: string;
}

export interface MessagesResult {
  pattern: 'echo' | 'push' | 'upload';
  sent: number;
  received: number;
  lost: number;
  dup: number;
  durationS: number;
  msgsPerS: number | null;
  latencyMs: { p50: number; p90: number; p99: number; max: number } | null;
  dead: DeadEvent[];
  reconnects: number;
  /** wall clock (nowMs) of the job's start, so the runner can relate outages and server events */
  t0Wall: number;
}

/** Rows kept per job (latency stats always cover every message). */
const MAX_ROWS = 100_000;

const r3 = (x: number) => Math.round(x * 1000) / 1000;

export async function runMessages(driver: MessageDriver, w: MessagesWorkloadT, ids: { cell: string; protocol: string; rep: number }, rows: MessageRow[], opts: { requestTimeoutMs: number }): Promise<MessagesResult> {
  const t0Wall = nowMs();
  const seen = new Map<number, number>();
  const latencies: number[] = [];
  const dead: DeadEvent[] = [];
  let dup = 0;
  let firstRecv = Infinity;
  let lastRecv = 0;
  let sent = 0;
  let wake: (() => void) | null = null;
  const poke = () => {
    const w = wake;
    wake = null;
    w?.();
  };
  const inFlight = new Map<number, number>(); // echo: seq -> send wall time

  const onMessage = (seq: number, tMs: number, bytes: number, recvMs?: number) => {
    const now = recvMs ?? nowMs();
    const n = (seen.get(seq) ?? 0) + 1;
    seen.set(seq, n);
    if (n > 1) dup++;
    else latencies.push(now - tMs);
    firstRecv = Math.min(firstRecv, now);
    lastRecv = Math.max(lastRecv, now);
    inFlight.delete(seq);
    if (rows.length < MAX_ROWS) rows.push({ ...ids, seq, sent_ms: r3(tMs - t0Wall), recv_ms: r3(now - t0Wall), latency_ms: r3(now - tMs), bytes, dup: n > 1 ? 1 : 0 });
    poke();
  };
  const onDead = (mechanism: string, detail: string) => {
    dead.push({ atMs: nowMs(), mechanism, detail: detail.slice(0, 200) });
  };

  const stream = randomBytes(8).toString('hex');
  const deadline = t0Wall + w.duration_s * 1000;
  const sleepUntil = (t: number) =>
    new Promise<void>((r) => {
      const timer = setTimeout(() => ((wake = null), r()), Math.max(0, Math.min(t, deadline) - nowMs()));
      wake = () => (clearTimeout(timer), r());
    });

  await driver.open({ pattern: w.pattern, stream, count: w.messages, intervalMs: w.interval_ms, bytes: w.message_bytes, resume: w.resume }, { onMessage, onDead });
  const tStart = nowMs();
  if (w.pattern === 'push') {
    sent = w.messages;
    while (seen.size < w.messages && nowMs() < deadline) await sleepUntil(deadline);
  } else if (w.pattern === 'upload') {
    if (!driver.finish) throw new Error(`${driver.protocol} cannot finish an upload`);
    for (let next = 1; next <= w.messages && nowMs() < deadline; next++) {
      const due = tStart + (next - 1) * w.interval_ms;
      while (due > nowMs() && nowMs() < deadline) await sleepUntil(due);
      if (nowMs() >= deadline) break;
      sent++;
      driver.send(next);
    }
    // the answer comes after the half-close; a failed or late one leaves every message lost
    const left = deadline - nowMs();
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        driver.finish().catch((e: Error) => {
          if (e instanceof UploadMismatchError) throw e; // the job fails with it
          onDead('error:upload', e.message);
        }),
        new Promise<void>((r) => (timer = setTimeout(() => (onDead('timeout', `no upload answer within duration_s`), r()), Math.max(0, left)))),
      ]);
    } finally {
      clearTimeout(timer);
    }
  } else {
    let next = 1;
    while (nowMs() < deadline) {
      const now = nowMs();
      // an echo not back within the request timeout is lost; it frees its window slot
      for (const [seq, t] of inFlight) if (now - t > opts.requestTimeoutMs) inFlight.delete(seq);
      if (next > w.messages && inFlight.size === 0) break;
      const due = tStart + (next - 1) * w.interval_ms;
      if (next <= w.messages && inFlight.size < w.window && due <= now) {
        inFlight.set(next, now);
        sent++;
        driver.send(next++);
        continue;
      }
      const oldest = Math.min(...inFlight.values(), Infinity);
      const wakeAt = Math.min(next <= w.messages && inFlight.size < w.window ? due : Infinity, oldest + opts.requestTimeoutMs);
      await sleepUntil(Number.isFinite(wakeAt) ? wakeAt : deadline);
    }
  }
  const end = nowMs();
  const lat = latencies.sort((a, b) => a - b);
  const pct = percentiles(lat, [50, 90, 99]);
  const unique = seen.size;
  const span = (lastRecv - Math.min(firstRecv, tStart)) / 1000;
  return {
    pattern: w.pattern,
    sent,
    received: unique,
    lost: Math.max(0, (w.pattern === 'push' ? w.messages : sent) - unique),
    dup,
    durationS: r3((end - tStart) / 1000),
    msgsPerS: unique >= 2 && span > 0 ? r3(unique / span) : null,
    // type-7 percentiles (harness/metrics.ts), the definition every summary.csv percentile uses
    latencyMs: lat.length ? { p50: r3(pct[50]!), p90: r3(pct[90]!), p99: r3(pct[99]!), max: r3(lat[lat.length - 1]!) } : null,
    dead,
    reconnects: driver.reconnects(),
    t0Wall,
  };
}
