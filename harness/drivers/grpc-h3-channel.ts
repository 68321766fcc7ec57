// A gRPC channel over our HTTP/3 client (grpc-js speaks no HTTP/3, so the framing is ours:
// servers/grpc-wire.ts). One QUIC connection at a time, every call a request stream of it;
// a new connection is made when the current one is gone (closed, idled out, GOAWAY).
//
// A call: POST <path>, content-type application/grpc, te: trailers, grpc-timeout when it has
// a deadline, plus metadata as headers; request messages are Length-Prefixed-Messages on the
// request stream (streamed: a PushBody), end() half-closes. Its status comes once: from the
// trailers (or the headers of a Trailers-Only response), else the HTTP status mapping; a
// local deadline cancels the stream (RESET_STREAM) with DEADLINE_EXCEEDED, as grpc-js does;
// a dead stream or connection is UNAVAILABLE (connection) or CANCELLED (stream reset), with
// the QUIC error as `cause` (QuicIdleTimeout: the idle timeout fired).
import type { H3Client, H3ClientRequest } from '../../h3/client.ts';
import type { PushBody as PushBodyT } from '../../h3/server.ts';
import { encodeGrpcFrame, encodeGrpcTimeout, GRPC_CONTENT_TYPE, GRPC_STATUS, GrpcFrameReader, grpcStatusOf } from '../../servers/grpc-wire.ts';
import { QuicConnection, type QuicDial } from './quic-conn.ts';

export interface GrpcStatus {
  code: number;
  details: string;
  /** the QUIC/HTTP/3 error that ended the call, when one did */
  cause?: Error;
  /** the HTTP/3 connection the call ran on (null: it never got one) */
  client: H3Client | null;
}

export interface GrpcCallHandlers {
  /** response headers (metadata) arrived */
  onHeaders?(headers: Record<string, string>): void;
  /** a response message (protobuf bytes, not yet deserialized) */
  onMessage(message: Buffer): void;
  /** once, last */
  onStatus(s: GrpcStatus): void;
}

export interface GrpcCall {
  /** send one request message (protobuf bytes); false once the call is over */
  write(message: Buffer): boolean;
  /** half-close: no more request messages */
  end(): void;
  /** cancel the call (RESET_STREAM); onStatus(CANCELLED) unless it already ended */
  cancel(): void;
}

/** target, keepalive (QUIC idle timeout, PINGs) and the handshake bound of the connections */
export type GrpcH3ChannelOptions = QuicDial;

export class GrpcH3Channel {
  private constructor(
    private readonly conn: QuicConnection,
    private readonly PushBody: typeof PushBodyT,
  ) {}

  static async create(o: GrpcH3ChannelOptions): Promise<GrpcH3Channel> {
    const [conn, { PushBody }] = await Promise.all([QuicConnection.create('grpc-h3 channel closed', o), import('../../h3/server.ts')]);
    return new GrpcH3Channel(conn, PushBody);
  }

  /** QUIC connections opened so far */
  connections(): number {
    return this.conn.connections();
  }

  /** The current connection, or a new one when it is gone (or there is none yet). */
  getClient(): Promise<H3Client> {
    return this.conn.get();
  }

  /** Start a call of `path` ("/holbench.Messages/Echo"). Never throws: failures arrive as
   *  onStatus. Messages written before the stream opens are queued. */
  call(path: string, opts: { deadlineMs?: number; metadata?: Record<string, string> }, h: GrpcCallHandlers): GrpcCall {
    const body = new this.PushBody();
    const reader = new GrpcFrameReader();
    let req: H3ClientRequest | null = null;
    let client: H3Client | null = null;
    let done = false;
    let cancelled = false;
    let httpStatus = 0;
    let headers: Record<string, string> | null = null;
    let trailers: Record<string, string> | null = null;
    let timer: NodeJS.Timeout | undefined;
    const finish = (s: Omit<GrpcStatus, 'client'>) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      body.end(); // half-close what the server will not read any more (a status before our end())
      h.onStatus({ ...s, client });
    };
    // metadata comes last: it may carry its own grpc-timeout (a server deadline other than the local one)
    const hdrs: Record<string, string> = { 'content-type': GRPC_CONTENT_TYPE, te: 'trailers' };
    if (opts.deadlineMs !== undefined) {
      hdrs['grpc-timeout'] = encodeGrpcTimeout(opts.deadlineMs);
      timer = setTimeout(() => {
        finish({ code: GRPC_STATUS.DEADLINE_EXCEEDED, details: `deadline of ${opts.deadlineMs} ms exceeded (client)` });
        req?.cancel();
      }, opts.deadlineMs);
    }
    Object.assign(hdrs, opts.metadata);
    this.getClient().then(
      (c) => {
        if (done) return;
        client = c;
        req = c.request('POST', path, hdrs, {
          headers: (status, hh) => {
            httpStatus = status;
            headers = hh;
            h.onHeaders?.(hh);
          },
          data: (chunk) => {
            if (done) return;
            try {
              for (const m of reader.push(chunk)) h.onMessage(m);
            } catch (e) {
              req?.cancel();
              finish({ code: GRPC_STATUS.INTERNAL, details: (e as Error).message });
            }
          },
          trailers: (t) => (trailers = t),
          end: () => {
            if (reader.pending) return finish({ code: GRPC_STATUS.INTERNAL, details: 'response ended inside a message' });
            finish(grpcStatusOf(httpStatus, trailers ?? headers));
          },
          error: (e) => {
            const code = (e as { code?: string }).code;
            if (code === 'HOLBENCH_QUIC_GOAWAY') this.conn.forget(c);
            const reset = code === 'HOLBENCH_QUIC_RESET' || code === 'HOLBENCH_QUIC_CANCELLED';
            finish({ code: cancelled ? GRPC_STATUS.CANCELLED : reset ? GRPC_STATUS.CANCELLED : GRPC_STATUS.UNAVAILABLE, details: e.message, cause: e });
          },
        }, { body });
      },
      (e: Error) => finish({ code: GRPC_STATUS.UNAVAILABLE, details: `no connection: ${e.message}`, cause: e }),
    );
    return {
      write: (m) => {
        if (done || body.closed) return false;
        body.write(encodeGrpcFrame(m));
        return true;
      },
      end: () => body.end(),
      cancel: () => {
        if (done) return;
        cancelled = true;
        finish({ code: GRPC_STATUS.CANCELLED, details: 'cancelled by the client' });
        req?.cancel();
      },
    };
  }

  close(): Promise<void> {
    return this.conn.close();
  }
}
