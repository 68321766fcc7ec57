// HTTP/1.0 and HTTP/1.1 on node:http, cleartext, keep-alive on. One plugin serves both:
// HTTP/1.0-style clients send `Connection: close` and get one connection per request.
import http from 'node:http';
import type { Socket } from 'node:net';
import { handle } from './http-common.ts';
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
      await new Promise<void>((resolve, reject) => {
        server!.once('error', reject);
        server!.listen(0, ctx.host, () => resolve());
      });
      return { port: (server.address() as { port: number }).port, transport: 'tcp' };
    },
    stats: () => ({ ...stats }),
    async stop() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => (server ? server.close(() => r()) : r()));
    },
  };
}
