// HTTP/3 server: a handler per request, responses streamed from Buffers or iterables of
// Buffers without copying the body into memory first, or pushed over time (PushBody: an event
// stream). A handler learns that its request's stream or connection is gone from
// req.signal or PushBody.onClose; the server reports each closed connection with the
// requests it still had in flight (ListenOptions.onConnectionClosed).
import { connErr, H3Code, H3Error, QuicError } from './errors.ts';
import { encodeFrame, encodeFrameHeader, Frame, FrameReader } from './frames.ts';
import { decodeFieldSection, encodeFieldSection, type HeaderList } from './qpack.ts';
import { buildConfig, QuicListener, type PathParams, type QuicConn, type StreamScheduler, type TransportOptions } from './quic.ts';
import { H3Session, MAX_FIELD_SECTION_SIZE, parseFields, type BidiHandler } from './session.ts';
import { WT_DRAFT_HEADER, WtRegistry, type WtSession } from './webtransport.ts';

/** A closed server connection, with what it was doing. */
export interface ConnectionClosedInfo {
  connId: string;
  /** null: a clean local close; QuicIdleTimeout (quic.ts) when the idle timeout fired */
  err: QuicError | null;
  /** requests whose response had not been completely handed to QUIC (event streams, bodies
   *  still being pulled, handlers not yet resolved) */
  inFlight: number;
}

/** RFC 9218 priority parameters of a response. */
export interface ResponsePriority {
  urgency: number;
  incremental: boolean;
}

/** A connection's response streams in the order they are written (servers/scheduler.ts). */
export interface ResponseScheduler extends StreamScheduler {
  add(id: number, p: ResponsePriority): void;
  setPriority(id: number, p: ResponsePriority): void;
}

/**
 * How the server shares a connection among its responses. Each response gets a priority from
 * the client's signals, which orders both the feed into quiche (the connection's scheduler)
 * and quiche's own packet scheduler (streamPriority), so the two agree. Without it, responses
 * are fed in stream order and quiche uses its defaults.
 */
export interface ResponseScheduling {
  /** called once per connection */
  newScheduler(): ResponseScheduler;
  /** the priority of a response from its request's Priority header and the last
   *  PRIORITY_UPDATE for its stream (null if none); may change between calls (per cell) */
  priorityOf(header: string | undefined, update: string | null): ResponsePriority;
}

/** Request body bytes kept for a handler that has not called readBody() yet; beyond this an
 *  unread body is discarded (handlers that read bodies call readBody() when dispatched). */
const MAX_UNREAD_BODY = 1 << 20;

/** PRIORITY_UPDATE frames kept for streams not yet open (RFC 9218 section 7: a server may bound this). */
const MAX_EARLY_UPDATES = 256;

export interface ListenOptions extends TransportOptions {
  key: string;
  cert: string;
  /** response scheduling (RFC 9218); default: stream order, quiche's default priorities */
  scheduling?: ResponseScheduling;
  /** called once per connection when it is gone */
  onConnectionClosed?(info: ConnectionClosedInfo): void;
  /** accept WebTransport sessions (h3/webtransport.ts): the settings, QUIC datagrams, more
   *  uni streams; an extended CONNECT with :protocol webtransport reaches the handler with
   *  req.webtransport set, and a 2xx reply opens the session */
  webtransport?: boolean;
}

export interface H3Request {
  method: string;
  path: string;
  authority: string;
  headers: Record<string, string>;
  streamId: number;
  connId: string;
  /** read from 0-RTT data: the connection's handshake had not completed yet (the response
   *  goes out as 0.5-RTT data) */
  earlyData: boolean;
  /** aborted (reason: the error) if the request's stream or connection is gone before the
   *  response was completely handed to QUIC; never aborted after that */
  readonly signal: AbortSignal;
  /** Read the request body as it arrives (DATA payloads, then end at the FIN); what came
   *  before the call is delivered at once (up to 1 MiB). A chunk is valid during the call only (copy what
   *  you keep). Without a reader the body is discarded. */
  readBody(sink: { data(chunk: Buffer): void; end(): void }): void;
  /** RFC 9220 :protocol of an extended CONNECT */
  protocol?: string;
  /** a WebTransport session request (ListenOptions.webtransport): reply 2xx to accept (the
   *  server keeps the CONNECT stream open; no body), anything else refuses */
  webtransport?: WtSession;
}

/**
 * A response body written over time (e.g. an event stream): write() queues bytes that go out
 * as one DATA frame per pull, as flow control allows; end() finishes the stream. The body
 * never ends by itself. onClose tells when it is over: null once end()'s FIN was handed to
 * QUIC, else the error that killed the stream or its connection (further writes are dropped).
 */
export class PushBody {
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private ended = false;
  private result: { err: Error | null } | null = null;
  private listeners: ((err: Error | null) => void)[] = [];
  private wake: (() => void) | null = null;
  /** the trailing HEADERS frame to send after the last DATA, once end(trailers) said so */
  private trailersFrame: Buffer | null = null;

  /** write() returns false once this much is waiting for the stream (it still queues) */
  constructor(readonly highWaterMark = 1 << 20) {}

  /** Queue bytes; false when the body is closed (dropped) or above its high-water mark. */
  write(chunk: Buffer | string): boolean {
    if (this.result || this.ended) return false;
    const b = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    if (b.length > 0) {
      this.pending.push(b);
      this.pendingBytes += b.length;
      this.wake?.();
    }
    return this.pendingBytes < this.highWaterMark;
  }

  /** Finish the stream once what is queued went out; with `trailers`, a trailing HEADERS
   *  frame (RFC 9114 4.1: no pseudo-headers) goes out after the body, before the FIN. */
  end(trailers?: Record<string, string>): void {
    if (this.result || this.ended) return;
    this.ended = true;
    if (trailers) this.trailersFrame = encodeFrame(Frame.HEADERS, encodeFieldSection(Object.entries(trailers).map(([k, v]) => [k.toLowerCase(), v])));
    this.wake?.();
  }

  /** bytes written but not yet handed to QUIC */
  get buffered(): number {
    return this.pendingBytes;
  }

  get closed(): boolean {
    return this.result !== null;
  }

  /** `fn` runs once when the body is over (at once, asynchronously, if it already is). */
  onClose(fn: (err: Error | null) => void): void {
    if (this.result) {
      const err = this.result.err;
      queueMicrotask(() => fn(err));
    } else this.listeners.push(fn);
  }

  /** @internal the stream is ready: `wake` is called when there is something to pull */
  attach(wake: () => void): void {
    this.wake = wake;
    if (this.pendingBytes > 0 || this.ended) wake();
  }

  /** @internal what the stream may send now: DATA frame buffers, [] (nothing yet), or null (end) */
  take(): Buffer[] | null {
    if (this.pendingBytes === 0 && this.ended && this.trailersFrame) {
      const t = this.trailersFrame;
      this.trailersFrame = null;
      return [t];
    }
    if (this.pendingBytes === 0) return this.ended && !this.result ? null : [];
    const out = [encodeFrameHeader(Frame.DATA, this.pendingBytes), ...this.pending];
    this.pending = [];
    this.pendingBytes = 0;
    return out;
  }

  /** @internal the body is over: null = ended normally */
  settle(err: Error | null): void {
    if (this.result) return;
    this.result = { err };
    this.wake = null;
    this.pending = [];
    this.pendingBytes = 0;
    for (const fn of this.listeners.splice(0)) {
      try {
        fn(err);
      } catch {
        /* a listener's failure is its own */
      }
    }
  }
}

export interface H3Reply {
  status: number;
  headers?: Record<string, string>;
  /** the body; an iterable is pulled lazily as flow control allows; a PushBody is sent as
   *  it is written (its end(trailers) sends trailers) */
  body?: Buffer | string | Iterable<Buffer> | PushBody;
  /** a trailing HEADERS frame after a Buffer/string body (or none) */
  trailers?: Record<string, string>;
}

export type H3Handler = (req: H3Request) => H3Reply | Promise<H3Reply>;

/** Response DATA frames are pulled in batches of this many chunks. */
const PULL_CHUNKS = 4;

function replyHeaders(reply: H3Reply, bodyLen: number | null): HeaderList {
  const list: HeaderList = [[':status', String(reply.status)]];
  let haveLen = false;
  for (const [k, v] of Object.entries(reply.headers ?? {})) {
    const name = k.toLowerCase();
    if (name === 'content-length') haveLen = true;
    list.push([name, v]);
  }
  if (!haveLen && bodyLen !== null) list.push(['content-length', String(bodyLen)]);
  return list;
}

/** One dispatched request until its response was handed to QUIC or its stream died. */
class ServerRequest implements H3Request {
  /** response complete (done) or stream gone */
  finished = false;
  goneErr: Error | null = null;
  push: PushBody | null = null;
  protocol?: string;
  webtransport?: WtSession;
  private ac: AbortController | null = null;
  private bodySink: { data(chunk: Buffer): void; end(): void } | null = null;
  private bodyEarly: Buffer[] = [];
  private bodyEarlyBytes = 0;
  private bodyEnded = false;

  constructor(
    readonly method: string,
    readonly path: string,
    readonly authority: string,
    readonly headers: Record<string, string>,
    readonly streamId: number,
    readonly connId: string,
    readonly earlyData: boolean,
  ) {}

  get signal(): AbortSignal {
    if (!this.ac) {
      this.ac = new AbortController();
      if (this.goneErr) this.ac.abort(this.goneErr);
    }
    return this.ac.signal;
  }

  readBody(sink: { data(chunk: Buffer): void; end(): void }): void {
    this.bodySink = sink;
    for (const c of this.bodyEarly.splice(0)) sink.data(c);
    if (this.bodyEnded) sink.end();
  }

  /** @internal a DATA payload of the request */
  bodyData(c: Buffer): void {
    if (this.bodyEnded) return;
    if (this.bodySink) this.bodySink.data(c);
    else if (!this.finished && this.bodyEarlyBytes + c.length <= MAX_UNREAD_BODY) {
      this.bodyEarlyBytes += c.length;
      this.bodyEarly.push(Buffer.from(c)); // read() hands out a reused slab
    }
  }

  /** @internal the request's FIN */
  bodyEnd(): void {
    if (this.bodyEnded) return;
    this.bodyEnded = true;
    this.bodySink?.end();
  }

  gone(err: Error): void {
    this.goneErr = err;
    this.ac?.abort(err);
    this.push?.settle(err);
  }
}

class ServerSession extends H3Session {
  private maxAccepted = -4;
  private goingAway = false;
  /** dispatched requests whose response is not complete yet, by stream id */
  private inflight = new Map<number, ServerRequest>();
  private readonly sched: ResponseScheduler | null;
  /** PRIORITY_UPDATE values for streams not open yet (clients send them before HEADERS) */
  private earlyUpdates = new Map<number, string>();
  /** the last PRIORITY_UPDATE value per in-flight stream */
  private updates = new Map<number, string>();

  constructor(
    conn: QuicConn,
    private readonly server: H3Server,
  ) {
    super(conn, 'server');
    this.sched = server.scheduling?.newScheduler() ?? null;
    conn.scheduler = this.sched;
    if (server.webtransport) this.enableWebTransport(new WtRegistry(this));
  }

  /** requests in flight */
  get active(): number {
    return this.inflight.size;
  }

  /** in flight when the connection closed (before its streams were aborted) */
  private inFlightAtClose = 0;

  closed(err: QuicError | null): void {
    this.inFlightAtClose = this.inflight.size;
    super.closed(err);
  }

  protected onEstablished(): void {}
  handshakeDone(): void {
    this.server.countHandshake(this.conn.resumed, this.conn.earlyData);
  }
  protected onTick(): void {}
  protected onClosed(err: QuicError | null): void {
    const inFlight = this.inFlightAtClose;
    const e = err ?? new QuicError('HOLBENCH_QUIC_CLOSED', 'connection closed');
    for (const r of [...this.inflight.values()]) this.finish(r, e);
    this.server.sessionGone(this, { connId: this.connId, err, inFlight });
  }

  /** The response is complete (err null) or its stream is gone. */
  private finish(r: ServerRequest, err: Error | null): void {
    if (r.finished) return;
    r.finished = true;
    this.inflight.delete(r.streamId);
    this.updates.delete(r.streamId);
    if (err) r.gone(err);
    this.maybeFinish();
  }

  /** The peer reset or stopped a request stream whose response is in flight. */
  private streamGone(id: number, err: Error): void {
    const r = this.inflight.get(id);
    if (!r) return;
    this.finish(r, err);
    this.conn.resetStream(id, H3Code.REQUEST_CANCELLED);
  }

  protected onPriorityUpdate(id: number, value: string): void {
    const scheduling = this.server.scheduling;
    if (!scheduling) return;
    const r = this.inflight.get(id);
    if (r) {
      this.updates.set(id, value);
      this.prioritize(r, this.sched!.has(id));
      return;
    }
    if (id <= this.maxAccepted) return; // answered already
    if (this.earlyUpdates.size >= MAX_EARLY_UPDATES && !this.earlyUpdates.has(id)) return;
    this.earlyUpdates.set(id, value);
  }

  /** Give request `r`'s response its priority: in quiche, and in the feed if it is scheduled. */
  private prioritize(r: ServerRequest, scheduled: boolean): void {
    const scheduling = this.server.scheduling;
    if (!scheduling) return;
    const p = scheduling.priorityOf(r.headers.priority, this.updates.get(r.streamId) ?? null);
    this.conn.setPriority(r.streamId, p.urgency, p.incremental);
    if (scheduled) this.sched!.add(r.streamId, p);
  }

  protected onGoaway(_id: number): void {
    // A client's GOAWAY carries a push id; we never push, nothing to do.
  }

  /** Graceful shutdown: GOAWAY, then close once in-flight requests are done. */
  goaway(): void {
    if (this.goingAway || this.conn.closed) return;
    this.goingAway = true;
    if (this.conn.established()) this.sendGoaway(this.maxAccepted + 4);
    this.maybeFinish();
  }

  /** After GOAWAY the client closes the connection once its requests are done (closing it
   *  here could discard response data quiche has not yet delivered); H3Server.close() closes
   *  whatever is left when its grace period ends. */
  maybeFinish(): void {}

  closeNow(): void {
    this.conn.close(H3Code.NO_ERROR, 'shutdown');
  }

  protected acceptBidi(id: number): BidiHandler {
    const inflight = this.inflight.get(id);
    if (inflight) {
      // The request was read to its FIN and is being answered; the stream is readable again
      // only because the peer reset it (the client cancelled).
      return {
        chunk() {},
        fin() {},
        reset: (code) => this.streamGone(id, new QuicError('HOLBENCH_QUIC_RESET', `stream ${id} reset by peer with code 0x${code.toString(16)}`, code)),
        abort: (e) => this.streamGone(id, e),
      };
    }
    if (this.goingAway) {
      // Beyond our GOAWAY id: reject without processing (client may retry elsewhere).
      queueMicrotask(() => this.streamError(id, H3Code.REQUEST_REJECTED, new Error('going away')));
      return { chunk() {}, fin() {}, reset() {}, abort() {} };
    }
    this.maxAccepted = Math.max(this.maxAccepted, id);
    const reader = new FrameReader(MAX_FIELD_SECTION_SIZE);
    let state: 'headers' | 'body' | 'trailers' = 'headers';
    let finished = false;
    let req: ServerRequest | null = null;
    const sink = {
      frame: (type: number, p: Buffer) => {
        if (type === Frame.HEADERS) {
          if (state === 'headers') {
            state = 'body';
            req = this.dispatch(id, decodeFieldSection(p, { maxSectionSize: MAX_FIELD_SECTION_SIZE }));
            return;
          }
          if (state === 'body') {
            parseFields(decodeFieldSection(p, { maxSectionSize: MAX_FIELD_SECTION_SIZE }), 'trailers');
            state = 'trailers';
            return;
          }
          throw connErr(H3Code.FRAME_UNEXPECTED, 'HEADERS after trailers');
        }
        throw connErr(H3Code.FRAME_UNEXPECTED, `frame 0x${type.toString(16)} on a request stream`);
      },
      data: (c: Buffer) => req?.bodyData(c), // discarded unless the handler reads the body
      dataHeader: () => {
        if (state !== 'body') throw connErr(H3Code.FRAME_UNEXPECTED, `DATA in state ${state}`);
      },
    };
    return {
      chunk: (d) => reader.push(d, sink),
      fin: () => {
        if (!reader.atBoundary()) throw connErr(H3Code.FRAME_ERROR, 'request stream ended inside a frame');
        if (state === 'headers') throw new H3Error(H3Code.REQUEST_INCOMPLETE, 'stream', 'request ended before HEADERS');
        finished = true;
        req?.bodyEnd();
        this.wt?.get(id)?.close(); // the client closed its WebTransport session
      },
      reset: (code) => this.streamGone(id, new QuicError('HOLBENCH_QUIC_RESET', `stream ${id} reset by peer with code 0x${code.toString(16)}`, code)),
      abort: (e) => {
        void finished;
        this.streamGone(id, e);
      },
    };
  }

  private dispatch(id: number, fields: HeaderList): ServerRequest {
    const f = parseFields(fields, 'request');
    const method = f.pseudo.get(':method')!;
    const req = new ServerRequest(method, f.pseudo.get(':path') ?? '', f.pseudo.get(':authority') ?? f.headers.host ?? '', f.headers, id, this.connId, !this.conn.established());
    const protocol = f.pseudo.get(':protocol');
    if (protocol !== undefined) req.protocol = protocol;
    if (this.wt && method === 'CONNECT' && protocol === 'webtransport') req.webtransport = this.wt.create(id);
    this.server.requestCount++;
    this.inflight.set(id, req);
    const early = this.earlyUpdates.get(id);
    if (early !== undefined) {
      this.earlyUpdates.delete(id);
      this.updates.set(id, early);
    }
    let reply: H3Reply | Promise<H3Reply>;
    try {
      reply = this.server.handler(req);
    } catch (e) {
      reply = { status: 500, body: `handler error: ${(e as Error).message}` };
    }
    Promise.resolve(reply)
      .catch((e: Error): H3Reply => ({ status: 500, body: `handler error: ${e?.message}` }))
      .then((r) => this.respond(req, r));
    return req;
  }

  private respond(req: ServerRequest, reply: H3Reply): void {
    const id = req.streamId;
    let body = reply.body;
    if (req.finished || this.conn.closed) {
      // the stream or connection died while the handler was working
      if (body instanceof PushBody) body.settle(req.goneErr ?? new QuicError('HOLBENCH_QUIC_CLOSED', 'connection closed'));
      req.webtransport?.ended(req.goneErr ?? new QuicError('HOLBENCH_QUIC_CLOSED', 'connection closed'));
      return;
    }
    const done = () => this.finish(req, null);
    const wt = req.webtransport;
    if (wt) {
      if (reply.status < 200 || reply.status > 299) {
        wt.ended(new Error(`WebTransport session refused with status ${reply.status}`));
      } else {
        // The session lives as long as the CONNECT stream: an open body that only its close ends.
        const push = new PushBody();
        reply = { ...reply, headers: { [WT_DRAFT_HEADER[0]]: WT_DRAFT_HEADER[1], ...reply.headers } };
        body = push;
        wt.setCloser(() => push.end());
        push.onClose((err) => wt.ended(err));
      }
    }
    if (typeof body === 'string') body = Buffer.from(body);
    if (req.method === 'HEAD') {
      if (body instanceof PushBody) body.settle(null);
      body = undefined;
    }
    const headersFrame = encodeFrame(Frame.HEADERS, encodeFieldSection(replyHeaders(reply, Buffer.isBuffer(body) ? body.length : body ? null : 0)));
    const trailers = reply.trailers && !(body instanceof PushBody) ? [encodeFrame(Frame.HEADERS, encodeFieldSection(Object.entries(reply.trailers).map(([k, v]) => [k.toLowerCase(), v])))] : [];
    // Bodies pulled over time take turns through the scheduler; the response's HEADERS go
    // out with its first turn. Whole-buffer replies and event streams are written at once.
    this.prioritize(req, !!body && !Buffer.isBuffer(body) && !(body instanceof PushBody));
    if (!body || (Buffer.isBuffer(body) && body.length === 0)) {
      this.conn.write(id, [headersFrame, ...trailers], true);
      return done();
    }
    if (Buffer.isBuffer(body)) {
      this.conn.write(id, [headersFrame, encodeFrameHeader(Frame.DATA, body.length), body, ...trailers], true);
      return done();
    }
    const onStop = (err: QuicError) => this.streamGone(id, err);
    if (body instanceof PushBody) {
      const push = body;
      req.push = push;
      this.conn.write(
        id,
        [headersFrame],
        false,
        () => {
          const out = push.take();
          if (out === null) {
            done();
            push.settle(null);
          }
          return out;
        },
        onStop,
      );
      push.attach(() => this.conn.schedule());
      req.webtransport?.accepted();
      return;
    }
    const it = body[Symbol.iterator]();
    this.conn.write(id, [headersFrame], false, () => {
      const out: Buffer[] = [];
      for (let i = 0; i < PULL_CHUNKS; i++) {
        const n = it.next();
        if (n.done) {
          if (out.length === 0 && trailers.length) return trailers.splice(0);
          if (out.length === 0) {
            done();
            return null;
          }
          break;
        }
        if (n.value.length === 0) continue;
        out.push(encodeFrameHeader(Frame.DATA, n.value.length), n.value);
      }
      return out;
    }, onStop);
  }
}

export class H3Server {
  requestCount = 0;
  private sessions = new Set<ServerSession>();
  scheduling: ResponseScheduling | null = null;
  webtransport = false;

  private constructor(
    readonly handler: H3Handler,
    private listener: QuicListener | null = null,
  ) {}

  static async listen(host: string, port: number, opts: ListenOptions, handler: H3Handler): Promise<H3Server> {
    const server = new H3Server(handler);
    server.webtransport = !!opts.webtransport;
    const transport = opts.webtransport ? { ...opts, datagrams: true, maxStreamsUni: Math.max(opts.maxStreamsUni ?? 0, 256) } : opts;
    const makeConfig = (path: PathParams) => buildConfig('server', { key: opts.key, cert: opts.cert }, transport, path);
    server.onConnectionClosed = opts.onConnectionClosed ?? null;
    server.scheduling = opts.scheduling ?? null;
    server.listener = await QuicListener.listen(
      host,
      port,
      makeConfig,
      (conn) => {
        server.sessions.add(new ServerSession(conn, server));
        if (opts.pingMs) conn.pingEvery(opts.pingMs);
      },
      opts.maxUdpPayload,
    );
    return server;
  }

  get port(): number {
    return this.listener!.port;
  }

  private acceptedBeforeClose = 0;
  /** completed handshakes: full, resumed (a session ticket), and those whose connection
   *  carried requests before completing (0-RTT the server accepted) */
  private handshakes = { full: 0, resumed: 0, zeroRtt: 0 };

  /** A ServerSession's handshake completed. */
  countHandshake(resumed: boolean, earlyData: boolean): void {
    if (resumed) this.handshakes.resumed++;
    else this.handshakes.full++;
    if (earlyData) this.handshakes.zeroRtt++;
  }

  stats(): { connections: number; requests: number; open: number; handshakes: { full: number; resumed: number; zeroRtt: number } } {
    return { connections: this.listener?.accepted ?? this.acceptedBeforeClose, requests: this.requestCount, open: this.sessions.size, handshakes: { ...this.handshakes } };
  }

  private onConnectionClosed: ((info: ConnectionClosedInfo) => void) | null = null;

  sessionGone(s: ServerSession, info: ConnectionClosedInfo): void {
    this.sessions.delete(s);
    try {
      this.onConnectionClosed?.(info);
    } catch {
      /* the callback's failure is its own */
    }
  }

  /** GOAWAY to every connection, wait up to `graceMs` for in-flight requests, then stop. */
  async close(graceMs = 2000): Promise<void> {
    if (!this.listener) return;
    for (const s of this.sessions) s.goaway();
    const deadline = Date.now() + graceMs;
    while (this.sessions.size > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    if (this.sessions.size > 0) {
      for (const s of this.sessions) s.closeNow();
      await new Promise((r) => setTimeout(r, 50)); // let CONNECTION_CLOSE go out
    }
    const l = this.listener;
    this.acceptedBeforeClose = l.accepted;
    this.listener = null;
    await l.close();
  }
}

export function listen(host: string, port: number, opts: ListenOptions, handler: H3Handler): Promise<H3Server> {
  return H3Server.listen(host, port, opts, handler);
}
