// Server-Sent Events over HTTP/3 (`sse-h3`): the event-stream client of sse.ts
// (createEventStreamDriver) on one connection of our h3/ client at a time. The dead-peer
// mechanism is QUIC's own: the connection closes when nothing arrived for the idle timeout
// (keepalive.quicIdleTimeoutMs; the smaller of the two ends' values applies), and PINGs every
// keepalive.pingMs keep a quiet but live connection open. No comment heartbeats (the server
// sends none on sse-h3), so the driver's byte watchdog is off. QUIC has no PING timeout: on a
// dead path the connection closes after the idle timeout counted from the last packet
// received, or from the first ack-eliciting packet (message, PING) sent after it (RFC 9000
// 10.1), so detection takes idle timeout to idle timeout + one PING interval (measured in
// namespaces, 1000 ms idle: ~990 ms without PINGs, ~1300 ms with PINGs every 300 ms).
//
// onDead mechanisms: 'quic-idle' (the connection idled out under the stream), 'closed' (the
// stream ended), else 'error:<code>' (e.g. error:HOLBENCH_QUIC_CLOSED, error:HOLBENCH_QUIC_RESET).
// requestTimeoutMs bounds the QUIC handshake and, separately, the wait for response headers;
// never the stream itself.
import { h3Support } from '../../h3/binding.ts';
import { H3UnsupportedError, QuicError } from '../../h3/errors.ts';
import type { H3ClientRequest } from '../../h3/client.ts';
import { createEventStreamDriver, type StreamResponse, type StreamTransport } from './sse.ts';
import type { MessageDriver, MessageDriverFactory, MessageDriverOptions } from './messages.ts';
import { QuicConnection } from './quic-conn.ts';

type H3StreamTransport = StreamTransport & {
  /** UDP payload bytes received/sent by every connection so far (quiche's counters) */
  wireBytes(): { read: number; written: number };
};

async function h3StreamTransport(opts: MessageDriverOptions): Promise<H3StreamTransport> {
  const { QuicIdleTimeout } = await import('../../h3/quic.ts');
  const ka = opts.keepalive;
  const conn = await QuicConnection.create('sse-h3 transport closed', { target: opts.target, keepalive: ka, handshakeTimeoutMs: opts.requestTimeoutMs });

  const request = async (path: string, headers: Record<string, string>, signal: AbortSignal): Promise<StreamResponse> => {
    if (signal.aborted) throw signal.reason;
    const c = await conn.get();
    if (signal.aborted) throw signal.reason;
    return new Promise<StreamResponse>((resolve, reject) => {
      const chunks: Buffer[] = [];
      let ended = false;
      let failure: unknown = null;
      let wake: (() => void) | null = null;
      let responded = false;
      const notify = () => {
        const w = wake;
        wake = null;
        w?.();
      };
      const fail = (e: unknown) => {
        clearTimeout(timer);
        signal.removeEventListener('abort', onAbort);
        if (!responded) return reject(e);
        if (ended || failure) return;
        failure = e;
        notify();
      };
      const onAbort = () => {
        req.cancel(); // resets the stream; the server's schedule stops
        fail(signal.reason);
      };
      let req: H3ClientRequest = null!;
      req = c.request('GET', path, headers, {
        headers: (status, h) => {
          clearTimeout(timer);
          responded = true;
          resolve({ status, contentType: h['content-type'] ?? '', body });
        },
        data: (chunk) => {
          chunks.push(chunk);
          notify();
        },
        end: () => {
          signal.removeEventListener('abort', onAbort);
          ended = true;
          notify();
        },
        error: (e) => {
          if ((e as QuicError).code === 'HOLBENCH_QUIC_GOAWAY') conn.forget(c); // next request: a new connection
          fail(e);
        },
      });
      const timer = setTimeout(() => {
        req.cancel();
        fail(new QuicError('HOLBENCH_QUIC_TIMEOUT', `no response headers within ${opts.requestTimeoutMs} ms`));
      }, opts.requestTimeoutMs);
      signal.addEventListener('abort', onAbort, { once: true });
      const body: AsyncIterable<Uint8Array> = {
        [Symbol.asyncIterator]: () => ({
          async next(): Promise<IteratorResult<Uint8Array>> {
            for (;;) {
              // what arrived before a failure is delivered first
              if (chunks.length > 0) return { value: chunks.shift()!, done: false };
              if (failure) throw failure;
              if (ended) return { value: undefined, done: true };
              await new Promise<void>((r) => (wake = r));
            }
          },
          async return(): Promise<IteratorResult<Uint8Array>> {
            // the consumer stopped reading: give the stream up
            if (!ended && !failure) {
              failure = new QuicError('HOLBENCH_QUIC_CANCELLED', 'body abandoned');
              signal.removeEventListener('abort', onAbort);
              req.cancel();
            }
            return { value: undefined, done: true };
          },
        }),
      };
    });
  };

  return {
    request,
    connections: () => conn.connections(),
    mechanismOf(err) {
      if (err instanceof QuicIdleTimeout) return { mechanism: 'quic-idle', detail: `${err.message} (${ka.quicIdleTimeoutMs ?? 30_000} ms${ka.pingMs ? `, PING every ${ka.pingMs} ms` : ''})` };
      const e = err as (Error & { code?: string }) | undefined;
      return { mechanism: `error:${e?.code ?? e?.name ?? 'unknown'}`, detail: e?.message ?? String(err) };
    },
    wireBytes: () => conn.wireBytes(),
    close: () => conn.close(),
  };
}

export const createSseH3Driver: MessageDriverFactory = async (opts) => {
  const support = h3Support();
  if (!support.ok) throw new H3UnsupportedError(`sse-h3 unsupported: ${support.reason}`);
  const t = await h3StreamTransport(opts);
  const d: MessageDriver & { wireBytes(): { read: number; written: number } } = Object.assign(
    createEventStreamDriver('sse-h3', t, { retryMs: opts.keepalive.retryMs, heartbeatTimeoutMs: 0 }),
    { wireBytes: () => t.wireBytes() },
  );
  return d;
};
