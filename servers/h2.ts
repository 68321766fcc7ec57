// HTTP/2 over TLS (ALPN h2) on node:http2 with the per-run certificate and the TLS settings
// HTTP/1.x over TLS uses too (servers/tls-settings.ts). Serves the
// deterministic endpoints (http-common.ts) and, for `sse-h2`, the event stream at
// GET /sse?<push params> (eventstream.ts; no comment heartbeats: liveness is HTTP/2 PING).
//
// Liveness (ctx.keepalive, messages workloads only): with pingMs every session sends an
// HTTP/2 PING every pingMs and, when the ACK is pingTimeoutMs (default pingMs) late, records
// a dead peer ('h2-ping') and destroys the session. tcpKeepaliveMs applies to every socket.
//
// Scheduling (ctx.scheduling / configure(), servers/scheduler.ts): GET /bytes/<n> bodies are
// written by one H2SessionWriter per session, one stream at a time in RFC 9218 order, like
// the h3 server's; under `browser` the request's Priority header and the client's
// PRIORITY_UPDATE frames set the order. node:http2 drops PRIORITY_UPDATE frames, so TLS is
// terminated here (tls.Server) and the session runs over a tap that reads them on the way in
// (h2-tap.ts); the http2 server itself is a plain one fed those connections.
import http2 from 'node:http2';
import tls from 'node:tls';
import { closeAll, handle, listenTcp } from './http-common.ts';
import { EVENT_STREAM_HEADERS, followEventStream, resumeFrom } from './eventstream.ts';
import { DeadPeerLog, h2PingKeepalive, parsePushParams, PushSchedules, type Keepalive } from '../contract/messages.ts';
import type { ServerPlugin, ServerStats } from './types.ts';
import { bytesPath, payloadChunks } from './payload.ts';
import { H2SessionWriter } from './h2-writer.ts';
import { tapInbound } from './h2-tap.ts';
import { DEFAULT_SCHEDULING, priorityFor, type Scheduling } from './scheduler.ts';
import { observeTls, tlsServerOptions, tlsSnapshot, type TlsStats } from './tls-settings.ts';

export function h2Plugin(): ServerPlugin {
  const stats = { connections: 0, requests: 0, messagesSent: 0 };
  const deadPeers = new DeadPeerLog();
  const sessions = new Set<http2.ServerHttp2Session>();
  const schedules = new PushSchedules();
  let server: tls.Server | undefined;
  let tlsStats: TlsStats | undefined;
  let ka: Keepalive = {};
  let scheduling: Scheduling = DEFAULT_SCHEDULING;
  const writers = new WeakMap<http2.Http2Session, H2SessionWriter>();
  const newWriter = () => new H2SessionWriter((header, update) => priorityFor(scheduling, header, update));
  /** the writer of the connection being handed to the http2 server (its 'session' event is synchronous) */
  let handing: H2SessionWriter | null = null;

  /** GET /bytes/<n>: the body goes through the session's writer (HEAD and the rest: handle()). */
  const onBytes = (req: http2.Http2ServerRequest, res: http2.Http2ServerResponse, n: number) => {
    const session = req.stream.session;
    let w = session && writers.get(session);
    if (!w) {
      w = newWriter();
      if (session) writers.set(session, w);
    }
    const header = req.headers.priority;
    const head = () => res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(n), 'cache-control': 'no-store' });
    w.add(req.stream.id!, res, Array.isArray(header) ? header.join(', ') : header, head, payloadChunks(n));
  };

  const onSse = (req: http2.Http2ServerRequest, res: http2.Http2ServerResponse, q: URLSearchParams) => {
    const p0 = parsePushParams(q);
    const p = typeof p0 === 'string' ? p0 : resumeFrom(p0, req.headers['last-event-id']);
    if (typeof p === 'string') {
      res.writeHead(400, { 'content-type': 'text/plain' });
      return void res.end(`${p}\n`);
    }
    res.writeHead(200, EVENT_STREAM_HEADERS);
    const stop = followEventStream(schedules, p, { retryMs: ka.retryMs ?? 1000, onSent: () => void stats.messagesSent++ }, (s) => {
      if (!res.stream.destroyed) res.write(s);
    });
    res.on('close', stop);
    res.stream.on('error', stop);
  };

  return {
    protocol: 'h2',
    async start(ctx) {
      ka = ctx.keepalive ?? {};
      scheduling = ctx.scheduling ?? DEFAULT_SCHEDULING;
      const h2 = http2.createServer({
        // Like production servers: enough streams for a 100-object page at once and
        // windows large enough not to cap a 20-100 Mbit/s path at 100+ ms RTT.
        settings: { maxConcurrentStreams: 256, initialWindowSize: 8 * 1024 * 1024 },
      });
      h2.on('session', (s) => {
        stats.connections++;
        sessions.add(s);
        if (handing) writers.set(s, handing);
        s.setLocalWindowSize?.(16 * 1024 * 1024);
        s.on('close', () => sessions.delete(s));
        s.on('error', () => {}); // 'close' follows
        if (ka.pingMs) h2PingKeepalive(s, ka.pingMs, ka.pingTimeoutMs ?? ka.pingMs, () => deadPeers.record('h2-ping'));
      });
      h2.on('request', (req, res) => {
        stats.requests++;
        const url = new URL(req.url ?? '/', 'https://x');
        if (url.pathname === '/sse' && req.method === 'GET') return onSse(req, res, url.searchParams);
        const n = req.method === 'GET' ? bytesPath(req.url ?? '/') : null;
        if (n !== null) return onBytes(req, res, n);
        handle(req, res);
      });
      server = tls.createServer({ ...tlsServerOptions(ctx.tls), ALPNProtocols: ['h2'] });
      tlsStats = observeTls(server);
      server.on('secureConnection', (sock: tls.TLSSocket) => {
        if (sock.alpnProtocol !== 'h2') return void sock.destroy(); // h2 only, as before (no HTTP/1 fallback)
        sock.setNoDelay(true);
        if (ka.tcpKeepaliveMs) {
          sock.setKeepAlive(true, ka.tcpKeepaliveMs);
          sock.on('error', (err: NodeJS.ErrnoException) => void (err.code === 'ETIMEDOUT' && deadPeers.record('tcp-keepalive')));
        }
        const w = newWriter();
        handing = w;
        try {
          h2.emit('connection', tapInbound(sock, (id, value) => w.priorityUpdate(id, value)));
        } finally {
          handing = null;
        }
      });
      return listenTcp(server, ctx.host);
    },
    stats: (): ServerStats => ({ ...stats, deadPeers: deadPeers.list(), ...(tlsStats ? { tls: tlsSnapshot(tlsStats) } : {}) }),
    configure(c) {
      scheduling = c.scheduling;
    },
    stop: () => closeAll(server, sessions),
  };
}
