// HTTP/1.0 and HTTP/1.1 on node:http / node:https, keep-alive on. One plugin serves both
// versions: HTTP/1.0-style clients send `Connection: close` and get one connection per request.
// Two registrations (servers/registry.ts): `h1` over TLS (ALPN http/1.1, the per-run
// certificate and the TLS settings h2 uses, servers/tls-settings.ts) and `h1-clear`, the
// cleartext variant a scenario asks for with `tls: false`.
import http from 'node:http';
import https from 'node:https';
import type { Socket } from 'node:net';
import { closeAll, handle, listenTcp } from './http-common.ts';
import { observeTls, tlsServerOptions, tlsSnapshot, type TlsStats } from './tls-settings.ts';
import type { ServerPlugin, ServerStats } from './types.ts';

export function h1Plugin(o: { tls: boolean }): ServerPlugin {
  const stats = { connections: 0, requests: 0 };
  const sockets = new Set<Socket>();
  let tlsStats: TlsStats | undefined;
  let server: http.Server | https.Server | undefined;
  return {
    protocol: o.tls ? 'h1' : 'h1-clear',
    async start(ctx) {
      const httpOpts: http.ServerOptions = { keepAlive: true, keepAliveTimeout: 120_000, requestTimeout: 0 };
      const onRequest = (req: http.IncomingMessage, res: http.ServerResponse) => {
        stats.requests++;
        handle(req, res);
      };
      if (o.tls) {
        if (!ctx.tls.key || !ctx.tls.cert) throw new Error('h1 over TLS needs the per-run certificate (ServerContext.tls)');
        const s = https.createServer({ ...httpOpts, ...tlsServerOptions(ctx.tls), ALPNProtocols: ['http/1.1'] }, onRequest);
        tlsStats = observeTls(s);
        // a connection counts once its handshake completed (as h2 counts sessions)
        s.on('secureConnection', () => void stats.connections++);
        server = s;
      } else {
        server = http.createServer(httpOpts, onRequest);
        server.on('connection', () => void stats.connections++);
      }
      server.keepAliveTimeout = 120_000;
      server.headersTimeout = 130_000;
      // the TCP socket (under TLS too): no Nagle delay, and destroyed on stop
      server.on('connection', (s: Socket) => {
        s.setNoDelay(true);
        sockets.add(s);
        s.on('close', () => sockets.delete(s));
      });
      return listenTcp(server, ctx.host);
    },
    stats: (): ServerStats => ({ ...stats, ...(tlsStats ? { tls: tlsSnapshot(tlsStats) } : {}) }),
    stop: () => closeAll(server, sockets),
  };
}
