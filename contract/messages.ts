// The message contract shared by every messaging protocol (ws, sse, longpoll, grpc-*): the
// message format, the push schedule the server follows, and the keepalive settings a
// scenario passes to both sides, the HTTP/2 PING keepalive both sides of sse-h2 run, and the
// servers' dead-peer log. Servers and drivers import only this file from each other.
//
// A message is ASCII text: "<seq> <t_ms> " followed by 'x' padding up to `bytes` octets.
// t_ms is the sender's wall clock in ms (nowMs(): performance.now() on a measured wall-clock
// origin, three decimals): for echo the client's send time, for push the time the server's schedule
// produced the message (PushSchedules.follow). All namespaces share one kernel clock, so server->client one-way latency is
// recv_t_ms - t_ms without clock sync.

import { createHash } from 'node:crypto';

// the clock every message stamp uses (one definition, contract/clock.ts)
export { measureWallOriginMs, nowMs } from './clock.ts';
import { nowMs } from './clock.ts';

/** Smallest message that holds "<seq> <t_ms> " for any seq < 1e9. */
export const MIN_MESSAGE_BYTES = 32;

export function encodeMessage(seq: number, bytes: number, tMs: number = nowMs()): string {
  const head = `${seq} ${tMs.toFixed(3)} `;
  return bytes > head.length ? head + 'x'.repeat(bytes - head.length) : head;
}

export function decodeMessage(data: string | Buffer | Uint8Array): { seq: number; tMs: number; bytes: number } | null {
  const s = typeof data === 'string' ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString('latin1');
  const m = /^(\d{1,9}) (\d+(?:\.\d+)?) /.exec(s);
  if (!m) return null;
  return { seq: Number(m[1]), tMs: Number(m[2]), bytes: Buffer.byteLength(s, 'latin1') };
}

/** What a client asks the server to push: `count` messages of `bytes`, seq 1..count, message
 *  seq due at start + (seq-1)*intervalMs, where start is when the server first saw `stream`.
 *  `after` resumes: only seq > after are sent (those already due at once, the rest on time). */
export interface PushParams {
  stream: string;
  count: number;
  intervalMs: number;
  bytes: number;
  after: number;
}

/** Parse push params from a URL query (?stream=&count=&interval_ms=&bytes=&after=);
 *  a string is an error message naming the bad field. */
export function parsePushParams(q: URLSearchParams): PushParams | string {
  const num = (k: string, def: number | null, min: number, max: number): number | string => {
    const v = q.get(k);
    if (v === null) return def === null ? `missing ${k}` : def;
    const n = Number(v);
    return Number.isFinite(n) && n >= min && n <= max ? n : `bad ${k}: ${v}`;
  };
  const stream = q.get('stream') ?? '';
  if (!/^[A-Za-z0-9_-]{1,64}$/.test(stream)) return 'bad stream';
  const count = num('count', null, 1, 10_000_000);
  const intervalMs = num('interval_ms', 0, 0, 3_600_000);
  const bytes = num('bytes', 64, MIN_MESSAGE_BYTES, 1 << 20);
  const after = num('after', 0, 0, 10_000_000);
  for (const x of [count, intervalMs, bytes, after]) if (typeof x === 'string') return x;
  return { stream, count: count as number, intervalMs: intervalMs as number, bytes: bytes as number, after: after as number };
}

export function pushQuery(p: PushParams): string {
  return `stream=${p.stream}&count=${p.count}&interval_ms=${p.intervalMs}&bytes=${p.bytes}&after=${p.after}`;
}

/** Server side: the start time of each push stream (first request wins), so a resumed
 *  connection continues the same schedule. Entries expire after an hour. */
export class PushSchedules {
  private readonly starts = new Map<string, number>();

  startOf(stream: string): number {
    const now = nowMs();
    for (const [k, t] of this.starts) if (now - t > 3_600_000) this.starts.delete(k);
    let t = this.starts.get(stream);
    if (t === undefined) this.starts.set(stream, (t = now));
    return t;
  }

  /** Run `emit(seq, dueMs)` for seq = after+1..count, each no earlier than its due time;
   *  returns a cancel function. Messages already due go out at once, in order. Senders stamp
   *  a message with dueMs (when the schedule produced it), not the time it is written, so
   *  its latency includes every wait on the server's side: a long poll not yet outstanding,
   *  a send queue, and a replay after an outage. */
  follow(p: PushParams, emit: (seq: number, dueMs: number) => void, done?: () => void): () => void {
    const start = this.startOf(p.stream);
    let seq = p.after + 1;
    let timer: NodeJS.Timeout | undefined;
    let cancelled = false;
    const tick = () => {
      if (cancelled) return;
      const now = nowMs();
      while (seq <= p.count && start + (seq - 1) * p.intervalMs <= now) emit(seq, start + (seq++ - 1) * p.intervalMs);
      if (seq > p.count) return void done?.();
      timer = setTimeout(tick, Math.max(0, start + (seq - 1) * p.intervalMs - nowMs()));
    };
    tick();
    return () => {
      cancelled = true;
      clearTimeout(timer);
    };
  }
}

/** Liveness settings from the scenario (workload.keepalive), applied by both sides where
 *  the protocol has the mechanism. Absent = off (the library's default behaviour). */
export interface Keepalive {
  /** TCP keepalive: idle time before the first probe (socket.setKeepAlive) */
  tcpKeepaliveMs?: number;
  /** WebSocket ping / HTTP/2 PING / gRPC keepalive_time / QUIC PING interval */
  pingMs?: number;
  /** how long to wait for the pong / PING ack / keepalive ack before declaring the peer dead */
  pingTimeoutMs?: number;
  /** QUIC max_idle_timeout (both sides; the effective value is the smaller of the two) */
  quicIdleTimeoutMs?: number;
  /** SSE comment heartbeat interval (server); the client declares the stream dead after
   *  heartbeatTimeoutMs without any bytes */
  heartbeatMs?: number;
  heartbeatTimeoutMs?: number;
  /** long poll: how long the server holds a request with nothing to send */
  holdMs?: number;
  /** client reconnect delay after a dead/closed stream (SSE `retry:`) */
  retryMs?: number;
}

/** Dead peers a server noticed, oldest first, at most 10 000 (the oldest dropped first). */
export class DeadPeerLog {
  private readonly events: DeadPeerEvent[] = [];

  record(mechanism: string, atMs: number = nowMs()): void {
    this.events.push({ atMs, mechanism });
    if (this.events.length > 10_000) this.events.shift();
  }

  /** a copy, for ServerStats.deadPeers */
  list(): DeadPeerEvent[] {
    return [...this.events];
  }
}

/**
 * HTTP/2 PING keepalive on a session (sse-h2, both sides): a PING every pingMs, one
 * outstanding at a time; when its ACK is timeoutMs late, `onDead()` runs and the session is
 * destroyed with an error whose code is HOLBENCH_H2_PING. Stops when the session closes.
 */
export function h2PingKeepalive(s: import('node:http2').Http2Session, pingMs: number, timeoutMs: number, onDead: () => void): void {
  let waiting: NodeJS.Timeout | undefined;
  const timer = setInterval(() => {
    if (waiting || s.destroyed || s.closed) return;
    const sent = s.ping(() => {
      clearTimeout(waiting);
      waiting = undefined;
    });
    if (!sent) return;
    waiting = setTimeout(() => {
      clearInterval(timer);
      onDead();
      s.destroy(Object.assign(new Error(`no HTTP/2 PING ACK within ${timeoutMs} ms`), { code: 'HOLBENCH_H2_PING' }));
    }, timeoutMs);
  }, pingMs);
  s.once('close', () => {
    clearInterval(timer);
    clearTimeout(waiting);
  });
}

/** A dead peer noticed by the server (reported in ServerStats.deadPeers). */
export interface DeadPeerEvent {
  /** wall clock (nowMs()) when the mechanism fired */
  atMs: number;
  /** e.g. 'ws-ping', 'grpc-keepalive', 'sse-write', 'tcp-keepalive', 'h2-ping', 'quic-idle' */
  mechanism: string;
}

/** Upload (client streaming) checksum both ends compute: sha256 hex over every message's
 *  bytes (latin1) in order. The server's value over what arrived must equal the client's
 *  over what it sent, or a message was lost, reordered or altered on the way. */
export class UploadDigest {
  private readonly h = createHash('sha256');
  count = 0;

  add(data: string): void {
    this.h.update(data, 'latin1');
    this.count++;
  }

  hex(): string {
    return this.h.copy().digest('hex');
  }
}
