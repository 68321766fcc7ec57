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
//
// The echo window (one rule for every echo driver, here): a message holds a slot from its
// send until it is settled, delivered or lost. It is settled lost (a messages.csv row with
// lost_ms and lost_by) at once when
//  - the client detects its connection dead (onDead: every message outstanding then is lost,
//    lost_by = the mechanism, lost_ms = the detection time), as an application does that
//    gives up on a dead connection and resumes on a new one;
//  - the driver reports it lost (onLost: it could not be handed to an open channel while the
//    driver reconnects, 'not-sent'; its call failed, 'error:<STATUS>');
//  - it is not back within request_ms ('request-timeout').
// A message settled lost stays lost: a late reply (from the old connection) is not a
// delivery, not a duplicate, only counted in `late`. So after an outage the freed window
// keeps the schedule going on the new connection instead of waiting out request_ms.
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
  /** echo: a message settled lost (recv_ms, latency_ms NaN, bytes 0): when, ms since the job's
   *  start (NaN for a delivered message) */
  lost_ms: number;
  /** why it was settled lost: the dead-peer mechanism, 'request-timeout', 'not-sent',
   *  'error:<STATUS>' ('' for a delivered message) */
  lost_by: string;
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
  /** echo: replies that arrived after their message was settled lost (not counted as delivered) */
  late: number;
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
  // echo: the window, seq -> send wall time, until settled (see the top of the file)
  const inFlight = new Map<number, number>();
  const settledLost = new Set<number>();
  let late = 0;
  /** echo: settle an outstanding message lost at `atMs` and free its slot */
  const settleLost = (seq: number, by: string, atMs: number) => {
    const t = inFlight.get(seq);
    if (t === undefined) return;
    inFlight.delete(seq);
    settledLost.add(seq);
    if (rows.length < MAX_ROWS) rows.push({ ...ids, seq, sent_ms: r3(t - t0Wall), recv_ms: NaN, latency_ms: NaN, bytes: 0, dup: 0, lost_ms: r3(atMs - t0Wall), lost_by: by });
    poke();
  };

  const onMessage = (seq: number, tMs: number, bytes: number, recvMs?: number) => {
    if (settledLost.has(seq)) return void late++;
    const now = recvMs ?? nowMs();
    const n = (seen.get(seq) ?? 0) + 1;
    seen.set(seq, n);
    if (n > 1) dup++;
    else latencies.push(now - tMs);
    firstRecv = Math.min(firstRecv, now);
    lastRecv = Math.max(lastRecv, now);
    inFlight.delete(seq);
    if (rows.length < MAX_ROWS) rows.push({ ...ids, seq, sent_ms: r3(tMs - t0Wall), recv_ms: r3(now - t0Wall), latency_ms: r3(now - tMs), bytes, dup: n > 1 ? 1 : 0, lost_ms: NaN, lost_by: '' });
    poke();
  };
  const onDead = (mechanism: string, detail: string) => {
    const atMs = nowMs();
    dead.push({ atMs, mechanism, detail: detail.slice(0, 200) });
    // echo: whatever was outstanding on the dead connection is lost now (the window rule)
    for (const seq of [...inFlight.keys()]) settleLost(seq, mechanism, atMs);
  };
  const onLost = (seq: number, reason: string) => settleLost(seq, reason, nowMs());

  const stream = randomBytes(8).toString('hex');
  const deadline = t0Wall + w.duration_s * 1000;
  const sleepUntil = (t: number) =>
    new Promise<void>((r) => {
      const timer = setTimeout(() => ((wake = null), r()), Math.max(0, Math.min(t, deadline) - nowMs()));
      wake = () => (clearTimeout(timer), r());
    });

  await driver.open({ pattern: w.pattern, stream, count: w.messages, intervalMs: w.interval_ms, bytes: w.message_bytes, resume: w.resume }, { onMessage, onDead, onLost });
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
      for (const [seq, t] of [...inFlight]) if (now - t > opts.requestTimeoutMs) settleLost(seq, 'request-timeout', now);
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
    late,
    t0Wall,
  };
}
