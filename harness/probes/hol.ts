// Exact head-of-line delay of one captured job (README "Exact head-of-line delay"): which
// received bytes waited, and for what, between their arrival at the client's interface and
// their delivery to the driver. The arithmetic is in holcore.ts; this file finds, for every
// body byte of every stream, its arrival time, the readiness of its own stream and of its
// transport, and its delivery time.
//
// Clocks: packet times are the capture's (kernel wall clock, ns); delivery times are the
// driver chunks' t_ms (performance.now() since the recorder's t0) plus JobResult.t0WallMs,
// the wall clock of that t0 measured to a few microseconds (harness/wallclock.ts). Both run
// on the same host.
//
// TCP (h2, HTTP/1.x over TLS): tshark lists every segment (frame.time_epoch, tcp.stream,
// tcp.seq_raw, tcp.payload; TLS/HTTP dissectors off). Each connection's server-to-client
// bytes are reassembled by sequence number, each byte keeping the time of the first packet
// that carried it. The TLS records are walked in that byte stream, opened with the key log
// (tls13.ts; the ClientHello's random picks the secrets), and the plaintext parsed: HTTP/2
// frames (DATA payload = a stream's body, bytes of its own frames = its own bytes) or
// HTTP/1.1 responses (status line + headers + Content-Length body = one stream each).
// QUIC (h3): tshark decrypts with the key log and lists every STREAM frame the server sent
// (frame.time_epoch, quic.stream.stream_id, quic.stream.offset, quic.stream_data); each
// request stream's bytes are rebuilt by offset and its HTTP/3 frames parsed (DATA payloads =
// body).
//
// gRPC messages jobs (no chunks; h2c or QUIC): holmsg.ts, with the pieces exported here.
// Chromium page jobs (conn_id chromium.<DevTools id>, no stream ids): hol-chromium.ts finds
// each request in the capture's client bytes and reuses the pieces exported here.
//
// Matching to the driver's records: h2 and h3 chunks carry the stream id; capture
// connections are paired with the job's connections in the order they were opened (first
// SYN / first Initial vs JobConnection.startMs); HTTP/1.x responses pair with the requests
// of their connection in start order.
import { readFile } from 'node:fs/promises';
import { run } from '../../proc/exec.ts';
import type { JobResult } from '../agent.ts';
import type { ChunkRow } from '../records.ts';
import { deliveryTimes, summarize, type HolSummary, type StreamTimes } from './holcore.ts';
import { parseKeylog, RecordDecrypter } from './tls13.ts';
import { coverage, findHoles, lossRows, type DropIn, type LinkOptions, type LossRow } from './lossattr.ts';

export interface CaptureInput {
  pcap: string;
  keys: string;
  result: JobResult;
  transport: 'tcp' | 'udp';
  serverAddr: string;
  snaplenBytes: number;
}

export interface HolColumns {
  hol_self_ms: number;
  hol_cross_ms: number;
  hol_cross_ms_per_stream: number;
  hol_cross_bytes: number;
}

export async function tshark(args: string[]): Promise<string[]> {
  const r = await run('tshark', ['-n', ...args], { timeoutMs: 300_000 });
  return r.stdout.split('\n').filter((l) => l.length);
}

/** A stream's own bytes in transport coordinates and its body bytes' positions. */
export interface Span {
  /** transport position range of the stream's own bytes (TCP: sequence offset) */
  from: number;
  to: number;
  /** body offset of `from` when these bytes are body, else -1 */
  body: number;
  /** TCP: end of the TLS record holding these bytes */
  recordEnd: number;
}

/** Per-byte first arrival (wall ms) of a reassembled byte stream, and the bytes. */
export interface Reassembled {
  data: Buffer;
  arr: Float64Array;
}

/** TCP's in-order readiness of a byte stream: for an end offset x, when bytes [0, x) had all
 *  arrived (the latest arrival among them) and which byte arrived last. */
export function inOrderReady(arr: Float64Array): (end: number) => [number, number] {
  const pm = new Float64Array(arr.length);
  const pmAt = new Float64Array(arr.length);
  let m = -Infinity;
  let mAt = -1;
  for (let q = 0; q < arr.length; q++) {
    if (arr[q]! > m) [m, mAt] = [arr[q]!, q];
    pm[q] = m;
    pmAt[q] = mAt;
  }
  return (end) => [pm[end - 1]!, pmAt[end - 1]!];
}

export function reassemble(segs: { t: number; off: number; data: Buffer }[]): Reassembled {
  const len = segs.reduce((m, s) => Math.max(m, s.off + s.data.length), 0);
  const data = Buffer.alloc(len);
  const arr = new Float64Array(len).fill(Infinity);
  for (const s of segs) {
    s.data.copy(data, s.off);
    for (let i = 0; i < s.data.length; i++) if (s.t < arr[s.off + i]!) arr[s.off + i] = s.t;
  }
  return { data, arr };
}

/** Stream times from spans: self readiness runs over the stream's own bytes in order;
 *  transport readiness is `orderReady(recordEnd)` (TCP) or the stream's own (QUIC). */
export function timesOf(key: string, space: string, spans: Span[], arr: Float64Array, orderReady: ((recordEnd: number) => [number, number]) | null, delivery: Float64Array): StreamTimes {
  const size = delivery.length;
  const t: StreamTimes = { key, a: new Float64Array(size).fill(Infinity), s: new Float64Array(size).fill(Infinity), o: new Float64Array(size).fill(Infinity), d: delivery, space, sBy: new Float64Array(size).fill(-1), oBy: new Float64Array(size).fill(-1) };
  let run = -Infinity;
  let runAt = -1;
  for (const sp of spans) {
    // the span is one frame's bytes within one decryption unit: it is usable when all of it is there
    let spanMax = run;
    let spanAt = runAt;
    for (let q = sp.from; q < sp.to; q++) if (arr[q]! > spanMax) [spanMax, spanAt] = [arr[q]!, q];
    [run, runAt] = [spanMax, spanAt];
    if (sp.body < 0) continue;
    const [o, oAt] = orderReady ? orderReady(sp.recordEnd) : [spanMax, spanAt];
    for (let q = sp.from; q < sp.to; q++) {
      const b = sp.body + q - sp.from;
      if (b >= size) break;
      t.a[b] = arr[q]!;
      t.s[b] = spanMax;
      t.sBy![b] = spanAt;
      t.o[b] = Math.max(o, spanMax);
      t.oBy![b] = o > spanMax ? oAt : spanAt;
    }
  }
  return t;
}

/** Chunks of the job grouped by a key, in order, on the wall clock. */
export function chunkGroups(result: JobResult, keyOf: (c: ChunkRow) => string): Map<string, { tWallMs: number; cum: number }[]> {
  const g = new Map<string, { tWallMs: number; cum: number }[]>();
  for (const c of result.chunks) {
    const k = keyOf(c);
    if (!g.has(k)) g.set(k, []);
    g.get(k)!.push({ tWallMs: result.t0WallMs! + c.t_ms, cum: c.cum_bytes });
  }
  return g;
}

/** Connections of the job in the order they were opened. */
function connOrder(result: JobResult): string[] {
  return [...(result.connections ?? [])].sort((a, b) => a.startMs - b.startMs).map((c) => c.connId);
}

// ---- TCP + TLS ----

export interface TcpConn {
  synAt: number;
  clientPort: number;
  client: { t: number; off: number; data: Buffer }[];
  server: { t: number; off: number; data: Buffer }[];
  isnClient?: number;
  isnServer?: number;
}

export async function tcpConns(pcap: string, serverAddr: string): Promise<TcpConn[]> {
  const lines = await tshark(['-r', pcap, '--disable-protocol', 'tls', '--disable-protocol', 'http2', '--disable-protocol', 'http', '-Y', 'tcp', '-T', 'fields', '-e', 'frame.time_epoch', '-e', 'tcp.stream', '-e', 'ip.src', '-e', 'tcp.seq_raw', '-e', 'tcp.flags.syn', '-e', 'tcp.payload', '-e', 'tcp.srcport', '-e', 'tcp.dstport']);
  const conns = new Map<number, TcpConn>();
  for (const line of lines) {
    const [te, st, src, seqRaw, syn, payload, sport, dport] = line.split('\t');
    const t = Number(te) * 1000;
    const id = Number(st);
    const seq = Number(seqRaw);
    const fromServer = src === serverAddr;
    let c = conns.get(id);
    if (!c) conns.set(id, (c = { synAt: t, clientPort: Number(fromServer ? dport : sport), client: [], server: [] }));
    if (syn === '1' || syn === 'True') {
      if (fromServer) c.isnServer = seq;
      else c.isnClient = seq;
      continue;
    }
    if (!payload) continue;
    const isn = fromServer ? c.isnServer : c.isnClient;
    if (isn === undefined) continue; // connection began before the capture
    const off = (seq - isn - 1 + 2 ** 32) % 2 ** 32;
    (fromServer ? c.server : c.client).push({ t, off, data: Buffer.from(payload.replace(/:/g, ''), 'hex') });
  }
  return [...conns.values()].filter((c) => c.isnServer !== undefined && c.isnClient !== undefined).sort((a, b) => a.synAt - b.synAt);
}

/** Walk the server's TLS records; `onPlain(plain, seqOf, recordEnd)` for each application
 *  data record (seqOf(i) = stream offset of plaintext byte i). */
export function walkTls(conn: TcpConn, srv: Reassembled, keylog: Map<string, Map<string, Buffer>>, onPlain: (plain: Buffer, seqStart: number, recordEnd: number) => void): void {
  const cli = reassemble(conn.client).data;
  // ClientHello: record header 5, handshake header 4, version 2, then the random
  if (cli[0] !== 22 || cli[5] !== 1) throw new Error('no ClientHello at the start of a captured connection');
  const random = cli.subarray(11, 43).toString('hex');
  const secrets = keylog.get(random);
  if (!secrets?.get('SERVER_TRAFFIC_SECRET_0')) throw new Error(`key log has no secrets for a connection (client random ${random.slice(0, 16)}...)`);
  const d = srv.data;
  let dec: RecordDecrypter | null = null;
  for (let off = 0; off + 5 <= d.length; ) {
    const type = d[off]!;
    const len = d.readUInt16BE(off + 3);
    const end = off + 5 + len;
    if (end > d.length) break; // the capture ended inside a record
    if (type === 22 && !dec && d[off + 5] === 2) {
      // ServerHello: version 2, random 32, session id, then the cipher suite
      const sidLen = d[off + 5 + 4 + 2 + 32]!;
      const suite = d.readUInt16BE(off + 5 + 4 + 2 + 32 + 1 + sidLen);
      dec = new RecordDecrypter(suite, [secrets.get('SERVER_HANDSHAKE_TRAFFIC_SECRET')!, secrets.get('SERVER_TRAFFIC_SECRET_0')!].filter(Boolean));
    } else if (type === 23 && dec) {
      const pt = dec.open(d.subarray(off, off + 5), d.subarray(off + 5, end));
      if (!pt) throw new Error(`a TLS record at stream offset ${off} does not decrypt with the key log`);
      if (pt.type === 23) onPlain(pt.data, off + 5, end);
    }
    off = end;
  }
}

/** Cut a plaintext byte stream (made of records) into spans; `feed` takes one record. */
export class PlainStream {
  private buf = Buffer.alloc(0);
  /** per buffered byte: [seq, recordEnd] of each piece */
  private pieces: { at: number; len: number; seq: number; recordEnd: number }[] = [];
  private consumed = 0;
  feed(data: Buffer, seq: number, recordEnd: number): void {
    this.pieces.push({ at: this.consumed + this.buf.length, len: data.length, seq, recordEnd });
    this.buf = Buffer.concat([this.buf, data]);
  }
  get available(): number {
    return this.buf.length;
  }
  peek(n: number): Buffer {
    return this.buf.subarray(0, n);
  }
  /** Take n bytes: the transport spans they occupy (split at record boundaries). */
  take(n: number, body: number): Span[] {
    const spans: Span[] = [];
    let pos = this.consumed;
    const stop = this.consumed + n;
    for (const p of this.pieces) {
      if (p.at + p.len <= pos || p.at >= stop) continue;
      const from = Math.max(pos, p.at);
      const to = Math.min(stop, p.at + p.len);
      spans.push({ from: p.seq + (from - p.at), to: p.seq + (to - p.at), body: body < 0 ? -1 : body + (from - this.consumed), recordEnd: p.recordEnd });
      pos = to;
    }
    this.buf = this.buf.subarray(n);
    this.consumed = stop;
    this.pieces = this.pieces.filter((p) => p.at + p.len > stop);
    return spans;
  }
}

/** HTTP/2: spans of every stream (key: stream id) in the plaintext. */
export function h2Spans(ps: PlainStream, out: Map<string, Span[]>, bodyAt: Map<string, number>): void {
  while (ps.available >= 9) {
    const h = ps.peek(9);
    const len = h.readUIntBE(0, 3);
    if (ps.available < 9 + len) return;
    const type = h[3]!;
    const flags = h[4]!;
    const sid = h.readUInt32BE(5) & 0x7fffffff;
    const key = String(sid);
    const own = sid !== 0 && (type === 0 || type === 1 || type === 9);
    if (!own) {
      ps.take(9 + len, -1);
      continue;
    }
    if (!out.has(key)) out.set(key, []);
    const spans = out.get(key)!;
    if (type === 0) {
      const padded = (flags & 0x8) !== 0;
      const padLen = padded ? ps.peek(10)[9]! : 0;
      spans.push(...ps.take(9 + (padded ? 1 : 0), -1));
      const b = bodyAt.get(key) ?? 0;
      const n = len - (padded ? 1 : 0) - padLen;
      spans.push(...ps.take(n, b));
      bodyAt.set(key, b + n);
      if (padLen) spans.push(...ps.take(padLen, -1));
    } else spans.push(...ps.take(9 + len, -1));
  }
}

/** HTTP/1.1: one stream per response (key: its index on the connection). */
export function h1Spans(ps: PlainStream, out: Map<string, Span[]>, state: { n: number; bodyLeft: number }): void {
  for (;;) {
    if (state.bodyLeft > 0) {
      const n = Math.min(state.bodyLeft, ps.available);
      if (!n) return;
      const key = String(state.n - 1);
      const size = out.get(key)!.reduce((a, s) => a + (s.body >= 0 ? s.to - s.from : 0), 0);
      out.get(key)!.push(...ps.take(n, size));
      state.bodyLeft -= n;
      continue;
    }
    const head = ps.peek(ps.available);
    const end = head.indexOf('\r\n\r\n');
    if (end < 0) return;
    const text = head.subarray(0, end).toString('latin1');
    const cl = /\r\ncontent-length:\s*(\d+)/i.exec(text);
    if (!cl) throw new Error('an HTTP/1.1 response without Content-Length (chunked bodies are not analysed)');
    const key = String(state.n++);
    out.set(key, ps.take(end + 4, -1));
    state.bodyLeft = Number(cl[1]);
  }
}

/** What the analysis found: every stream's times and every transport byte space's arrivals
 *  (for loss attribution), with the client port of its connection. */
export interface Analysis {
  streams: StreamTimes[];
  spaces: { space: string; clientPort: number; arr: Float64Array }[];
}

/** A TCP connection's server bytes decrypted and cut into response body spans: per h2
 *  stream id, or per HTTP/1.1 response in order ('0', '1', ...). */
export function responseSpans(conn: TcpConn, keylog: Map<string, Map<string, Buffer>>, h2: boolean): { srv: Reassembled; orderReady: (end: number) => [number, number]; spans: Map<string, Span[]> } {
  const srv = reassemble(conn.server);
  const orderReady = inOrderReady(srv.arr);
  const ps = new PlainStream();
  const spans = new Map<string, Span[]>();
  const bodyAt = new Map<string, number>();
  const st = { n: 0, bodyLeft: 0 };
  walkTls(conn, srv, keylog, (plain, seq, recordEnd) => {
    ps.feed(plain, seq, recordEnd);
    if (h2) h2Spans(ps, spans, bodyAt);
    else h1Spans(ps, spans, st);
  });
  return { srv, orderReady, spans };
}

async function analyzeTcp(i: CaptureInput): Promise<Analysis> {
  const keylog = parseKeylog(await readFile(i.keys, 'utf8'));
  const conns = await tcpConns(i.pcap, i.serverAddr);
  const order = connOrder(i.result);
  if (conns.length !== order.length) throw new Error(`capture has ${conns.length} TCP connections, the job reported ${order.length}`);
  const h2 = i.result.chunks.some((c) => c.conn_id.startsWith('h2'));
  const times: StreamTimes[] = [];
  const spaces: Analysis['spaces'] = [];
  for (const [ci, conn] of conns.entries()) {
    const connId = order[ci]!;
    const { srv, orderReady, spans } = responseSpans(conn, keylog, h2);
    spaces.push({ space: connId, clientPort: conn.clientPort, arr: srv.arr });
    if (h2) {
      const chunks = chunkGroups(i.result, (c) => `${c.conn_id}/${c.stream_id}`);
      for (const [sid, sp] of spans) {
        const ch = chunks.get(`${connId}/${sid}`);
        if (!ch) continue; // streams the driver did not read (none on a page)
        times.push(timesOf(`${connId}/${sid}`, connId, sp, srv.arr, orderReady, deliveryTimes(ch[ch.length - 1]!.cum, ch)));
      }
    } else {
      const reqs = i.result.requests.filter((r) => r.conn_id === connId).sort((a, b) => a.start_ms - b.start_ms);
      const chunks = chunkGroups(i.result, (c) => String(c.req_id));
      for (const [n, sp] of spans) {
        const req = reqs[Number(n)];
        const ch = req && chunks.get(String(req.req_id));
        if (!ch) continue;
        times.push(timesOf(`${connId}/${req.req_id}`, connId, sp, srv.arr, orderReady, deliveryTimes(ch[ch.length - 1]!.cum, ch)));
      }
    }
  }
  return { streams: times, spaces };
}

// ---- QUIC ----

/** A QUIC variable-length integer at `at`: [value, its length], or null past the end. */
export function readVarint(b: Buffer, at: number): [number, number] | null {
  if (at >= b.length) return null;
  const len = 1 << (b[at]! >> 6);
  if (at + len > b.length) return null;
  let v = b[at]! & 0x3f;
  for (let k = 1; k < len; k++) v = v * 256 + b[at + k]!;
  return [v, len];
}

export interface QuicConn {
  first: number;
  port: number;
  streams: Map<number, { t: number; off: number; data: Buffer }[]>;
}

/** Every QUIC connection of the capture (by the client's connection id) with the server's
 *  STREAM frames of each client-initiated bidirectional stream, in order of first packet. */
export async function quicConns(i: Pick<CaptureInput, 'pcap' | 'keys' | 'serverAddr'>): Promise<QuicConn[]> {
  const lines = await tshark(['-r', i.pcap, '-o', `tls.keylog_file:${i.keys}`, '-Y', `ip.src==${i.serverAddr} && quic.stream.stream_id`, '-T', 'fields', '-E', 'occurrence=a', '-E', 'aggregator=;', '-e', 'frame.time_epoch', '-e', 'quic.dcid', '-e', 'quic.stream.stream_id', '-e', 'quic.stream.offset', '-e', 'quic.stream.off', '-e', 'quic.stream_data', '-e', 'udp.dstport']);
  // per connection (client's connection id as the server addresses it) and stream
  const conns = new Map<string, { first: number; port: number; streams: Map<number, { t: number; off: number; data: Buffer }[]> }>();
  for (const line of lines) {
    const [te, dcidList, idList, offList, offBits, dataList, dport] = line.split('\t');
    const t = Number(te) * 1000;
    const dcid = (dcidList ?? '').split(';')[0]!;
    const ids = (idList ?? '').split(';').map(Number);
    const bits = (offBits ?? '').split(';');
    const offs = (offList ?? '').split(';');
    const datas = (dataList ?? '').split(';');
    if (bits.length !== ids.length || datas.length !== ids.length) throw new Error(`cannot align the STREAM frames of a packet at ${te}`);
    let oi = 0;
    if (!conns.has(dcid)) conns.set(dcid, { first: t, port: Number(dport), streams: new Map() });
    const c = conns.get(dcid)!;
    for (let k = 0; k < ids.length; k++) {
      const off = bits[k] === '1' || bits[k] === 'True' ? Number(offs[oi++]) : 0;
      const id = ids[k]!;
      if (id % 4 !== 0) continue; // request streams only (client-initiated bidirectional)
      if (!c.streams.has(id)) c.streams.set(id, []);
      c.streams.get(id)!.push({ t, off, data: Buffer.from((datas[k] ?? '').replace(/:/g, ''), 'hex') });
    }
  }
  return [...conns.values()].sort((a, b) => a.first - b.first);
}

async function analyzeQuic(i: CaptureInput): Promise<Analysis> {
  const list = await quicConns(i);
  const order = connOrder(i.result);
  if (list.length !== order.length) throw new Error(`capture has ${list.length} QUIC connections, the job reported ${order.length}`);
  const chunks = chunkGroups(i.result, (c) => `${c.conn_id}/${c.stream_id}`);
  const times: StreamTimes[] = [];
  const spaces: Analysis['spaces'] = [];
  for (const [ci, c] of list.entries()) {
    for (const [id, segs] of c.streams) {
      const ch = chunks.get(`${order[ci]}/${id}`);
      if (!ch) continue;
      const r = reassemble(segs);
      const space = `${order[ci]}/${id}`;
      spaces.push({ space, clientPort: c.port, arr: r.arr });
      const spans = h3Spans(r.data);
      // a QUIC span is usable byte by byte as its packets arrive: split spans per byte run
      times.push(timesOf(space, space, splitByArrival(spans, r.arr), r.arr, null, deliveryTimes(ch[ch.length - 1]!.cum, ch)));
    }
  }
  return { streams: times, spaces };
}

/** HTTP/3 frames of one request stream's bytes: DATA (type 0) payloads are the body. */
export function h3Spans(data: Buffer): Span[] {
  const spans: Span[] = [];
  let body = 0;
  for (let at = 0; at < data.length; ) {
    const ty = readVarint(data, at);
    const ln = ty && readVarint(data, at + ty[1]);
    if (!ty || !ln) break;
    const hdr = ty[1] + ln[1];
    // each packet is its own decryption unit: a span never needs bytes after itself
    spans.push({ from: at, to: at + hdr, body: -1, recordEnd: 0 });
    if (ty[0] === 0) {
      spans.push({ from: at + hdr, to: Math.min(data.length, at + hdr + ln[0]), body, recordEnd: 0 });
      body += ln[0];
    } else spans.push({ from: at + hdr, to: Math.min(data.length, at + hdr + ln[0]), body: -1, recordEnd: 0 });
    at += hdr + ln[0];
  }
return spans;
}

/** QUIC has no record: a frame's bytes are usable as soon as they (and the stream's earlier
 *  bytes) arrived, so spans are cut where the arrival time changes (packet boundaries). */
export function splitByArrival(spans: Span[], arr: Float64Array): Span[] {
  const out: Span[] = [];
  for (const sp of spans) {
    let from = sp.from;
    for (let q = sp.from + 1; q <= sp.to; q++) {
      if (q === sp.to || arr[q] !== arr[q - 1]) {
        out.push({ ...sp, from, to: q, body: sp.body < 0 ? -1 : sp.body + (from - sp.from) });
        from = q;
      }
    }
  }
  return out;
}

/** Columns from the loss attribution (lossattr.ts). */
export interface LossColumns {
  loss_streams_max: number;
  loss_blocked_ms_max: number;
}

/** How the job's losses were linked (capture .json "attribution"): holes the capture shows,
 *  how many a downlink drop explains, and how much of the waiting the holes explain
 *  (waited_ms: per stream, the union of its self and cross waits, summed; blamed_ms: the
 *  part whose blocker byte sits in a hole; the rest waited for bytes still in flight). */
export interface Attribution {
  holes: number;
  holes_linked: number;
  drops_downlink: number;
  drops_linked: number;
  waited_ms: number;
  blamed_ms: number;
}

/** Analyse one job's capture: null when there is nothing to analyse (no chunks and no
 *  messages: a load job). Throws with a reason when the capture cannot be analysed. `drops` (wall ms, from the
 *  backend's drop log; empty for the netem backend) are linked to the holes the capture shows. */
export async function analyzeCapture(i: CaptureInput, loss?: { drops: DropIn[]; link: LinkOptions }): Promise<{ columns: HolColumns & LossColumns; summary: HolSummary; losses: LossRow[]; attribution: Attribution } | null> {
  // messages jobs (gRPC) have no chunks: their deliveries are the message rows (holmsg.ts)
  const messages = !!i.result.messages;
  if ((!messages && !i.result.chunks.length) || i.result.t0WallMs === undefined) return null;
  if (i.snaplenBytes < 65535) throw new Error(`capture_snaplen ${i.snaplenBytes} cuts packets; the analysis needs whole packets`);
  // Chromium's rows (conn_id chromium.<DevTools id>, no stream id): the requests are found
  // in the capture's client-to-server bytes (hol-chromium.ts)
  const chromium = !messages && i.result.requests.some((r) => r.conn_id.startsWith('chromium.'));
  const { streams, spaces } = messages ? await (await import('./holmsg.ts')).analyzeMessages(i) : chromium ? await (await import('./hol-chromium.ts')).analyzeChromium(i) : i.transport === 'udp' ? await analyzeQuic(i) : await analyzeTcp(i);
  const summary = summarize(streams);
  const holes = spaces.flatMap((sp) => findHoles(sp.space, sp.arr));
  const ports = new Map(spaces.map((sp) => [sp.space, sp.clientPort]));
  const losses = lossRows(streams, holes, (sp) => ports.get(sp) ?? -1, loss?.drops ?? [], loss?.link ?? { delayMs: 0, jitterMs: 0, maxQueueMs: 0 });
  const drops = loss?.drops ?? [];
  const attribution: Attribution = {
    holes: holes.length,
    holes_linked: losses.filter((l) => l.source === 'drop').reduce((n, l) => n + l.holes, 0),
    drops_downlink: drops.filter((d) => d.direction === 'downlink').length,
    drops_linked: losses.filter((l) => l.source === 'drop' && l.holes > 0).length,
    ...coverage(streams, holes),
  };
  const lossCols: LossColumns = {
    loss_streams_max: losses.reduce((m, r) => Math.max(m, r.streams_stalled), 0),
    loss_blocked_ms_max: losses.reduce((m, r) => Math.max(m, r.blocked_ms_total), 0),
  };
  return { summary, losses, attribution, columns: { hol_self_ms: summary.hol_self_ms, hol_cross_ms: summary.hol_cross_ms, hol_cross_ms_per_stream: summary.hol_cross_ms_per_stream, hol_cross_bytes: summary.hol_cross_bytes, ...lossCols } };
}
