// HTTP/2 over TLS (ALPN h2) on node:http2 with the per-run certificate and the TLS settings
// HTTP/1.x over TLS uses too (servers/tls-settings.ts). Serves the
// deterministic endpoints (http-common.ts) and, for `sse-h2`, the event stream at
// GET /sse?<push params> (eventstream.ts; no comment heartbeats: liveness is HTTP/2 PING).
//
// Liveness (ctx.keepalive, messages workloads only): with pingMs every session sends an
// HTTP/2 PING every pingMs and, when the ACK is pingTimeoutMs (default pingMs) late, records
// a dead peer ('h2-ping') and destroys the session. tcpKeepaliveMs applies to every socket.
import http2 from 'node:http2';
import type { Socket } from 'node:net';
import { closeAll, handle, listenTcp } from './http-common.ts';
import { EVENT_STREAM_HEADERS, followEventStream, resumeFrom } from './eventstream.ts';
import { DeadPeerLog, h2PingKeepalive, parsePushParams, PushSchedules, type Keepalive } from '../contract/messages.ts';
import { observeTls, tlsServerOptions, tlsSnapshot, type TlsStats } from './tls-settings.ts';
import type { ServerPlugin, ServerStats } from './types.ts';

export function h2Plugin(): ServerPlugin {
  const stats = { connections: 0, requests: 0, messagesSent: 0 };
  const deadPeers = new DeadPeerLog();
  const sessions = new Set<http2.ServerHttp2Session>();
  const schedules = new PushSchedules();
  let server: http2.Http2SecureServer | undefined;
  let tlsStats: TlsStats | undefined;
  let ka: Keepalive = {};

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
      server = http2.createSecureServer({
        ...tlsServerOptions(ctx.tls),
        allowHTTP1: false,
        // Like production servers: enough streams for a 100-object page at once and
        // windows large enough not to cap a 20-100 Mbit/s path at 100+ ms RTT.
        settings: { maxConcurrentStreams: 256, initialWindowSize: 8 * 1024 * 1024 },
      });
      tlsStats = observeTls(server);
      server.on('session', (s) => {
        stats.connections++;
        sessions.add(s);
        s.setLocalWindowSize?.(16 * 1024 * 1024);
        s.on('close', () => sessions.delete(s));
        s.on('error', () => {}); // 'close' follows
        if (ka.pingMs) h2PingKeepalive(s, ka.pingMs, ka.pingTimeoutMs ?? ka.pingMs, () => deadPeers.record('h2-ping'));
      });
      server.on('secureConnection', (sock: Socket) => {
        sock.setNoDelay(true);
        if (ka.tcpKeepaliveMs) {
          sock.setKeepAlive(true, ka.tcpKeepaliveMs);
          sock.on('error', (err: NodeJS.ErrnoException) => void (err.code === 'ETIMEDOUT' && deadPeers.record('tcp-keepalive')));
        }
      });
      server.on('request', (req, res) => {
        stats.requests++;
        const url = new URL(req.url ?? '/', 'https://x');
        if (url.pathname === '/sse' && req.method === 'GET') return onSse(req, res, url.searchParams);
        handle(req, res);
      });
      return listenTcp(server, ctx.host);
    },
    stats: (): ServerStats => ({ ...stats, deadPeers: deadPeers.list(), ...(tlsStats ? { tls: tlsSnapshot(tlsStats) } : {}) }),
    stop: () => closeAll(server, sessions),
  };
}
