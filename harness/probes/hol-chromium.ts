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
// h3: UNSUPPORTED (see analyzeChromiumQuic).
import { readFile } from 'node:fs/promises';
import type { RequestRow } from '../records.ts';
import { deliveryTimes, type StreamTimes } from './holcore.ts';
import { chunkGroups, h1Spans, h2Spans, inOrderReady, PlainStream, reassemble, tcpConns, timesOf, tshark, walkTls, type Analysis, type CaptureInput, type Span } from './hol.ts';
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
  if (i.transport === 'udp') return analyzeChromiumQuic();
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
    const srv = reassemble(conn.server);
    spaces.push({ space: connId, clientPort: conn.clientPort, arr: srv.arr });
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

/** h3@chromium cannot be analysed with this tshark (see the reason). */
function analyzeChromiumQuic(): never {
  throw new Error('UNSUPPORTED: h3@chromium: tshark 4.0 does not decrypt the server\'s 1-RTT packets of a Chromium QUIC connection (Chromium uses a zero-length client connection id; "Decryption (checktag) failed"), so no response stream can be rebuilt');
}
