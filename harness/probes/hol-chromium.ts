// Exact head-of-line delay of a Chromium page job (harness/drivers/chromium.ts): the same
// arithmetic as the holbench client's (hol.ts, holcore.ts), with the requests found in the
// capture instead of in the driver's records. Chromium's rows carry DevTools' connection id
// (conn_id chromium.<id>), no stream id, and per-request chunks (req_id); the capture's
// client-to-server bytes say which transport stream carried which request:
//   h2:       tshark (key log) lists every HEADERS frame the client sent with its TCP port,
//             stream id and :path; every object URL carries ?o=<i> (the HTML ?o=html), which
//             names the request row.
//   HTTP/1.1: tshark lists every request line (TCP port, URI) in order; the connection's
//             responses come in the same order (Chromium does not pipeline), so response n of
//             a connection answers its request n.
// Connections: a captured connection is the one its page requests' rows name (they must all
// name one DevTools connection, else the analysis fails). Connections with no page request
// (Chromium's cancelled extra sockets, HTTP/1.1 spares, warm-only traffic) are left out. A
// page request the capture does not show fails the analysis (its bytes would go uncounted).
//   h3:       the client's request streams' HEADERS (QPACK) give :path; the server's packets
//             are opened here (see analyzeChromiumQuic).
import { readFile } from 'node:fs/promises';
import type { RequestRow } from '../records.ts';
import { deliveryTimes, type StreamTimes } from './holcore.ts';
import { chunkGroups, h3Spans, readVarint, reassemble, responseSpans, splitByArrival, tcpConns, timesOf, tshark, type Analysis, type CaptureInput } from './hol.ts';
import { ServerPackets } from './quic1rtt.ts';
import { decodeFieldSection } from '../../h3/qpack.ts';
import { parseKeylog } from './tls13.ts';

/** One request the client sent on a TCP connection: its key in the connection's responses
 *  (h2: stream id; HTTP/1.1: index on the connection) and its path with query. */
export interface SentRequest {
  key: string;
  path: string;
}

/** The page object a request path names (?o=<i>, ?o=html -> -1), or null (warm pages' ?w=). */
export function objectOf(path: string): number | null {
  const m = /[?&]o=([^&]+)/.exec(path);
  if (!m) return null;
  if (m[1] === 'html') return -1;
  return /^\d+$/.test(m[1]!) ? Number(m[1]) : null;
}

/** Parse tshark's field lines (tcp.srcport, http2.type, http2.streamid, http2.headers.path,
 *  http.request.uri; occurrences aggregated with ';') into requests per client port. */
export function parseSent(lines: string[]): { byPort: Map<number, SentRequest[]>; h2Ports: Set<number> } {
  const byPort = new Map<number, SentRequest[]>();
  const h2Ports = new Set<number>();
  const split = (f: string | undefined) => (f ? f.split(';') : []);
  for (const line of lines) {
    const [port, types, sids, paths, uris] = line.split('\t');
    const p = Number(port);
    if (!byPort.has(p)) byPort.set(p, []);
    const list = byPort.get(p)!;
    // every HTTP/2 frame has a type and a stream id; :path comes once per HEADERS frame
    const ty = split(types);
    const id = split(sids);
    const ph = split(paths);
    if (ty.length !== id.length) throw new Error(`cannot align the HTTP/2 frames of a client packet (port ${p})`);
    const heads = id.filter((_, k) => ty[k] === '1');
    if (heads.length !== ph.length) throw new Error(`a client packet (port ${p}) has ${heads.length} HEADERS frames and ${ph.length} :path values`);
    heads.forEach((sid, k) => list.push({ key: sid, path: ph[k]! }));
    if (heads.length) h2Ports.add(p);
    for (const u of split(uris)) list.push({ key: String(list.length), path: u });
  }
  return { byPort, h2Ports };
}

/** Requests the client sent, per client port (decrypted by tshark with the key log). */
async function sentRequests(i: CaptureInput): Promise<ReturnType<typeof parseSent>> {
  const lines = await tshark(['-r', i.pcap, '-o', `tls.keylog_file:${i.keys}`, '-Y', `ip.dst==${i.serverAddr} && (http2.type==1 || http.request)`, '-T', 'fields', '-E', 'occurrence=a', '-E', 'aggregator=;', '-e', 'tcp.srcport', '-e', 'http2.type', '-e', 'http2.streamid', '-e', 'http2.headers.path', '-e', 'http.request.uri']);
  return parseSent(lines);
}

export async function analyzeChromium(i: CaptureInput): Promise<Analysis> {
  if (i.transport === 'udp') return analyzeChromiumQuic(i);
  const keylog = parseKeylog(await readFile(i.keys, 'utf8'));
  const conns = await tcpConns(i.pcap, i.serverAddr);
  const { byPort, h2Ports } = await sentRequests(i);
  const rowOf = new Map<number, RequestRow>(i.result.requests.map((r) => [r.object, r]));
  const chunks = chunkGroups(i.result, (c) => String(c.req_id));
  const times: StreamTimes[] = [];
  const spaces: Analysis['spaces'] = [];
  const found = new Set<number>();
  for (const conn of conns) {
    // this connection's page requests (key -> row)
    const mine = new Map<string, RequestRow>();
    for (const s of byPort.get(conn.clientPort) ?? []) {
      const o = objectOf(s.path);
      const row = o === null ? undefined : rowOf.get(o);
      if (row) mine.set(s.key, row);
    }
    if (!mine.size) continue;
    const ids = new Set([...mine.values()].map((r) => r.conn_id));
    if (ids.size !== 1) throw new Error(`the requests of captured connection (client port ${conn.clientPort}) name ${ids.size} DevTools connections (${[...ids].join(', ')})`);
    const connId = [...ids][0]!;
    const h2 = h2Ports.has(conn.clientPort);
    const { srv, orderReady, spans } = responseSpans(conn, keylog, h2);
    spaces.push({ space: connId, clientPort: conn.clientPort, arr: srv.arr });
    for (const [key, sp] of spans) {
      const row = mine.get(key);
      const ch = row && chunks.get(String(row.req_id));
      if (!row || !ch) continue;
      if (found.has(row.req_id)) throw new Error(`object ${row.object} was answered on two captured streams`);
      found.add(row.req_id);
      times.push(timesOf(`${connId}/${h2 ? key : row.req_id}`, connId, sp, srv.arr, orderReady, deliveryTimes(ch[ch.length - 1]!.cum, ch)));
    }
  }
  const missing = i.result.requests.filter((r) => chunks.has(String(r.req_id)) && !found.has(r.req_id));
  if (missing.length) throw new Error(`${missing.length} of ${i.result.requests.length} Chromium requests not found in the capture (first: object ${missing[0]!.object})`);
  return { streams: times, spaces };
}

// ---- h3 ----
// The server's packets are opened here (quic1rtt.ts: tshark 4.0 does not open them for a
// Chromium connection); the client's, which tshark does open, give each request stream's
// HEADERS, whose :path (QPACK, static table and literals only: our server advertises a
// zero-capacity dynamic table, h3/qpack.ts) names the request row. Connections are told
// apart by the client's UDP port (Chromium's connection id toward the server is empty).

/** The :path of a request stream's first bytes (a HEADERS frame), or null. */
export function h3RequestPath(data: Buffer): string | null {
  const ty = readVarint(data, 0);
  const ln = ty && readVarint(data, ty[1]);
  if (!ty || !ln || ty[0] !== 1) return null;
  const at = ty[1] + ln[1];
  if (at + ln[0] > data.length) return null;
  return decodeFieldSection(data.subarray(at, at + ln[0])).find(([n]) => n === ':path')?.[1] ?? null;
}

async function analyzeChromiumQuic(i: CaptureInput): Promise<Analysis> {
  const keylog = parseKeylog(await readFile(i.keys, 'utf8'));
  const fields = (filter: string, f: string[]) => tshark(['-r', i.pcap, '-o', `tls.keylog_file:${i.keys}`, '-Y', filter, '-T', 'fields', '-E', 'occurrence=a', '-E', 'aggregator=;', ...f.flatMap((x) => ['-e', x])]);
  // per client port: the ClientHello's random (picks the secrets) and the server's suite
  const hs = new Map<number, { random?: string; suite?: number }>();
  for (const line of await fields('quic && (tls.handshake.type==1 || tls.handshake.type==2)', ['ip.src', 'udp.srcport', 'udp.dstport', 'tls.handshake.type', 'tls.handshake.random', 'tls.handshake.ciphersuite'])) {
    const [src, sport, dport, types, randoms, suites] = line.split('\t');
    const fromServer = src === i.serverAddr;
    const port = Number(fromServer ? dport : sport);
    const h = hs.get(port) ?? {};
    hs.set(port, h);
    const type = (types ?? '').split(';')[0];
    if (!fromServer && type === '1' && randoms) h.random ??= randoms.split(';')[0];
    if (fromServer && type === '2' && suites) h.suite ??= Number(suites.split(';')[0]);
  }
  // the client's request streams: HEADERS -> :path -> request row
  const sent = new Map<number, Map<number, { t: number; off: number; data: Buffer }[]>>();
  for (const line of await fields(`ip.dst==${i.serverAddr} && quic.stream.stream_id`, ['udp.srcport', 'quic.stream.stream_id', 'quic.stream.offset', 'quic.stream.off', 'quic.stream_data'])) {
    const [port, idList, offList, offBits, dataList] = line.split('\t');
    const ids = (idList ?? '').split(';').map(Number);
    const bits = (offBits ?? '').split(';');
    const offs = (offList ?? '').split(';');
    const datas = (dataList ?? '').split(';');
    if (bits.length !== ids.length || datas.length !== ids.length) throw new Error(`cannot align the STREAM frames of a client packet (port ${port})`);
    if (!sent.has(Number(port))) sent.set(Number(port), new Map());
    const c = sent.get(Number(port))!;
    let oi = 0;
    ids.forEach((id, k) => {
      const off = bits[k] === '1' || bits[k] === 'True' ? Number(offs[oi++]) : 0;
      if (id % 4 !== 0) return;
      if (!c.has(id)) c.set(id, []);
      c.get(id)!.push({ t: 0, off, data: Buffer.from((datas[k] ?? '').replace(/:/g, ''), 'hex') });
    });
  }
  // the server's datagrams, opened per connection (client port)
  const openers = new Map<number, ServerPackets>();
  const recv = new Map<number, Map<number, { t: number; off: number; data: Buffer }[]>>();
  for (const line of await tshark(['-r', i.pcap, '--disable-protocol', 'quic', '-Y', `ip.src==${i.serverAddr} && udp`, '-T', 'fields', '-e', 'frame.time_epoch', '-e', 'udp.dstport', '-e', 'udp.payload'])) {
    const [te, dport, payload] = line.split('\t');
    const port = Number(dport);
    const h = hs.get(port);
    if (!h?.random || h.suite === undefined || !payload) continue; // not a QUIC connection the capture saw begin
    let op = openers.get(port);
    if (!op) {
      const secret = keylog.get(h.random)?.get('SERVER_TRAFFIC_SECRET_0');
      if (!secret) throw new Error(`key log has no secrets for the QUIC connection of client port ${port}`);
      openers.set(port, (op = new ServerPackets(h.suite, secret)));
      recv.set(port, new Map());
    }
    const streams = recv.get(port)!;
    for (const f of op.datagram(Buffer.from(payload, 'hex'), Number(te) * 1000)) {
      if (f.id % 4 !== 0) continue;
      if (!streams.has(f.id)) streams.set(f.id, []);
      streams.get(f.id)!.push(f);
    }
  }
  const undecrypted = [...openers.values()].reduce((n, o) => n + o.failed, 0);
  if (undecrypted) throw new Error(`${undecrypted} server QUIC packets did not open with the key log`);
  const rowOf = new Map<number, RequestRow>(i.result.requests.map((r) => [r.object, r]));
  const chunks = chunkGroups(i.result, (c) => String(c.req_id));
  const times: StreamTimes[] = [];
  const spaces: Analysis['spaces'] = [];
  const found = new Set<number>();
  for (const [port, streams] of recv) {
    const mine = new Map<number, RequestRow>();
    for (const [id, segs] of sent.get(port) ?? []) {
      const path = h3RequestPath(reassemble(segs).data);
      const o = path === null ? null : objectOf(path);
      const row = o === null ? undefined : rowOf.get(o);
      if (row) mine.set(id, row);
    }
    if (!mine.size) continue;
    const ids = new Set([...mine.values()].map((r) => r.conn_id));
    if (ids.size !== 1) throw new Error(`the requests of captured QUIC connection (client port ${port}) name ${ids.size} DevTools connections (${[...ids].join(', ')})`);
    const connId = [...ids][0]!;
    for (const [id, segs] of streams) {
      const row = mine.get(id);
      const ch = row && chunks.get(String(row.req_id));
      if (!row || !ch) continue;
      if (found.has(row.req_id)) throw new Error(`object ${row.object} was answered on two captured streams`);
      found.add(row.req_id);
      const r = reassemble(segs);
      const space = `${connId}/${id}`;
      spaces.push({ space, clientPort: port, arr: r.arr });
      times.push(timesOf(space, space, splitByArrival(h3Spans(r.data), r.arr), r.arr, null, deliveryTimes(ch[ch.length - 1]!.cum, ch)));
    }
  }
  const missing = i.result.requests.filter((r) => chunks.has(String(r.req_id)) && !found.has(r.req_id));
  if (missing.length) throw new Error(`${missing.length} of ${i.result.requests.length} Chromium requests not found in the capture (first: object ${missing[0]!.object})`);
  return { streams: times, spaces };
}
