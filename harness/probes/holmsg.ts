// Exact head-of-line delay of a captured gRPC `messages` job (README "Exact head-of-line
// delay"): the page analysis of hol.ts with the same per-byte times (a, s, o) and the same
// arithmetic (holcore.ts); only two things differ.
//
// 1. Framing. grpc-* (grpc-js) is h2c: no TLS, the server's HTTP/2 frames are the TCP
//    payload itself (the client sends the 'PRI * HTTP/2.0' preface; the server's direction
//    starts with its SETTINGS frame). Each frame is its own unit: its bytes reach the
//    application once the frame and every connection byte before it arrived (o = latest
//    arrival of connection bytes [0, frame end)), the role a TLS record plays on h2.
//    grpc-h3-* is QUIC: tshark decrypts with the key log as for h3 pages (hol.ts quicConns),
//    each request stream's HTTP/3 DATA payloads are its body, o = s.
// 2. Delivery D. Message jobs keep no chunks; a stream's body is a run of gRPC messages
//    (1 flag byte, 4 length bytes, protobuf Msg{data}), whose data starts with "<seq> <t_ms> "
//    (contract/messages.ts). Every byte of a message is delivered when the driver reported
//    that seq (the job's message row: JobResult.t0WallMs + recv_ms). On grpc-unary that is
//    grpc-js's callback, after the call's trailers: the wait for the trailers is in D - s
//    (lag_after_self_*), not in the hol_* sums, which stop at o.
//
// Streams: unary echo = one stream per call (window = calls in flight = streams that can
// wait for each other); bidi/stream = one long stream, where hol_cross_ms is 0 by
// construction (no other stream to wait for; a loss shows as hol_self_ms). Only the
// server-to-client direction is analysed (responses), as for pages; requests the server
// waited for are not in these columns.
import { decodeMessage } from '../../contract/messages.ts';
import type { MessageRow } from '../workloads/messages.ts';
import { deliveryTimes, type StreamTimes } from './holcore.ts';
import { h2Spans, h3Spans, inOrderReady, PlainStream, quicConns, reassemble, splitByArrival, tcpConns, timesOf, type Analysis, type CaptureInput, type Span } from './hol.ts';

/** Why a messages job's capture has no hol_* columns when it is not one of ours. */
const NOT_GRPC = 'not a gRPC echo/push stream (exact head-of-line delay of messages jobs: grpc-* and grpc-h3-* with echo or push only)';

/** The seq of a gRPC message payload (protobuf Msg{data: string} = tag 0x0a, varint length,
 *  text), or null when it is not one of ours. */
export function seqOfGrpcMessage(pb: Buffer): number | null {
  if (pb[0] !== 0x0a) return null;
  let at = 1;
  for (let k = 0; ; k++) {
    if (at >= pb.length || k > 4) return null;
    if (!(pb[at++]! & 0x80)) break;
  }
  return decodeMessage(pb.subarray(at, at + 32))?.seq ?? null;
}

/** Delivery time of every body byte of a stream: its gRPC messages, each delivered when
 *  the driver reported its seq (`recvWall`; Infinity when it never did). */
export function messageDeliveries(body: Buffer, recvWall: Map<number, number>): Float64Array {
  const chunks: { tWallMs: number; cum: number }[] = [];
  for (let at = 0; at + 5 <= body.length; ) {
    const len = body.readUInt32BE(at + 1);
    const end = Math.min(body.length, at + 5 + len);
    const seq = seqOfGrpcMessage(body.subarray(at + 5, end));
    if (seq === null) throw new Error(NOT_GRPC);
    chunks.push({ tWallMs: (seq !== null && recvWall.get(seq)) || Infinity, cum: end });
    at = end;
  }
  return deliveryTimes(body.length, chunks);
}

/** The body bytes (DATA payloads, in body order) of a stream from its spans. */
function bodyOf(spans: Span[], data: Buffer): Buffer {
  const size = spans.reduce((m, s) => (s.body >= 0 ? Math.max(m, s.body + s.to - s.from) : m), 0);
  const out = Buffer.alloc(size);
  for (const s of spans) if (s.body >= 0) data.copy(out, s.body, s.from, s.to);
  return out;
}

/** Wall-clock receive time of every seq's first arrival. */
function receiveTimes(rows: MessageRow[], t0WallMs: number): Map<number, number> {
  const m = new Map<number, number>();
  for (const r of rows) if (!r.dup && Number.isFinite(r.recv_ms) && !m.has(r.seq)) m.set(r.seq, t0WallMs + r.recv_ms);
  return m;
}

export async function analyzeMessages(i: CaptureInput): Promise<Analysis> {
  const recvWall = receiveTimes(i.result.messageRows ?? [], i.result.t0WallMs!);
  const streams: StreamTimes[] = [];
  const spaces: Analysis['spaces'] = [];
  if (i.transport === 'udp') {
    for (const [ci, c] of (await quicConns(i)).entries()) {
      for (const [id, segs] of c.streams) {
        const r = reassemble(segs);
        const space = `c${ci}/${id}`;
        const spans = h3Spans(r.data);
        const body = bodyOf(spans, r.data);
        if (!body.length) continue;
        spaces.push({ space, clientPort: c.port, arr: r.arr });
        streams.push(timesOf(space, space, splitByArrival(spans, r.arr), r.arr, null, messageDeliveries(body, recvWall)));
      }
    }
    if (!streams.length && recvWall.size) throw new Error(NOT_GRPC); // e.g. WebTransport streams
    return { streams, spaces };
  }
  for (const [ci, conn] of (await tcpConns(i.pcap, i.serverAddr)).entries()) {
    const srv = reassemble(conn.server);
    const space = `c${ci}`;
    spaces.push({ space, clientPort: conn.clientPort, arr: srv.arr });
    const orderReady = inOrderReady(srv.arr);
    // h2c: the server's bytes are HTTP/2 frames from offset 0; each frame is one unit
    const ps = new PlainStream();
    const spans = new Map<string, Span[]>();
    const bodyAt = new Map<string, number>();
    const d = srv.data;
    // h2c: the server's first frame is its SETTINGS (type 4) on stream 0
    if (d.length >= 9 && (d[3] !== 4 || d.readUInt32BE(5) !== 0)) throw new Error(NOT_GRPC);
    for (let off = 0; off + 9 <= d.length; ) {
      const end = off + 9 + d.readUIntBE(off, 3);
      if (end > d.length) break; // the capture ended inside a frame
      ps.feed(d.subarray(off, end), off, end);
      h2Spans(ps, spans, bodyAt);
      off = end;
    }
    for (const [sid, sp] of spans) {
      const body = bodyOf(sp, d);
      if (!body.length) continue;
      streams.push(timesOf(`${space}/${sid}`, space, sp, srv.arr, orderReady, messageDeliveries(body, recvWall)));
    }
  }
  return { streams, spaces };
}
