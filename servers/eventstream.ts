// The event stream (text/event-stream) a push channel carries, independent of the HTTP
// version under it: servers/msg.ts serves it over HTTP/1.1 (`sse`), servers/h2.ts over
// HTTP/2 (`sse-h2`) and servers/h3.ts over HTTP/3 (`sse-h3`), all at GET /sse?<push params>.
// Same bytes on every transport: "retry:<ms>" first, then per message "id:<seq>" and
// "data:<message>" lines (no space after the colon: the spec strips one if present), and
// optionally ":" comment heartbeats.
import { encodeMessage, type PushParams, type PushSchedules } from '../contract/messages.ts';

export const EVENT_STREAM_HEADERS = { 'content-type': 'text/event-stream', 'cache-control': 'no-store' } as const;

/** Apply a Last-Event-ID request header to the push params (resume after that seq); a
 *  string is the 400 message for a bad header. */
export function resumeFrom(p: PushParams, lastEventId: string | string[] | undefined): PushParams | string {
  if (typeof lastEventId !== 'string' || lastEventId.trim() === '') return p;
  const n = Number(lastEventId.trim());
  if (!Number.isInteger(n) || n < 0 || n > 10_000_000) return `bad Last-Event-ID: ${lastEventId}`;
  return { ...p, after: n };
}

export interface EventStreamOptions {
  /** the `retry:` field sent first (client reconnection delay) */
  retryMs: number;
  /** comment heartbeat interval; 0/undefined = none */
  heartbeatMs?: number;
  /** called once per message written */
  onSent?: () => void;
}

/** Write the stream for `p` to `write` on the schedule; returns stop (idempotent). */
export function followEventStream(schedules: PushSchedules, p: PushParams, o: EventStreamOptions, write: (s: string) => void): () => void {
  let stopped = false;
  write(`retry:${o.retryMs}\n\n`);
  const cancel = schedules.follow(p, (seq, due) => {
    if (stopped) return;
    o.onSent?.();
    write(`id:${seq}\ndata:${encodeMessage(seq, p.bytes, due)}\n\n`);
  });
  const heartbeat = o.heartbeatMs ? setInterval(() => stopped || write(':\n\n'), o.heartbeatMs) : undefined;
  return () => {
    if (stopped) return;
    stopped = true;
    cancel();
    clearInterval(heartbeat);
  };
}
