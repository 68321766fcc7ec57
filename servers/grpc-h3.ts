// gRPC over HTTP/3 (`grpc-h3-*`): the Messages service of holbench.proto answered by the h3
// plugin (servers/h3.ts) for requests with content-type application/grpc, in the wire format
// of servers/grpc-wire.ts. Same behaviour as servers/grpc.ts on grpc-js:
//   Echo   unary: the reply is the request;   Push: the shared push schedule (resume `after`)
//   Chat   bidi: every message echoed;        Upload: count + sha256 + arrivals, answered once
//
// What of gRPC is covered: POST only (else HTTP 405); content-type application/grpc[+proto]
// (else HTTP 415); the response headers go out at once (:status 200, content-type), the
// status in trailers (grpc-status, grpc-message percent-encoded); errors before any message
// are Trailers-Only (one HEADERS frame with grpc-status). Status codes: unknown method ->
// UNIMPLEMENTED (12), a compressed message -> UNIMPLEMENTED, a bad request message or push
// parameters -> INVALID_ARGUMENT (3) / INTERNAL (13), more than one message on a unary or
// server-streaming call -> INTERNAL; grpc-timeout is honoured: when it runs out before the
// call ended, the call ends with DEADLINE_EXCEEDED (4) and whatever was still coming is
// dropped. Metadata: request headers named x-holbench-* are echoed in the response headers
// (custom metadata round trip); other metadata is accepted and ignored.
// Not covered: compression (grpc-encoding / grpc-accept-encoding), binary (-bin) metadata
// semantics, authentication, channelz/health/reflection, flow-control tuning beyond QUIC's,
// and retries/hedging (client side).
import type { H3Reply, H3Request, PushBody as PushBodyT } from '../h3/server.ts';
import { decodeMessage, encodeMessage, nowMs, parsePushParams, type PushSchedules, UploadDigest } from '../contract/messages.ts';
import {
  encodeGrpcFrame,
  encodeGrpcMessage,
  GRPC_CONTENT_TYPE,
  GRPC_STATUS,
  GrpcFrameReader,
  grpcMethods,
  GrpcWireError,
  parseGrpcTimeout,
  type GrpcMethod,
} from './grpc-wire.ts';
import { pushRequestQuery, type Msg, type PushRequest } from '../contract/grpc.ts';

export interface GrpcH3Context {
  PushBody: typeof PushBodyT;
  schedules: PushSchedules;
  /** a message went out (stats: messagesSent) */
  onSent(): void;
  /** open response bodies, ended by the plugin's stop() */
  streams: Set<PushBodyT>;
}

export function isGrpcRequest(req: H3Request): boolean {
  return (req.headers['content-type'] ?? '').startsWith(GRPC_CONTENT_TYPE);
}

const trailersOnly = (code: number, message: string): H3Reply => ({
  status: 200,
  headers: { 'content-type': GRPC_CONTENT_TYPE, 'grpc-status': String(code), 'grpc-message': encodeGrpcMessage(message) },
});

export function grpcH3Handler(req: H3Request, ctx: GrpcH3Context): H3Reply {
  if (req.method !== 'POST') return { status: 405, headers: { allow: 'POST' }, body: 'gRPC calls are POST\n' };
  const ct = req.headers['content-type'] ?? '';
  if (ct !== GRPC_CONTENT_TYPE && ct !== `${GRPC_CONTENT_TYPE}+proto`) return { status: 415, body: `unsupported content-type ${ct}\n` };
  const m = grpcMethods().get(req.path);
  if (!m) return trailersOnly(GRPC_STATUS.UNIMPLEMENTED, `unknown method ${req.path}`);
  const enc = req.headers['grpc-encoding'];
  if (enc && enc !== 'identity') return trailersOnly(GRPC_STATUS.UNIMPLEMENTED, `grpc-encoding ${enc} not supported`);

  const headers: Record<string, string> = { 'content-type': GRPC_CONTENT_TYPE };
  for (const [k, v] of Object.entries(req.headers)) if (k.startsWith('x-holbench-')) headers[k] = v;
  const body = new ctx.PushBody();
  ctx.streams.add(body);
  let ended = false;
  const cleanups: (() => void)[] = [];
  const end = (code: number, message = '') => {
    if (ended) return;
    ended = true;
    for (const c of cleanups.splice(0)) c();
    const t: Record<string, string> = { 'grpc-status': String(code) };
    if (message) t['grpc-message'] = encodeGrpcMessage(message);
    body.end(t);
  };
  const send = (m: GrpcMethod, v: unknown) => {
    if (ended) return;
    ctx.onSent();
    body.write(encodeGrpcFrame(m.responseSerialize(v)));
  };
  body.onClose(() => {
    ended = true;
    for (const c of cleanups.splice(0)) c();
    ctx.streams.delete(body);
  });

  const timeoutMs = parseGrpcTimeout(req.headers['grpc-timeout']);
  if (timeoutMs !== null) {
    const t = setTimeout(() => end(GRPC_STATUS.DEADLINE_EXCEEDED, `deadline of ${req.headers['grpc-timeout']} exceeded`), timeoutMs);
    cleanups.push(() => clearTimeout(t));
  }

  const calls: Record<string, () => { message(b: Buffer): void; end(): void }> = {
    Echo: () => {
      let got: Msg | null = null;
      return {
        message: (b) => {
          if (got) return end(GRPC_STATUS.INTERNAL, 'more than one request message on a unary call');
          got = m.requestDeserialize(b) as Msg;
        },
        end: () => {
          if (!got) return end(GRPC_STATUS.INTERNAL, 'no request message');
          send(m, { data: got.data });
          end(GRPC_STATUS.OK);
        },
      };
    },
    Push: () => {
      let started = false;
      return {
        message: (b) => {
          if (started) return end(GRPC_STATUS.INTERNAL, 'more than one request message on a server-streaming call');
          started = true;
          const p = parsePushParams(pushRequestQuery(m.requestDeserialize(b) as PushRequest));
          if (typeof p === 'string') return end(GRPC_STATUS.INVALID_ARGUMENT, p);
          cleanups.push(ctx.schedules.follow(p, (seq, due) => send(m, { data: encodeMessage(seq, p.bytes, due) }), () => end(GRPC_STATUS.OK)));
        },
        end: () => {
          if (!started) end(GRPC_STATUS.INTERNAL, 'no request message');
        },
      };
    },
    Chat: () => ({
      message: (b) => send(m, { data: (m.requestDeserialize(b) as Msg).data }),
      end: () => end(GRPC_STATUS.OK),
    }),
    Upload: () => {
      const digest = new UploadDigest();
      const seq: number[] = [];
      const recvMs: number[] = [];
      return {
        message: (b) => {
          const at = nowMs();
          const d = (m.requestDeserialize(b) as Msg).data;
          digest.add(d);
          seq.push(decodeMessage(d)?.seq ?? 0);
          recvMs.push(at);
        },
        end: () => {
          send(m, { count: digest.count, checksum: digest.hex(), seq, recv_ms: recvMs });
          end(GRPC_STATUS.OK);
        },
      };
    },
  };
  const name = req.path.slice(req.path.lastIndexOf('/') + 1);
  const call = calls[name]?.();
  if (!call) return trailersOnly(GRPC_STATUS.UNIMPLEMENTED, `method ${req.path} not served over HTTP/3`);
  const reader = new GrpcFrameReader();
  req.readBody({
    data: (c) => {
      if (ended) return;
      try {
        for (const msg of reader.push(c)) if (!ended) call.message(msg);
      } catch (e) {
        end(e instanceof GrpcWireError ? e.code : GRPC_STATUS.INTERNAL, (e as Error).message);
      }
    },
    end: () => {
      if (ended) return;
      if (reader.pending) return end(GRPC_STATUS.INTERNAL, 'request ended inside a message');
      call.end();
    },
  });
  return { status: 200, headers, body };
}
