// HTTP/1.0 and HTTP/1.1 on node:http, cleartext, keep-alive on. One plugin serves both:
// HTTP/1.0-style clients send `Connection: close` and get one connection per request.
import http from 'node:http';
import type { Socket } from 'node:net';
import { closeAll, handle, listenTcp } from './http-common.ts';
import type { ServerPlugin, ServerStats } from './types.ts';

export function h1Plugin(): ServerPlugin {
  const stats: ServerStats = { connections: 0, requests: 0 };
  const sockets = new Set<Socket>();
  let server: http.Server | undefined;
  return {
    protocol: 'h1',
    async start(ctx) {
      server = http.createServer({ keepAlive: true, keepAliveTimeout: 120_000, requestTimeout: 0 }, (req, res) => {
        stats.requests++;
        handle(req, res);
      });
      server.keepAliveTimeout = 120_000;
      server.headersTimeout = 130_000;
      server.on('connection', (s: Socket) => {
        stats.connections++;
        s.setNoDelay(true);
        sockets.add(s);
        s.on('close', () => sockets.delete(s));
      });
      return listenTcp(server, ctx.host);
    },
    stats: () => ({ ...stats }),
    stop: () => closeAll(server, sockets),
  };
}
