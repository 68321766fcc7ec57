// HTTP/2 over TLS (ALPN h2) on node:http2 with the per-run certificate.
import http2 from 'node:http2';
import type { Socket } from 'node:net';
import { closeAll, handle, listenTcp } from './http-common.ts';
import type { ServerPlugin, ServerStats } from './types.ts';

export function h2Plugin(): ServerPlugin {
  const stats: ServerStats = { connections: 0, requests: 0 };
  const sessions = new Set<http2.ServerHttp2Session>();
  let server: http2.Http2SecureServer | undefined;
  return {
    protocol: 'h2',
    async start(ctx) {
      server = http2.createSecureServer({
        key: ctx.tls.key,
        cert: ctx.tls.cert,
        allowHTTP1: false,
        // Like production servers: enough streams for a 100-object page at once and
        // windows large enough not to cap a 20-100 Mbit/s path at 100+ ms RTT.
        settings: { maxConcurrentStreams: 256, initialWindowSize: 8 * 1024 * 1024 },
      });
      server.on('session', (s) => {
        stats.connections++;
        sessions.add(s);
        s.setLocalWindowSize?.(16 * 1024 * 1024);
        s.on('close', () => sessions.delete(s));
      });
      server.on('secureConnection', (sock: Socket) => sock.setNoDelay(true));
      server.on('request', (req, res) => {
        stats.requests++;
        handle(req, res);
      });
      return listenTcp(server, ctx.host);
    },
    stats: () => ({ ...stats }),
    stop: () => closeAll(server, sessions),
  };
}
