// HTTP/3 client: one QUIC connection; requests wait in a stream-credit queue while the
// server's MAX_STREAMS is used up, instead of failing.
import { connErr, H3Code, H3Error, QuicError } from './errors.ts';
import { encodeFrame, Frame, FrameReader } from './frames.ts';
import { decodeFieldSection, encodeFieldSection, type HeaderList } from './qpack.ts';
import { buildConfig, quicConnect, type TransportOptions } from './quic.ts';
import { H3Session, MAX_FIELD_SECTION_SIZE, parseFields, type BidiHandler } from './session.ts';
import type { PushBody } from './server.ts';
import { WtRegistry, wtMissingSettings, type WtSession } from './webtransport.ts';

export interface ConnectOptions extends TransportOptions {
  /** TLS server name (SNI and certificate check); defaults to host */
  servername?: string;
  /** CA (or self-signed certificate) PEM to verify the server against */
  caPem?: string;
  /** skip certificate verification */
  insecure?: boolean;
  /** give up on the handshake after this long (default 10 s) */
  handshakeTimeoutMs?: number;
  /** resume this session (H3Client.waitSession() of an earlier connection to the same
   *  server); with earlyData, connect() resolves as soon as requests can go out in 0-RTT */
  session?: Uint8Array;
  /** WebTransport (H3Client.webtransport): the settings, QUIC datagrams, more uni streams */
  webtransport?: boolean;
}

/** Callbacks for one response, in order: headers -> data* -> trailers? -> end, or error at any point. */
export interface ResponseSink {
  headers?(status: number, headers: Record<string, string>, ids: { streamId: number; connId: string }): void;
  data?(chunk: Buffer): void;
  /** the trailing HEADERS frame (RFC 9114 4.1), validated (no pseudo-headers) */
  trailers?(headers: Record<string, string>): void;
  end?(): void;
  error?(err: Error): void;
}

export interface H3ClientRequest {
  /** QUIC stream id once the request got stream credit, null while queued */
  readonly streamId: number | null;
  cancel(): void;
}

export interface H3Response {
  status: number;
  headers: Record<string, string>;
  body: Buffer;
  streamId: number;
  connId: string;
}

class ClientRequest implements H3ClientRequest, BidiHandler {
  streamId: number | null = null;
  private reader = new FrameReader(MAX_FIELD_SECTION_SIZE);
  private state: 'queued' | 'headers' | 'body' | 'trailers' | 'done' = 'queued';
  private expected: number | null = null;
  private received = 0;
  private readonly fsink = {
    frame: (t: number, p: Buffer) => this.frame(t, p),
    data: (c: Buffer) => this.data(c),
    dataHeader: () => {
      if (this.state !== 'body') throw connErr(H3Code.FRAME_UNEXPECTED, `DATA in state ${this.state}`);
    },
  };

  constructor(
    private readonly client: H3Client,
    readonly headerBlock: Buffer,
    private readonly sink: ResponseSink,
    /** RFC 9218 PRIORITY_UPDATE value sent on the control stream just before the HEADERS */
    readonly priorityUpdate: string | null = null,
    /** request body written over time (DATA frames, FIN at its end()); null = no body */
    readonly body: PushBody | null = null,
    /** leave the request stream open after the HEADERS (extended CONNECT) */
    readonly keepOpen = false,
  ) {}

  opened(id: number): void {
    this.streamId = id;
    this.state = 'headers';
  }

  cancel(): void {
    if (this.state === 'done') return;
    this.abort(new QuicError('HOLBENCH_QUIC_CANCELLED', 'request cancelled'));
    this.client.cancelRequest(this);
  }

  chunk(data: Buffer): void {
    this.reader.push(data, this.fsink);
  }

  fin(): void {
    if (this.state === 'done') return;
    if (!this.reader.atBoundary()) throw connErr(H3Code.FRAME_ERROR, 'stream ended inside a frame');
    if (this.state === 'headers') return this.abort(new H3Error(H3Code.REQUEST_INCOMPLETE, 'stream', 'response ended before HEADERS'));
    if (this.expected !== null && this.received !== this.expected)
      return this.abort(new H3Error(H3Code.MESSAGE_ERROR, 'stream', `body ${this.received} bytes, content-length ${this.expected}`));
    this.state = 'done';
    this.sink.end?.();
  }

  reset(code: number): void {
    this.abort(new QuicError('HOLBENCH_QUIC_RESET', `stream ${this.streamId} reset by server (code 0x${code.toString(16)})`, code));
  }

  abort(err: Error): void {
    this.body?.settle(err);
    if (this.state === 'done') return;
    this.state = 'done';
    this.sink.error?.(err);
  }

  private frame(type: number, p: Buffer): void {
    if (type === Frame.HEADERS) {
      if (this.state === 'headers') {
        const f = parseFields(decodeFieldSection(p, { maxSectionSize: MAX_FIELD_SECTION_SIZE }), 'response');
        const status = Number(f.pseudo.get(':status'));
        if (status >= 100 && status < 200) {
          if (status === 101) throw new H3Error(H3Code.MESSAGE_ERROR, 'stream', '101 is not allowed in HTTP/3');
          return; // interim response: the final one follows
        }
        this.expected = f.contentLength;
        this.state = 'body';
        this.sink.headers?.(status, f.headers, { streamId: this.streamId!, connId: this.client.connId });
        return;
      }
      if (this.state === 'body') {
        const t = parseFields(decodeFieldSection(p, { maxSectionSize: MAX_FIELD_SECTION_SIZE }), 'trailers');
        this.state = 'trailers';
        this.sink.trailers?.(t.headers);
        return;
      }
      throw connErr(H3Code.FRAME_UNEXPECTED, 'HEADERS after trailers');
    }
    if (type === Frame.PUSH_PROMISE) throw connErr(H3Code.ID_ERROR, 'PUSH_PROMISE without MAX_PUSH_ID');
    throw connErr(H3Code.FRAME_UNEXPECTED, `frame 0x${type.toString(16)} on a request stream`);
  }

  private data(c: Buffer): void {
    if (this.state === 'done') return;
    this.received += c.length;
    if (this.expected !== null && this.received > this.expected) throw new H3Error(H3Code.MESSAGE_ERROR, 'stream', 'body longer than content-length');
    this.sink.data?.(c);
  }
}

export class H3Client extends H3Session {
  private queue: ClientRequest[] = [];
  private nextBidi = 0;
  private goawayId = Infinity;
  private open = new Set<ClientRequest>();
  private readyWaiters: { resolve: () => void; reject: (e: Error) => void } | null = null;
  private closeWaiters: (() => void)[] = [];
  private sessionWaiters: ((s: Buffer) => void)[] = [];
  private handshakeWaiters: { resolve: () => void; reject: (e: Error) => void }[] = [];
  /** requests whose stream was opened before the handshake completed (sent as 0-RTT data) */
  earlyRequests = 0;
  readonly authority: string;

  constructor(conn: ConstructorParameters<typeof H3Session>[0], authority: string) {
    super(conn, 'client');
    this.authority = authority;
  }

  /** Resolves once the handshake completed, or once 0-RTT requests can go out. */
  ready(timeoutMs: number): Promise<void> {
    if (this.conn.streamsUsable()) return Promise.resolve();
    if (this.closedErr) return Promise.reject(this.closedErr);
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => {
        this.readyWaiters = null;
        const e = new QuicError('HOLBENCH_QUIC_TIMEOUT', `QUIC handshake did not complete in ${timeoutMs} ms`);
        this.conn.destroy(e);
        reject(e);
      }, timeoutMs);
      this.readyWaiters = {
        resolve: () => (clearTimeout(t), resolve()),
        reject: (e) => (clearTimeout(t), reject(e)),
      };
    });
  }

  /** Send a request. Never throws: failures arrive on sink.error. With o.body (a PushBody),
   *  the request body is streamed as it is written and its end() sends the FIN; without, the
   *  HEADERS carry the FIN. With
   *  o.priorityUpdate, a PRIORITY_UPDATE frame for the request's stream goes out on the
   *  control stream just before its HEADERS (what Chromium's quiche does for a priority other
   *  than the default). */
  request(method: string, path: string, headers: Record<string, string> = {}, sink: ResponseSink = {}, o: { priorityUpdate?: string; body?: PushBody; protocol?: string } = {}): H3ClientRequest {
    const list: HeaderList = [
      [':method', method],
      [':scheme', 'https'],
      [':authority', this.authority],
      [':path', path],
    ];
    // RFC 9220 extended CONNECT: the stream stays open after the HEADERS
    if (o.protocol !== undefined) list.push([':protocol', o.protocol]);
    for (const [k, v] of Object.entries(headers)) list.push([k.toLowerCase(), v]);
    const req = new ClientRequest(this, encodeFrame(Frame.HEADERS, encodeFieldSection(list)), sink, o.priorityUpdate ?? null, o.body ?? null, o.protocol !== undefined);
    if (this.closedErr) {
      queueMicrotask(() => req.abort(this.closedErr!));
      return req;
    }
    if (this.goawayId !== Infinity) {
      queueMicrotask(() => req.abort(new QuicError('HOLBENCH_QUIC_GOAWAY', 'connection is going away')));
      return req;
    }
    this.queue.push(req);
    this.conn.schedule();
    return req;
  }

  /** Convenience: GET and collect the whole body. */
  get(path: string, headers: Record<string, string> = {}): Promise<H3Response> {
    return new Promise((resolve, reject) => {
      const chunks: Buffer[] = [];
      let status = 0;
      let hdrs: Record<string, string> = {};
      let streamId = -1;
      this.request('GET', path, headers, {
        headers: (s, h, ids) => {
          status = s;
          hdrs = h;
          streamId = ids.streamId;
        },
        data: (c) => chunks.push(c),
        end: () => resolve({ status, headers: hdrs, body: Buffer.concat(chunks), streamId, connId: this.connId }),
        error: reject,
      });
    });
  }

  /** The TLS session to resume with, once the server's NewSessionTicket arrived (it is sent
   *  after the handshake); rejects after `timeoutMs` or when the connection closes first. */
  waitSession(timeoutMs: number): Promise<Buffer> {
    const now = this.conn.session();
    if (now) return Promise.resolve(now);
    if (this.closedErr) return Promise.reject(this.closedErr);
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => {
        this.sessionWaiters = this.sessionWaiters.filter((w) => w !== done);
        reject(new QuicError('HOLBENCH_QUIC_TIMEOUT', `no session ticket from the server in ${timeoutMs} ms`));
      }, timeoutMs);
      const done = (s: Buffer | null, e?: Error) => (clearTimeout(t), s ? resolve(s) : reject(e));
      this.sessionWaiters.push(done as (s: Buffer) => void);
      this.conn.schedule();
    });
  }

  /** Resolves once the QUIC handshake completed (at once for a connection made without
   *  0-RTT: connect() waited for it); rejects if the connection closes first. */
  handshake(): Promise<void> {
    if (this.conn.established()) return Promise.resolve();
    if (this.closedErr) return Promise.reject(this.closedErr);
    return new Promise((resolve, reject) => this.handshakeWaiters.push({ resolve, reject }));
  }

  handshakeDone(): void {
    for (const w of this.handshakeWaiters.splice(0)) w.resolve();
  }

  /**
   * Open a WebTransport session (extended CONNECT, :protocol webtransport, to `path`) once the
   * server's SETTINGS allow it; resolves on a 2xx. Needs ConnectOptions.webtransport. The
   * session ends when the server finishes or resets the CONNECT stream, or with the connection.
   */
  async webtransport(path: string, headers: Record<string, string> = {}, timeoutMs = 10_000): Promise<WtSession> {
    const reg = this.wt;
    if (!reg) throw new QuicError('HOLBENCH_QUIC_WT', 'WebTransport is off on this connection (ConnectOptions.webtransport)');
    const settings = await this.peerSettingsReady(timeoutMs);
    const missing = wtMissingSettings(settings);
    if (missing.length) throw new QuicError('HOLBENCH_QUIC_WT', `server does not offer WebTransport: its SETTINGS lack ${missing.join(', ')}`);
    return new Promise<WtSession>((resolve, reject) => {
      let session: WtSession | null = null;
      const t = setTimeout(() => {
        req.cancel();
        reject(new QuicError('HOLBENCH_QUIC_TIMEOUT', `no response to the WebTransport CONNECT within ${timeoutMs} ms`));
      }, timeoutMs);
      const req = this.request('CONNECT', path, headers, {
        headers: (status, _h, ids) => {
          clearTimeout(t);
          if (status < 200 || status > 299) {
            reject(new QuicError('HOLBENCH_QUIC_WT', `WebTransport CONNECT ${path} refused with status ${status}`));
            return req.cancel();
          }
          session = reg.create(ids.streamId);
          resolve(session);
        },
        end: () => session?.ended(null),
        error: (e) => {
          clearTimeout(t);
          if (session) session.ended(e);
          else reject(e);
        },
      }, { protocol: 'webtransport' });
    });
  }

  /** WtHost: open our next bidi stream with `data` (not finished) and route it to `h`. */
  tryOpenBidi(data: Buffer, h: BidiHandler): number | null {
    if (this.closedErr || this.conn.peerStreamsLeftBidi() <= 0) return null;
    const id = this.nextBidi;
    if (!this.conn.tryOpen(id, data, false)) return null;
    this.nextBidi += 4;
    this.bidi.set(id, h);
    return id;
  }

  /** Requests waiting for stream credit. */
  queued(): number {
    return this.queue.length;
  }

  cancelRequest(r: ClientRequest): void {
    const i = this.queue.indexOf(r);
    if (i >= 0) this.queue.splice(i, 1);
    if (r.streamId !== null && this.open.delete(r)) {
      this.bidi.delete(r.streamId);
      this.conn.resetStream(r.streamId, H3Code.REQUEST_CANCELLED);
    }
  }

  /** Close the connection (H3_NO_ERROR); outstanding requests fail. */
  close(): Promise<void> {
    if (this.conn.closed) return Promise.resolve();
    return new Promise((resolve) => {
      this.closeWaiters.push(resolve);
      this.conn.close(H3Code.NO_ERROR, '');
      // quiche drains for ~3 PTO before reporting closed; don't keep callers waiting on it.
      setTimeout(() => this.conn.destroy(null), 500).unref();
    });
  }

  protected onEstablished(): void {
    this.readyWaiters?.resolve();
    this.readyWaiters = null;
  }

  protected onTick(): void {
    if (this.sessionWaiters.length) {
      const s = this.conn.session();
      if (s) for (const w of this.sessionWaiters.splice(0)) w(s);
    }
    // Stream-credit queue: open as many queued requests as the peer's MAX_STREAMS allows.
    for (let guard = 0; guard < 10_000 && this.queue.length > 0; guard++) {
      if (this.conn.peerStreamsLeftBidi() <= 0) return;
      const req = this.queue[0]!;
      const id = this.nextBidi;
      if (!this.conn.tryOpen(id, req.headerBlock, !req.body && !req.keepOpen)) return;
      // Queued after the HEADERS, the frame still leaves before them: our control stream is
      // the most urgent in quiche's packet scheduler (session.ts), request streams are not.
      if (req.priorityUpdate !== null) this.sendPriorityUpdate(id, req.priorityUpdate);
      this.queue.shift();
      this.nextBidi += 4;
      if (!this.conn.established()) this.earlyRequests++;
      req.opened(id);
      this.open.add(req);
      if (req.body) {
        const b = req.body;
        const pull = () => {
          const out = b.take();
          if (out === null) b.settle(null);
          return out;
        };
        this.conn.write(id, [], false, pull, (err) => b.settle(err));
        b.attach(() => this.conn.schedule());
      }
      this.bidi.set(id, {
        chunk: (d) => req.chunk(d),
        fin: () => {
          this.open.delete(req);
          req.fin();
          this.closeIfGoneAway();
        },
        reset: (c) => {
          this.open.delete(req);
          req.reset(c);
          this.closeIfGoneAway();
        },
        abort: (e) => {
          this.open.delete(req);
          req.abort(e);
        },
      });
    }
  }

  protected onClosed(err: QuicError | null): void {
    const e = err ?? new QuicError('HOLBENCH_QUIC_CLOSED', 'connection closed');
    this.readyWaiters?.reject(e);
    this.readyWaiters = null;
    for (const r of this.queue.splice(0)) r.abort(e);
    for (const r of [...this.open]) r.abort(e);
    this.open.clear();
    for (const w of this.closeWaiters.splice(0)) w();
    for (const w of this.handshakeWaiters.splice(0)) w.reject(e);
    for (const w of this.sessionWaiters.splice(0)) (w as (s: Buffer | null, e: Error) => void)(null, e);
  }

  protected acceptBidi(): BidiHandler {
    throw connErr(H3Code.STREAM_CREATION_ERROR, 'server-initiated bidirectional stream');
  }

  /** After the server's GOAWAY, close once nothing is outstanding (RFC 9114 5.2). */
  private closeIfGoneAway(): void {
    if (this.goawayId !== Infinity && this.open.size === 0 && this.queue.length === 0) this.conn.close(H3Code.NO_ERROR, '');
  }

  protected onGoaway(id: number): void {
    if (id % 4 !== 0) throw connErr(H3Code.ID_ERROR, `GOAWAY id ${id} is not a client bidirectional stream`);
    if (id > this.goawayId) throw connErr(H3Code.ID_ERROR, 'GOAWAY id increased');
    this.goawayId = id;
    const e = new QuicError('HOLBENCH_QUIC_GOAWAY', `server sent GOAWAY(${id}); request not processed`, H3Code.REQUEST_REJECTED);
    for (const r of this.queue.splice(0)) r.abort(e);
    for (const r of [...this.open]) {
      if (r.streamId !== null && r.streamId >= id) {
        this.open.delete(r);
        this.bidi.delete(r.streamId);
        this.conn.resetStream(r.streamId, H3Code.REQUEST_CANCELLED);
        r.abort(e);
      }
    }
    this.closeIfGoneAway();
  }
}

/** Open an HTTP/3 connection; resolves once the QUIC handshake completed, or, resuming a
 *  session with earlyData, as soon as requests can go out in 0-RTT (conn.earlyData tells;
 *  the handshake then completes while they travel). */
export async function connect(host: string, port: number, opts: ConnectOptions = {}): Promise<H3Client> {
  const servername = opts.servername ?? host;
  const transport = opts.webtransport ? { ...opts, datagrams: true, maxStreamsUni: Math.max(opts.maxStreamsUni ?? 0, 256) } : opts;
  const { conn } = await quicConnect(host, port, (path) => buildConfig('client', { caPem: opts.caPem, insecure: opts.insecure }, transport, path), servername, opts.maxUdpPayload, opts.session, opts.keylogFile);
  const authority = `${servername.includes(':') ? `[${servername}]` : servername}:${port}`;
  const client = new H3Client(conn, authority);
  if (opts.webtransport) client.enableWebTransport(new WtRegistry(client));
  if (opts.pingMs) conn.pingEvery(opts.pingMs);
  await client.ready(opts.handshakeTimeoutMs ?? 10_000);
  return client;
}
