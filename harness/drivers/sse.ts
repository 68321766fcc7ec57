// Server-Sent Events against GET /sse (servers/eventstream.ts). createEventStreamDriver is
// the transport-independent client; here it runs on one undici Client (HTTP/1.1, `sse`),
// in sse-h2.ts on node:http2 and in sse-h3.ts on our HTTP/3 client. It follows the EventSource processing model (WHATWG HTML, "Server-sent events"):
// the same URL on every reconnection, Last-Event-ID carrying the id of the last complete
// event, `retry:` setting the reconnection delay (keepalive.retryMs overrides it).
// The `eventsource` package is not used because a liveness watchdog needs every byte,
// comments included, and the reconnection must be ours to time and count.
//
// Liveness: with keepalive.heartbeatMs the server writes a comment every heartbeatMs; the
// driver declares the stream dead when no byte arrived for heartbeatTimeoutMs (default
// 2.5 x heartbeatMs): onDead('sse-heartbeat'), abort, and (with resume) reconnect. Without a
// heartbeat a silent path goes unnoticed until TCP itself fails, like a browser's
// EventSource. A stream that ends or fails is onDead('closed' | 'error:<code>').
// Every delivered message is reported, duplicates included.
import { Client, buildConnector } from 'undici';
import type { Socket } from 'node:net';
import { decodeMessage, pushQuery } from '../../contract/messages.ts';
import type { Keepalive } from '../../contract/messages.ts';
import type { MessageDriver, MessageDriverFactory, MessageDriverOptions } from './messages.ts';

// ---------------------------------------------------------------- transport shared with longpoll.ts

export interface UndiciTransport {
  client: Client;
  /** TCP connections established */
  connections(): number;
  /** bytes read/written on every socket so far (TCP payload, HTTP framing included) */
  wireBytes(): { read: number; written: number };
  /** the last socket-level error (e.g. ETIMEDOUT from TCP keepalive), cleared by take */
  takeSocketError(): NodeJS.ErrnoException | null;
}

/** One undici Client (a single HTTP/1.1 connection, no pipelining) whose connector counts
 *  connections, applies TCP keepalive and remembers socket errors. */
export function undiciTransport(opts: MessageDriverOptions, bodyTimeoutMs: number): UndiciTransport {
  const ka = opts.keepalive;
  let connections = 0;
  let closedRead = 0;
  let closedWritten = 0;
  const live = new Set<Socket>();
  let sockErr: NodeJS.ErrnoException | null = null;
  const base = buildConnector({
    timeout: opts.requestTimeoutMs,
    noDelay: true,
    // undici's own default is keepalive after 60 s idle; the scenario's setting replaces it
    ...(ka.tcpKeepaliveMs ? { keepAlive: true, keepAliveInitialDelay: ka.tcpKeepaliveMs } : {}),
  } as buildConnector.BuildOptions);
  const client = new Client(`http://${opts.target.host}:${opts.target.port}`, {
    pipelining: 1,
    headersTimeout: opts.requestTimeoutMs,
    bodyTimeout: bodyTimeoutMs,
    keepAliveTimeout: 120_000,
    keepAliveMaxTimeout: 120_000,
    connect: (o, cb) =>
      base(o, (err, s) => {
        if (err || !s) return cb(err!, null);
        connections++;
        const sock = s as Socket;
        live.add(sock);
        sock.on('error', (e: NodeJS.ErrnoException) => void (sockErr = e));
        sock.once('close', () => {
          live.delete(sock);
          closedRead += sock.bytesRead;
          closedWritten += sock.bytesWritten;
        });
        cb(null, s);
      }),
  });
  return {
    client,
    connections: () => connections,
    wireBytes: () => {
      let read = closedRead;
      let written = closedWritten;
      for (const s of live) (read += s.bytesRead), (written += s.bytesWritten);
      return { read, written };
    },
    takeSocketError: () => {
      const e = sockErr;
      sockErr = null;
      return e;
    },
  };
}

/** The onDead mechanism for a failed request/stream. */
export function errorMechanism(err: unknown, sockErr: NodeJS.ErrnoException | null, ka: Keepalive): { mechanism: string; detail: string } {
  const e = err as (Error & { code?: string; cause?: { code?: string } }) | undefined;
  const code = sockErr?.code ?? e?.cause?.code ?? e?.code ?? e?.name ?? 'unknown';
  if (code === 'ETIMEDOUT' && ka.tcpKeepaliveMs) return { mechanism: 'tcp-keepalive', detail: sockErr?.message ?? e?.message ?? '' };
  return { mechanism: `error:${code}`, detail: sockErr?.message ?? e?.message ?? String(err) };
}

export const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve) => {
    if (signal?.aborted) return resolve();
    const t = setTimeout(done, ms);
    function done() {
      clearTimeout(t);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });

// ---------------------------------------------------------------- event stream parsing

export interface SseEvent {
  type: string;
  data: string;
  lastEventId: string;
}

/** The event stream interpretation of the spec: lines end in CRLF, LF or CR; comments start
 *  with ':'; an empty line dispatches. Feed decoded text in any chunking. */
export class SseParser {
  /** the last event ID string: the id in force when the last event was dispatched */
  lastEventId = '';
  private idBuffer = '';
  private data = '';
  private type = '';
  private line = '';
  private afterCR = false;

  constructor(
    private readonly onEvent: (e: SseEvent) => void,
    private readonly onRetry: (ms: number) => void = () => {},
  ) {}

  feed(text: string): void {
    let start = 0;
    for (let i = 0; i < text.length; i++) {
      const c = text.charCodeAt(i);
      if (c !== 10 && c !== 13) continue;
      if (c === 10 && this.afterCR && i === start && this.line === '') {
        // the LF of a CRLF split across chunks, or right after CR
        this.afterCR = false;
        start = i + 1;
        continue;
      }
      this.processLine(this.line + text.slice(start, i));
      this.line = '';
      this.afterCR = c === 13;
      start = i + 1;
      if (c === 13 && text.charCodeAt(i + 1) === 10) {
        i++;
        start = i + 1;
        this.afterCR = false;
      }
    }
    if (start < text.length) {
      this.line += text.slice(start);
      this.afterCR = false;
    }
  }

  /** Forget a partial event (the connection it came on is gone). */
  reset(): void {
    this.data = '';
    this.type = '';
    this.line = '';
    this.afterCR = false;
    this.idBuffer = this.lastEventId;
  }

  private processLine(line: string) {
    if (line === '') return this.dispatch();
    if (line.charCodeAt(0) === 58) return; // ':' comment
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? '' : line.slice(colon + 1);
    if (value.charCodeAt(0) === 32) value = value.slice(1);
    if (field === 'data') this.data += value + '\n';
    else if (field === 'event') this.type = value;
    else if (field === 'id') {
      if (!value.includes('\0')) this.idBuffer = value;
    } else if (field === 'retry') {
      if (/^\d+$/.test(value)) this.onRetry(Number(value));
    }
  }

  private dispatch() {
    this.lastEventId = this.idBuffer;
    if (this.data === '') {
      this.type = '';
      return;
    }
    const data = this.data.slice(0, -1);
    const type = this.type || 'message';
    this.data = '';
    this.type = '';
    this.onEvent({ type, data, lastEventId: this.lastEventId });
  }
}

// ---------------------------------------------------------------- the driver

/** A response whose body is the event stream (or an error text for a non-200). */
export interface StreamResponse {
  status: number;
  contentType: string;
  /** chunks as they arrive; throws when the stream or its connection dies */
  body: AsyncIterable<Uint8Array>;
}

/** What an HTTP version provides to the event-stream driver: GET requests on its own
 *  connection(s), reconnecting by itself when a new request finds the connection dead. */
export interface StreamTransport {
  /** GET `path`; aborting `signal` ends the request/stream (the body throws) */
  request(path: string, headers: Record<string, string>, signal: AbortSignal): Promise<StreamResponse>;
  /** transport connections opened so far */
  connections(): number;
  /** the onDead mechanism of a failed request or a body that threw: the transport's own
   *  liveness mechanism when that is what killed it ('h2-ping', 'quic-idle', 'tcp-keepalive'),
   *  else 'error:<code>' */
  mechanismOf(err: unknown): { mechanism: string; detail: string };
  close(): Promise<void>;
}

/** The HTTP/1.1 transport: one undici connection, TCP keepalive from the scenario. */
function undiciStreamTransport(opts: MessageDriverOptions): StreamTransport & { wireBytes(): { read: number; written: number } } {
  const t = undiciTransport(opts, 0); // a quiet stream is legal: liveness is the heartbeat's job
  return {
    async request(path, headers, signal) {
      t.takeSocketError();
      const res = await t.client.request({ path, method: 'GET', headers, signal });
      return { status: res.statusCode, contentType: String(res.headers['content-type'] ?? ''), body: res.body };
    },
    connections: () => t.connections(),
    mechanismOf: (err) => errorMechanism(err, t.takeSocketError(), opts.keepalive),
    wireBytes: () => t.wireBytes(),
    close: () => t.client.destroy().catch(() => {}),
  };
}

export const createSseDriver: MessageDriverFactory = async (opts) => {
  const ka = opts.keepalive;
  const t = undiciStreamTransport(opts);
  return Object.assign(createEventStreamDriver('sse', t, { retryMs: ka.retryMs, heartbeatTimeoutMs: ka.heartbeatMs ? (ka.heartbeatTimeoutMs ?? 2.5 * ka.heartbeatMs) : 0 }), {
    wireBytes: () => t.wireBytes(),
  });
};

const drain = async (body: AsyncIterable<Uint8Array>): Promise<string> => {
  let s = '';
  try {
    for await (const c of body) if (s.length < 4096) s += Buffer.from(c).toString('utf8');
  } catch {
    /* an error body that fails is still an error */
  }
  return s;
};

/**
 * The EventSource processing model over any StreamTransport: GET /sse with the push params,
 * Last-Event-ID on every reconnection, `retry:` as the delay unless `retryMs` overrides it.
 * heartbeatTimeoutMs > 0: declare the stream dead ('sse-heartbeat') after that long without
 * a byte (the server sends comment heartbeats); 0: only the transport notices a dead path.
 */
export function createEventStreamDriver(protocol: string, t: StreamTransport, o: { retryMs?: number; heartbeatTimeoutMs: number }): MessageDriver {
  const heartbeatTimeoutMs = o.heartbeatTimeoutMs;
  const stopAll = new AbortController();
  let current: AbortController | null = null;
  let watchdog: NodeJS.Timeout | undefined;
  let reconnects = 0;
  let closed = false;
  let opened = false;
  let loop: Promise<void> | null = null;

  const driver: MessageDriver = {
    protocol,
    patterns: ['push'],
    async open(p, ev) {
      if (closed) throw new Error(`${protocol} driver closed`);
      if (opened) throw new Error(`${protocol} driver: open() called twice`);
      opened = true;
      if (p.pattern !== 'push') throw new Error(`${protocol} carries push only`);
      const path = `/sse?${pushQuery({ stream: p.stream, count: p.count, intervalMs: p.intervalMs, bytes: p.bytes, after: 0 })}`;
      let retryMs = o.retryMs ?? 1000;
      let highest = 0;
      const parser = new SseParser(
        (e) => {
          if (closed || e.type !== 'message') return;
          const m = decodeMessage(e.data);
          if (!m) return;
          if (m.seq > highest) highest = m.seq;
          ev.onMessage(m.seq, m.tMs, m.bytes);
        },
        (ms) => {
          if (o.retryMs === undefined) retryMs = ms;
        },
      );

      /** One connection: resolves 'failed' if no stream was established, else 'ended' once
       *  the stream is gone (onDead already reported). */
      const once = async (onStreamOpen: () => void): Promise<'failed' | 'ended'> => {
        const ac = new AbortController();
        current = ac;
        let res: StreamResponse;
        try {
          const headers: Record<string, string> = { accept: 'text/event-stream', 'cache-control': 'no-store' };
          if (parser.lastEventId !== '') headers['last-event-id'] = parser.lastEventId;
          res = await t.request(path, headers, ac.signal);
        } catch (err) {
          if (!closed && !opened2) firstError = err as Error;
          return 'failed'; // a reconnection attempt that failed is retried after retryMs
        }
        if (res.status !== 200 || !res.contentType.startsWith('text/event-stream')) {
          const text = await drain(res.body);
          if (!opened2) firstError = new Error(`${protocol}: HTTP ${res.status} ${res.contentType}: ${text.slice(0, 200)}`);
          else if (!closed) ev.onDead(`error:http-${res.status}`, text.slice(0, 200));
          return opened2 ? 'ended' : 'failed';
        }
        onStreamOpen();
        let dead = false;
        const arm = () => {
          if (!heartbeatTimeoutMs) return;
          clearTimeout(watchdog);
          watchdog = setTimeout(() => {
            dead = true;
            if (!closed) ev.onDead('sse-heartbeat', `no bytes for ${heartbeatTimeoutMs} ms`);
            ac.abort();
          }, heartbeatTimeoutMs);
        };
        arm();
        const decoder = new TextDecoder();
        try {
          for await (const chunk of res.body) {
            arm();
            parser.feed(decoder.decode(chunk, { stream: true }));
          }
          clearTimeout(watchdog);
          if (!dead && !closed) ev.onDead('closed', 'event stream ended');
        } catch (err) {
          clearTimeout(watchdog);
          if (!dead && !closed) {
            const m = t.mechanismOf(err);
            ev.onDead(m.mechanism, m.detail);
          }
        }
        parser.reset();
        return 'ended';
      };

      let opened2 = false;
      let firstError: Error | null = null;
      const done = () => highest >= p.count;
      await new Promise<void>((resolve, reject) => {
        loop = (async () => {
          let reconnecting = false;
          while (!closed) {
            const r = await once(() => {
              if (!opened2) (opened2 = true), resolve();
              else if (reconnecting) (reconnecting = false), reconnects++;
            });
            if (!opened2) return reject(firstError ?? new Error(`${protocol}: closed before the stream opened`));
            if (closed || (r === 'ended' && (!p.resume || done()))) break;
            reconnecting = true;
            await sleep(retryMs, stopAll.signal);
          }
          if (!opened2) reject(new Error(`${protocol} driver closed`));
        })();
      });
    },
    send() {
      /* push only */
    },
    connectionsOpened: () => t.connections(),
    reconnects: () => reconnects,
    async close() {
      if (closed) return;
      closed = true;
      stopAll.abort();
      clearTimeout(watchdog);
      current?.abort();
      await (loop as Promise<void> | null)?.catch(() => {});
      await t.close();
    },
  };
  return driver;
}
