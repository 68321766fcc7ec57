// HTTP/3 server: a handler per request, responses streamed from Buffers or iterables of
// Buffers without copying the body into memory first.
import { connErr, H3Code, H3Error, QuicError } from './errors.ts';
import { encodeFrame, encodeFrameHeader, Frame, FrameReader } from './frames.ts';
import { decodeFieldSection, encodeFieldSection, type HeaderList } from './qpack.ts';
import { buildConfig, QuicListener, type PathParams, type QuicConn, type TransportOptions } from './quic.ts';
import { H3Session, MAX_FIELD_SECTION_SIZE, parseFields, type BidiHandler } from './session.ts';

export interface ListenOptions extends TransportOptions {
  key: string;
  cert: string;
}

export interface H3Request {
  method: string;
  path: string;
  authority: string;
  headers: Record<string, string>;
  streamId: number;
  connId: string;
}

export interface H3Reply {
  status: number;
  headers?: Record<string, string>;
  /** the body; an iterable is pulled lazily as flow control allows */
  body?: Buffer | string | Iterable<Buffer>;
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

class ServerSession extends H3Session {
  private maxAccepted = -4;
  private goingAway = false;
  active = 0;

  constructor(
    conn: QuicConn,
    private readonly server: H3Server,
  ) {
    super(conn, 'server');
  }

  protected onEstablished(): void {}
  protected onTick(): void {}
  protected onClosed(_err: QuicError | null): void {
    this.server.sessionGone(this);
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
    if (this.goingAway) {
      // Beyond our GOAWAY id: reject without processing (client may retry elsewhere).
      queueMicrotask(() => this.streamError(id, H3Code.REQUEST_REJECTED, new Error('going away')));
      return { chunk() {}, fin() {}, reset() {}, abort() {} };
    }
    this.maxAccepted = Math.max(this.maxAccepted, id);
    const reader = new FrameReader(MAX_FIELD_SECTION_SIZE);
    let state: 'headers' | 'body' | 'trailers' = 'headers';
    let finished = false;
    const sink = {
      frame: (type: number, p: Buffer) => {
        if (type === Frame.HEADERS) {
          if (state === 'headers') {
            state = 'body';
            this.dispatch(id, decodeFieldSection(p, { maxSectionSize: MAX_FIELD_SECTION_SIZE }));
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
      data: () => {}, // request bodies are read (for flow control) and discarded
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
      },
      reset: () => {},
      abort: () => {
        void finished;
      },
    };
  }

  private dispatch(id: number, fields: HeaderList): void {
    const f = parseFields(fields, 'request');
    const method = f.pseudo.get(':method')!;
    const req: H3Request = {
      method,
      path: f.pseudo.get(':path') ?? '',
      authority: f.pseudo.get(':authority') ?? f.headers.host ?? '',
      headers: f.headers,
      streamId: id,
      connId: this.connId,
    };
    this.server.requestCount++;
    this.active++;
    let reply: H3Reply | Promise<H3Reply>;
    try {
      reply = this.server.handler(req);
    } catch (e) {
      reply = { status: 500, body: `handler error: ${(e as Error).message}` };
    }
    Promise.resolve(reply)
      .catch((e: Error): H3Reply => ({ status: 500, body: `handler error: ${e?.message}` }))
      .then((r) => this.respond(id, method, r));
  }

  private respond(id: number, method: string, reply: H3Reply): void {
    const done = () => {
      this.active--;
      this.maybeFinish();
    };
    if (this.conn.closed) return done();
    let body = reply.body;
    if (typeof body === 'string') body = Buffer.from(body);
    if (method === 'HEAD') body = undefined;
    const headersFrame = encodeFrame(Frame.HEADERS, encodeFieldSection(replyHeaders(reply, Buffer.isBuffer(body) ? body.length : body ? null : 0)));
    if (!body || (Buffer.isBuffer(body) && body.length === 0)) {
      this.conn.write(id, [headersFrame], true);
      return done();
    }
    if (Buffer.isBuffer(body)) {
      this.conn.write(id, [headersFrame, encodeFrameHeader(Frame.DATA, body.length), body], true);
      return done();
    }
    const it = body[Symbol.iterator]();
    this.conn.write(id, [headersFrame], false, () => {
      const out: Buffer[] = [];
      for (let i = 0; i < PULL_CHUNKS; i++) {
        const n = it.next();
        if (n.done) {
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
    });
  }
}

export class H3Server {
  requestCount = 0;
  private sessions = new Set<ServerSession>();

  private constructor(
    readonly handler: H3Handler,
    private listener: QuicListener | null = null,
  ) {}

  static async listen(host: string, port: number, opts: ListenOptions, handler: H3Handler): Promise<H3Server> {
    const server = new H3Server(handler);
    const makeConfig = (path: PathParams) => buildConfig('server', { key: opts.key, cert: opts.cert }, opts, path);
    server.listener = await QuicListener.listen(host, port, makeConfig, (conn) => server.sessions.add(new ServerSession(conn, server)), opts.maxUdpPayload);
    return server;
  }

  get port(): number {
    return this.listener!.port;
  }

  private acceptedBeforeClose = 0;

  stats(): { connections: number; requests: number; open: number } {
    return { connections: this.listener?.accepted ?? this.acceptedBeforeClose, requests: this.requestCount, open: this.sessions.size };
  }

  sessionGone(s: ServerSession): void {
    this.sessions.delete(s);
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
