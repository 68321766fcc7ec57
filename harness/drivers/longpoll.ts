// Long polling against the msg plugin's /poll endpoint over one kept-alive HTTP/1.1
// connection (undici Client). Each GET asks for the messages after the last seq received;
// the server answers at once with those already due or holds the request until the next
// one is due (hold_ms, then 204), and the driver polls again at once.
//
// hold_ms is keepalive.holdMs (default 30 s), kept below requestTimeoutMs (which bounds every
// poll, hold included) so that an idle hold never looks like a timeout. A failed or timed out
// poll is onDead('error:<code>' | 'tcp-keepalive'); with resume the driver polls again after
// retryMs (default 1000), from the last seq, until close(); without resume it stops.
// The loop ends by itself once every seq up to count has been received.
import { decodeMessage, pushQuery } from '../../contract/messages.ts';
import type { MessageDriver, MessageDriverFactory } from './messages.ts';
import { errorMechanism, sleep, undiciTransport } from './sse.ts';

/** Hold requested from the server for a request timeout (ms): the configured hold, at
 *  least a quarter of the timeout (at most 2 s) below it. */
export function effectiveHoldMs(holdMs: number, requestTimeoutMs: number): number {
  return Math.max(0, Math.min(holdMs, requestTimeoutMs - Math.min(2000, requestTimeoutMs / 4)));
}

export const createLongPollDriver: MessageDriverFactory = async (opts) => {
  const ka = opts.keepalive;
  const retryMs = ka.retryMs ?? 1000;
  const holdMs = Math.round(effectiveHoldMs(ka.holdMs ?? 30_000, opts.requestTimeoutMs));
  const t = undiciTransport(opts, opts.requestTimeoutMs);
  const stopAll = new AbortController();
  let reconnects = 0;
  let closed = false;
  let opened = false;
  let loop: Promise<void> | null = null;

  const driver: MessageDriver & { wireBytes(): { read: number; written: number } } = {
    protocol: 'longpoll',
    patterns: ['push'],
    async open(p, ev) {
      if (closed) throw new Error('longpoll driver closed');
      if (opened) throw new Error('longpoll driver: open() called twice');
      opened = true;
      if (p.pattern !== 'push') throw new Error('longpoll carries push only');
      let last = 0;
      const path = () => `/poll?${pushQuery({ stream: p.stream, count: p.count, intervalMs: p.intervalMs, bytes: p.bytes, after: last })}&hold_ms=${holdMs}`;

      // open() resolves once the first connection is up (the first poll may be held).
      let ready!: () => void;
      let fail!: (e: Error) => void;
      const first = new Promise<void>((res, rej) => ((ready = res), (fail = rej)));
      const onConnect = () => ready();
      t.client.once('connect', onConnect);

      /** One poll; 'ok' after a 200 or 204, 'error' after a failure (already reported). */
      const poll = async (): Promise<'ok' | 'error'> => {
        t.takeSocketError();
        try {
          const res = await t.client.request({ path: path(), method: 'GET', signal: stopAll.signal });
          if (res.statusCode === 204) {
            await res.body.dump();
            return 'ok';
          }
          const text = await res.body.text();
          if (res.statusCode !== 200) {
            if (!closed) ev.onDead(`error:http-${res.statusCode}`, text.slice(0, 200));
            return 'error';
          }
          for (const line of text.split('\n')) {
            const m = decodeMessage(line);
            if (!m || closed) continue;
            if (m.seq > last) last = m.seq;
            ev.onMessage(m.seq, m.tMs, m.bytes);
          }
          const hdr = Number(res.headers['x-last-seq']);
          if (Number.isInteger(hdr) && hdr > last) last = hdr;
          return 'ok';
        } catch (err) {
          if (closed) return 'error';
          if (t.connections() === 0) {
            fail(err as Error);
            return 'error';
          }
          const m = errorMechanism(err, t.takeSocketError(), ka);
          ev.onDead(m.mechanism, m.detail);
          return 'error';
        }
      };

      loop = (async () => {
        let failing = false;
        while (!closed && last < p.count) {
          const r = await poll();
          if (closed || t.connections() === 0) break;
          if (r === 'ok') {
            if (failing) (failing = false), reconnects++;
            continue;
          }
          if (!p.resume) break;
          failing = true;
          await sleep(retryMs, stopAll.signal);
        }
        t.client.off('connect', onConnect);
        fail(new Error('longpoll driver closed before connecting')); // no-op once settled
      })();
      await first;
    },
    send() {
      /* push only */
    },
    connectionsOpened: () => t.connections(),
    reconnects: () => reconnects,
    wireBytes: () => t.wireBytes(),
    async close() {
      if (closed) return;
      closed = true;
      stopAll.abort();
      await (loop as Promise<void> | null)?.catch(() => {});
      await t.client.destroy().catch(() => {});
    },
  };
  return driver;
};
